/**
 * `multi-agent audit`: who started, cancelled, replayed or purged what through the gateway, and
 * when: the `AUDIT` stream, oldest first (see `AuditSubjects` of the service kit).
 */
import { StreamNames } from '@multi-agent/nats-client';
import type { NatsClient } from '@multi-agent/nats-client';
import { auditRecordDataSchema } from '@multi-agent/service-kit';
import type { AuditRecordData } from '@multi-agent/service-kit';
import { printJson, printTable } from '../output.js';
import type { Io } from '../output.js';

/** Options of {@link auditCommand}. */
export interface AuditOptions {
  /** Only records from this time on. */
  since?: Date;
  /** Only what this user did. */
  user?: string;
  json: boolean;
}

/** One audit record as printed: the actor flattened, then what the action touched. */
export type AuditEntry = { seq: number; time: string; action: string; userId: string; role: string; via: string } & Pick<
  AuditRecordData,
  'executionId' | 'workflowId' | 'reason' | 'dlqSequences'
>;

function entry(seq: number, subject: string, time: Date, data: AuditRecordData): AuditEntry {
  const { actor, executionId, workflowId, reason, dlqSequences } = data;
  return {
    seq,
    time: time.toISOString(),
    action: subject.slice('audit.'.length),
    userId: actor.userId,
    role: actor.role,
    via: actor.via,
    ...(executionId === undefined ? {} : { executionId }),
    ...(workflowId === undefined ? {} : { workflowId }),
    ...(reason === undefined ? {} : { reason }),
    ...(dlqSequences === undefined ? {} : { dlqSequences }),
  };
}

/** What an entry touched, in a word or two. */
function target(e: AuditEntry): string {
  if (e.dlqSequences !== undefined) return `dlq ${e.dlqSequences.join(',')}`;
  return [e.workflowId, e.executionId, e.reason === undefined ? undefined : `(${e.reason})`].filter((p) => p !== undefined).join(' ');
}

/** Prints the audit records (as a JSON array with `--json`). */
export async function auditCommand(client: NatsClient, io: Io, options: AuditOptions): Promise<number> {
  const entries: AuditEntry[] = [];
  const malformed: number[] = [];
  for await (const { seq, subject, event } of client.readEvents({ stream: StreamNames.AUDIT, ...(options.since === undefined ? {} : { startTime: options.since }) })) {
    const parsed = auditRecordDataSchema.safeParse(event.data);
    if (!parsed.success) {
      malformed.push(seq);
      continue;
    }
    if (options.user !== undefined && parsed.data.actor.userId !== options.user) continue;
    entries.push(entry(seq, subject, event.timestamp, parsed.data));
  }
  if (malformed.length > 0) io.err(`skipped ${malformed.length} message(s) of AUDIT that are not audit records (sequences ${malformed.join(', ')})`);
  if (options.json) printJson(io, entries);
  else if (entries.length === 0) io.out('no audit records');
  else printTable(io, ['time', 'user', 'role', 'action', 'target'], entries.map((e) => [e.time, e.userId, e.role, e.action, target(e)]));
  return 0;
}
