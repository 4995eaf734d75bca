/** `multi-agent dlq ls|show|replay|purge`: inspect, replay and purge dead-lettered events. */
import type { NatsClient } from '@multi-agent/nats-client';
import { describeSelection, purgeSelection, selectPurge } from '../dlq-purge.js';
import type { PurgeFilter } from '../dlq-purge.js';
import { Progress, clip, paint, printJson, printTable } from '../output.js';
import type { Io } from '../output.js';

/**
 * Lists DLQ records, oldest first (as JSON: every record in full). A message on a DLQ subject
 * that is not a record is named on stderr and does not stop the listing.
 */
export async function dlqList(client: NatsClient, io: Io, consumer: string | undefined, json: boolean): Promise<void> {
  const { records, unreadable } = await client.deadLetters.scan(consumer);
  for (const u of unreadable) {
    io.err(`DLQ message ${u.dlqSequence} on ${u.subject} is ${u.error}: not listed (purge it by sequence in the console's Dead letters view)`);
  }
  if (json) {
    printJson(io, records.map(({ dlqSequence, subject, record }) => ({ dlqSequence, subject, ...record })));
    return;
  }
  if (records.length === 0) {
    io.out(consumer === undefined ? 'the DLQ is empty' : `no DLQ records for ${consumer}`);
    return;
  }
  const rows = records.map(({ dlqSequence, record }) => [
    String(dlqSequence),
    record.lastFailureAt,
    record.consumer,
    record.reason,
    String(record.failureCount),
    record.originalSubject,
    clip(`${record.errorClass}: ${record.errorMessage}`, 60),
  ]);
  printTable(io, ['seq', 'last failure', 'consumer', 'reason', 'failures', 'subject', 'error'], rows);
}

/** Prints one DLQ record in full, as JSON (`--json` changes nothing: a record is a document). */
export async function dlqShow(client: NatsClient, io: Io, seq: number): Promise<boolean> {
  const stored = await client.deadLetters.read(seq);
  if (stored === undefined) {
    io.err(`no DLQ record at sequence ${seq}`);
    return false;
  }
  printJson(io, { dlqSequence: stored.dlqSequence, subject: stored.subject, ...stored.record });
  return true;
}

/** Replays records by DLQ sequence, or every record of a consumer, one at a time with a progress line. */
export async function dlqReplay(client: NatsClient, io: Io, seqs: number[], consumer: string | undefined): Promise<void> {
  const todo = consumer === undefined ? seqs : (await client.deadLetters.list(consumer)).map((r) => r.dlqSequence);
  const progress = new Progress(io, 'replaying DLQ records');
  const results = [];
  try {
    for (const seq of todo) {
      results.push(await client.deadLetters.replay(seq));
      progress.update(results.length, todo.length);
    }
  } finally {
    progress.done();
  }
  for (const r of results) {
    const status = paint(io, r.status === 'not-replayable' ? 'red' : r.status === 'replayed' ? 'green' : 'dim', r.status);
    io.out(`${r.dlqSequence}  ${status}${r.subject === undefined ? '' : `  -> ${r.subject}`}${r.eventId === undefined ? '' : `  eventId ${r.eventId}`}${r.reason === undefined ? '' : `  (${r.reason})`}`);
  }
}

/** Options of {@link dlqPurge}. */
export interface DlqPurgeOptions extends PurgeFilter {
  /** Purge without asking. */
  yes: boolean;
}

/**
 * Purges DLQ records after confirmation on the terminal (or with `yes`).
 *
 * @returns the exit code: 0 purged (or nothing to purge), 1 declined
 */
export async function dlqPurge(client: NatsClient, io: Io, options: DlqPurgeOptions): Promise<number> {
  const selection = await selectPurge(client, options);
  if (selection.count === 0) {
    io.out(`nothing to purge: ${describeSelection(selection).replace(/^0 /, 'no ')}`);
    return 0;
  }
  if (!options.yes && !(await io.confirm?.(`Purge ${describeSelection(selection)}? This cannot be undone.`))) {
    io.err('nothing purged');
    return 1;
  }
  const purged = await purgeSelection(client, selection);
  io.out(`purged ${describeSelection({ ...selection, count: purged })}`);
  return 0;
}
