/**
 * The audit trail: who started, cancelled or replayed what, and when. The gateway publishes one
 * event per action on `audit.<object>.<action>`; the `AUDIT` stream keeps them a year, apart
 * from the week of `EVENTS`. Their schema is registered (`registerEventSchema`) when this
 * module loads, so the bus validates them like any other event; they stay out of the typed
 * event map, which mirrors the guide's subjects.
 */
import { registerEventSchema } from '@multi-agent/events';
import * as z from 'zod';

/** The subjects of the audit events. */
export const AuditSubjects = {
  EXECUTION_STARTED: 'audit.execution.started',
  EXECUTION_CANCELLED: 'audit.execution.cancelled',
  DEAD_LETTERS_REPLAYED: 'audit.dead-letters.replayed',
  DEAD_LETTERS_PURGED: 'audit.dead-letters.purged',
} as const;

/** Any audit subject. */
export type AuditSubject = (typeof AuditSubjects)[keyof typeof AuditSubjects];

/** Data of every audit event: the caller, and what the action touched. */
export const auditRecordDataSchema = z.looseObject({
  /** Who did it, as the gateway authenticated them. */
  actor: z.looseObject({ userId: z.string().min(1), role: z.enum(['user', 'admin']), via: z.enum(['api-key', 'jwt']) }),
  executionId: z.string().optional(),
  workflowId: z.string().optional(),
  reason: z.string().optional(),
  /** The dead letters replayed or purged. */
  dlqSequences: z.array(z.number().int().positive()).optional(),
});
/** Data of every audit event. */
export type AuditRecordData = z.infer<typeof auditRecordDataSchema>;

for (const subject of Object.values(AuditSubjects)) registerEventSchema(subject, '1.0', auditRecordDataSchema);
