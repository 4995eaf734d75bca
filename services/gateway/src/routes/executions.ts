/**
 * Executions: start one (`POST /api/workflows/:workflowId/executions`), read its state
 * (`GET /api/executions/:id`) and its events (`GET /api/executions/:id/events`, read through
 * the correlation index the gateway's indexer writes).
 *
 * Starting writes the first KV record (`requested`) before publishing
 * `workflow.execution.requested`, so the returned executionId can be read at once; the
 * orchestration service takes the record from there with compare-and-set.
 */
import { randomUUID } from 'node:crypto';
import { EventSubjects } from '@multi-agent/events';
import { isSpanContextValid, trace } from '@opentelemetry/api';
import type { ExecutionState, StoredExecution } from '@multi-agent/service-kit';
import type { FastifyInstance } from 'fastify';
import { AuditSubjects } from '@multi-agent/service-kit';
import { recordAudit } from '../audit.js';
import { identityOf } from '../auth/authenticate.js';
import { refuseBodyUserId } from '../auth/identity.js';
import { idSchema } from '../context.js';
import type { GatewayContext } from '../context.js';
import { HttpError } from '../http-error.js';
import { acceptInput } from './intake.js';
import type { InputIntake } from './intake.js';
import { requireJsonBodyIfAny } from './json-only.js';

/** The state as the API shows it: without the internal outbox. */
export function publicState(state: ExecutionState): Omit<ExecutionState, 'outbox'> & { pendingEvents: number } {
  const { outbox, ...rest } = state;
  return { ...rest, pendingEvents: outbox.length };
}

/** The answer for an execution that does not exist, or that the caller may not see (the same: it does not leak which). */
export function executionNotFound(executionId: string): HttpError {
  return new HttpError(404, 'EXECUTION_NOT_FOUND', `execution "${executionId}" does not exist`);
}

/** The stored execution, or a 404. */
export async function requireExecution(ctx: GatewayContext, executionId: string): Promise<StoredExecution> {
  const stored = await ctx.store.get(executionId);
  if (stored === undefined) throw executionNotFound(executionId);
  return stored;
}

/** Registers the execution routes. */
export function registerExecutionRoutes(app: FastifyInstance, ctx: GatewayContext, intake: InputIntake): void {
  app.post<{ Params: { workflowId: string }; Body: { input?: Record<string, unknown>; userId?: string; claimCheck?: string[] } | undefined }>(
    '/api/workflows/:workflowId/executions',
    {
      onRequest: requireJsonBodyIfAny,
      // A POST without a body starts the workflow with its default input.
      preValidation: async (request) => {
        request.body ??= {};
      },
      schema: {
        params: { type: 'object', properties: { workflowId: idSchema }, required: ['workflowId'] },
        body: {
          type: 'object',
          additionalProperties: false,
          properties: {
            input: { type: 'object' },
            userId: { type: 'string', minLength: 1, maxLength: 128 },
            claimCheck: { type: 'array', items: { type: 'string', minLength: 1, maxLength: 128 }, uniqueItems: true, maxItems: 64 },
          },
        },
      },
    },
    async (request, reply) => {
      const { workflowId } = request.params;
      refuseBodyUserId(request.body);
      const workflow = ctx.workflows.get(workflowId);
      if (workflow === undefined) {
        throw new HttpError(404, 'WORKFLOW_NOT_FOUND', `workflow "${workflowId}" does not exist (available: ${[...ctx.workflows.keys()].join(', ') || 'none'})`);
      }
      const executionId = randomUUID();
      const input = await acceptInput(workflow, request.body ?? {}, executionId, intake);
      const { userId } = identityOf(request);
      const now = new Date().toISOString();
      // The request's trace (tracing on): every event of the execution joins it.
      const span = trace.getActiveSpan()?.spanContext();
      const traceId = span !== undefined && isSpanContextValid(span) ? span.traceId : undefined;
      await ctx.store.create({
        executionId,
        workflowId,
        userId,
        correlationId: executionId,
        status: 'requested',
        input,
        requestedAt: now,
        nodes: {},
        outbox: [],
        version: 1,
        updatedAt: now,
        ...(traceId === undefined ? {} : { traceId }),
      });
      try {
        await ctx.client.publish({
          eventType: EventSubjects.WORKFLOW_EXECUTION_REQUESTED,
          correlationId: executionId,
          data: { workflowId, userId, executionId, input },
        });
      } catch (err) {
        await ctx.store
          .mutate(executionId, (current) =>
            current?.status === 'requested'
              ? { ...current, status: 'failed', error: { message: 'the request could not be published', code: 'PUBLISH_FAILED' }, finishedAt: new Date().toISOString() }
              : undefined,
          )
          .catch(() => undefined);
        // The bus's own words stay in the log: an answer carries no internal detail.
        ctx.client.logger.error({ err, executionId }, 'execution request not published');
        throw new HttpError(503, 'BUS_UNAVAILABLE', 'could not publish the execution request: the event bus is unavailable, try again');
      }
      ctx.client.logger.info({ executionId, workflowId }, 'execution requested');
      await recordAudit(ctx, request, AuditSubjects.EXECUTION_STARTED, { executionId, workflowId });
      const base = `/api/executions/${executionId}`;
      return reply.code(202).send({
        executionId,
        workflowId,
        status: 'requested',
        ...(traceId === undefined ? {} : { traceId }),
        links: { self: base, events: `${base}/events`, tokens: `${base}/tokens`, console: `/#/executions/${executionId}` },
      });
    },
  );

  app.get<{ Params: { executionId: string } }>(
    '/api/executions/:executionId',
    { schema: { params: { type: 'object', properties: { executionId: idSchema }, required: ['executionId'] } } },
    async (request) => publicState((await requireExecution(ctx, request.params.executionId)).state),
  );

  app.get<{ Params: { executionId: string } }>(
    '/api/executions/:executionId/events',
    { schema: { params: { type: 'object', properties: { executionId: idSchema }, required: ['executionId'] } } },
    async (request) => {
      const { state } = await requireExecution(ctx, request.params.executionId);
      // Through the correlation index; only the part of EVENTS not indexed yet is scanned, at most eventScanLimit messages.
      const flow = await ctx.client.readCorrelation(state.correlationId, { maxScan: ctx.eventScanLimit });
      const events = flow.events.map((stored) => {
        const { event } = stored;
        return {
          seq: stored.seq,
          eventId: event.eventId,
          eventType: event.eventType,
          timestamp: event.timestamp.toISOString(),
          correlationId: event.correlationId,
          causationId: event.causationId,
          data: event.data,
        };
      });
      return { executionId: state.executionId, correlationId: state.correlationId, events };
    },
  );
}
