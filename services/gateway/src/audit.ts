/**
 * The gateway's audit records (see `AuditSubjects` of the service kit): one event on the `AUDIT`
 * stream per action a caller took, with the caller as `actor`. Published after the action
 * succeeded; a record the bus refuses is logged as an error, and the caller's answer stands:
 * the action has happened and undoing it for the record's sake would be worse.
 */
import type { AuditRecordData, AuditSubject } from '@multi-agent/service-kit';
import type { FastifyRequest } from 'fastify';
import { identityOf } from './auth/authenticate.js';
import type { GatewayContext } from './context.js';

/** Publishes what `request`'s caller did. */
export async function recordAudit(ctx: GatewayContext, request: FastifyRequest, subject: AuditSubject, what: Omit<AuditRecordData, 'actor'>): Promise<void> {
  const { userId, role, via } = identityOf(request);
  try {
    await ctx.client.publish({ eventType: subject, data: { actor: { userId, role, via }, ...what } });
  } catch (err) {
    ctx.client.logger.error({ err, subject, userId, ...what }, 'audit record not published');
  }
}
