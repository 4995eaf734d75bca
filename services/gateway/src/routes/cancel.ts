/**
 * `POST /api/executions/:id/cancel`: stops an execution that has not ended. The gateway applies
 * the `cancelExecution` transition to the record by compare-and-set, so an execution that ends
 * meanwhile is never reported cancelled (409 instead), then publishes the decided
 * `execution.cancelled` from the record's outbox (a sweeper of the orchestration publishes it
 * should this process die or the bus refuse it; the answer's `pendingEvents` then says 1). Once the record says `cancelled` the orchestration
 * dispatches nothing more; the agent service aborts the node it is running when the event
 * arrives; the model service completes the execution's token stream.
 */
import { EventSubjects } from '@multi-agent/events';
import { AuditSubjects, cancelExecution } from '@multi-agent/service-kit';
import { recordAudit } from '../audit.js';
import type { FastifyInstance } from 'fastify';
import { identityOf } from '../auth/authenticate.js';
import { refuseBodyUserId } from '../auth/identity.js';
import { idSchema } from '../context.js';
import type { GatewayContext } from '../context.js';
import { HttpError } from '../http-error.js';
import { publicState, requireExecution } from './executions.js';
import { requireJsonBody } from './json-only.js';

/** Registers the cancel route. */
export function registerCancelRoutes(app: FastifyInstance, ctx: GatewayContext): void {
  app.post<{ Params: { executionId: string }; Body: { reason?: string; userId?: string } }>(
    '/api/executions/:executionId/cancel',
    {
      onRequest: requireJsonBody,
      schema: {
        params: { type: 'object', properties: { executionId: idSchema }, required: ['executionId'] },
        body: {
          type: 'object',
          additionalProperties: false,
          properties: { reason: { type: 'string', maxLength: 500 }, userId: { type: 'string', minLength: 1, maxLength: 128 } },
        },
      },
    },
    async (request) => {
      const { executionId } = request.params;
      await requireExecution(ctx, executionId);
      refuseBodyUserId(request.body);
      const { reason } = request.body;
      const cancel = { ...(reason === undefined ? {} : { reason }), cancelledBy: identityOf(request).userId };
      const { stored, changed } = await ctx.store.mutate(executionId, (current) => cancelExecution(current, cancel, { now: new Date(), defaultNodeTimeoutMs: 0 }));
      if (!changed || stored === undefined) {
        const status = stored?.state.status;
        throw new HttpError(409, 'EXECUTION_FINISHED', `execution "${executionId}" has already ended (${status ?? 'gone'}); only a requested or running execution can be cancelled`, { status });
      }
      const cancelled = stored.state.outbox.find((e) => e.eventType === EventSubjects.EXECUTION_CANCELLED);
      // The cancellation is recorded: if the bus refuses the event now, a sweeper publishes it later.
      await ctx.outbox.flush(stored).catch((err: unknown) => ctx.client.logger.warn({ err, executionId }, 'execution.cancelled not published yet; a sweeper will'));
      ctx.client.logger.info({ executionId, reason }, 'execution cancelled');
      await recordAudit(ctx, request, AuditSubjects.EXECUTION_CANCELLED, { executionId, workflowId: stored.state.workflowId, ...(reason === undefined ? {} : { reason }) });
      const after = await requireExecution(ctx, executionId);
      return { ...publicState(after.state), cancelEventId: cancelled?.eventId };
    },
  );
}
