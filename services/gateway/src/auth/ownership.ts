/**
 * An execution belongs to the user who started it. Every route with an `:executionId` (its
 * state, events, tokens, cancel) answers 404 `EXECUTION_NOT_FOUND` to anyone else but an
 * admin, the same answer as for an execution that does not exist, so IDs of others' executions
 * cannot be probed. Done once here, for every such route, not in each handler.
 */
import type { FastifyInstance } from 'fastify';
import type { GatewayContext } from '../context.js';
import { executionNotFound, requireExecution } from '../routes/executions.js';
import { identityOf } from './authenticate.js';
import { mayRead } from './identity.js';

/** Adds the ownership check (a `preHandler` hook: after params are validated). */
export function scopeExecutionsToOwner(app: FastifyInstance, ctx: GatewayContext): void {
  app.addHook('preHandler', async (request) => {
    const { executionId } = request.params as { executionId?: unknown };
    if (typeof executionId !== 'string') return;
    const stored = await requireExecution(ctx, executionId);
    if (!mayRead(identityOf(request), stored.state.userId)) throw executionNotFound(executionId);
  });
}
