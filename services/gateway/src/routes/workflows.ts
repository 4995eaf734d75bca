/** Workflows: `GET /api/workflows` (the catalogue) and `GET /api/workflows/:workflowId` (one definition). */
import type { WorkflowDefinition } from '@multi-agent/service-kit';
import type { FastifyInstance } from 'fastify';
import { idSchema } from '../context.js';
import type { GatewayContext } from '../context.js';
import { HttpError } from '../http-error.js';

/** What the catalogue lists per workflow. */
function summary(workflow: WorkflowDefinition): Record<string, unknown> {
  return {
    id: workflow.id,
    name: workflow.name,
    description: workflow.description,
    input: workflow.input ?? {},
    nodes: workflow.nodes.map((n) => ({ id: n.id, type: n.type, dependsOn: n.dependsOn ?? [], ...(n.type === 'agent' ? { agent: n.agent } : { tool: n.tool }) })),
  };
}

/** Registers the workflow routes. */
export function registerWorkflowRoutes(app: FastifyInstance, ctx: GatewayContext): void {
  app.get('/api/workflows', async () => ({ workflows: [...ctx.workflows.values()].map(summary) }));

  app.get<{ Params: { workflowId: string } }>(
    '/api/workflows/:workflowId',
    { schema: { params: { type: 'object', properties: { workflowId: idSchema }, required: ['workflowId'] } } },
    async (request) => {
      const workflow = ctx.workflows.get(request.params.workflowId);
      if (workflow === undefined) throw new HttpError(404, 'WORKFLOW_NOT_FOUND', `workflow "${request.params.workflowId}" does not exist`);
      return workflow;
    },
  );
}
