/**
 * `GET /api/executions`: every execution of the `EXECUTIONS` bucket, newest first, filtered by
 * status and workflow, a page at a time. The bucket is read in one pass per request
 * (`ExecutionStore.summaries`); a page is cut after the `cursor` of the previous page (its last
 * execution), so executions that start meanwhile do not shift the pages an operator reads.
 */
import { newestFirst } from '@multi-agent/service-kit';
import type { ExecutionStatus, ExecutionSummary } from '@multi-agent/service-kit';
import type { FastifyInstance } from 'fastify';
import { identityOf } from '../auth/authenticate.js';
import { mayRead } from '../auth/identity.js';
import { idSchema } from '../context.js';
import type { GatewayContext } from '../context.js';
import { HttpError } from '../http-error.js';

const STATUSES: ExecutionStatus[] = ['requested', 'running', 'completed', 'failed', 'cancelled'];

/** Where a page starts: after this execution in newest-first order. */
interface Cursor {
  requestedAt: string;
  executionId: string;
}

function encodeCursor(summary: ExecutionSummary): string {
  return Buffer.from(JSON.stringify({ requestedAt: summary.requestedAt, executionId: summary.executionId })).toString('base64url');
}

function decodeCursor(raw: string): Cursor {
  try {
    const value = JSON.parse(Buffer.from(raw, 'base64url').toString()) as Partial<Cursor>;
    if (typeof value.requestedAt === 'string' && typeof value.executionId === 'string') return { requestedAt: value.requestedAt, executionId: value.executionId };
  } catch {
    // Reported below.
  }
  throw new HttpError(400, 'INVALID_CURSOR', 'cursor is not one this API returned (use nextCursor of the previous page)');
}

/** Registers the list route. */
export function registerExecutionListRoutes(app: FastifyInstance, ctx: GatewayContext): void {
  app.get<{ Querystring: { status?: ExecutionStatus; workflowId?: string; limit?: number; cursor?: string } }>(
    '/api/executions',
    {
      schema: {
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            status: { type: 'string', enum: STATUSES },
            workflowId: idSchema,
            limit: { type: 'integer', minimum: 1, maximum: 200, default: 25 },
            cursor: { type: 'string', maxLength: 512 },
          },
        },
      },
    },
    async (request) => {
      const { status, workflowId, limit = 25, cursor } = request.query;
      const after = cursor === undefined ? undefined : decodeCursor(cursor);
      const identity = identityOf(request);
      // A user lists their own executions; an admin all.
      const ofWorkflow = (await ctx.store.summaries()).filter((s) => mayRead(identity, s.userId) && (workflowId === undefined || s.workflowId === workflowId));
      // Counts per status (within the workflow filter), for the filter's labels.
      const counts: Partial<Record<ExecutionStatus, number>> = {};
      for (const s of ofWorkflow) counts[s.status] = (counts[s.status] ?? 0) + 1;
      const matching = ofWorkflow.filter((s) => status === undefined || s.status === status).sort(newestFirst);
      const start = after === undefined ? 0 : matching.findIndex((s) => newestFirst(s, after) > 0);
      const page = start < 0 ? [] : matching.slice(start, start + limit);
      const last = page.at(-1);
      const more = start >= 0 && start + limit < matching.length && last !== undefined;
      return {
        executions: page,
        total: matching.length,
        counts,
        ...(more ? { nextCursor: encodeCursor(last) } : {}),
      };
    },
  );
}
