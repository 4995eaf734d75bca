/**
 * Purging DLQ records, by consumer and by age. Records live in the DLQ stream on
 * `dlq.<consumer>`, in the order they were dead-lettered; a purge removes the selected subject's
 * messages below one stream sequence, so records that arrive while an operator confirms are
 * never part of it.
 */
import { EventSubjects, subjects } from '@multi-agent/events';
import { StreamNames } from '@multi-agent/nats-client';
import type { NatsClient } from '@multi-agent/nats-client';
import { DeliverPolicy } from '@nats-io/jetstream';

/** Which records a purge removes. */
export interface PurgeFilter {
  /** Only this durable consumer's records. */
  consumer?: string;
  /** Only records dead-lettered (stored in the DLQ) before this time. */
  before?: Date;
}

/** The records a purge would remove, counted. */
export interface PurgeSelection extends PurgeFilter {
  /** The DLQ subject filter: `dlq.<consumer>` or `dlq.*`. */
  subject: string;
  /** How many records match. */
  count: number;
  /** The purge removes matching records below this DLQ stream sequence. */
  belowSeq: number;
}

/** Counts the records `filter` selects and fixes where the purge stops. */
export async function selectPurge(client: NatsClient, filter: PurgeFilter): Promise<PurgeSelection> {
  const subject = filter.consumer === undefined ? EventSubjects.DLQ_ALL : subjects.deadLetter(filter.consumer);
  const { js, jsm } = client.jetstream;
  const info = await jsm.streams.info(StreamNames.DLQ, { subjects_filter: subject });
  const stored = Object.values(info.state.subjects ?? {}).reduce((sum, n) => sum + n, 0);
  const selection: PurgeSelection = { ...filter, subject, count: stored, belowSeq: info.state.last_seq + 1 };
  if (filter.before === undefined || stored === 0) return selection;
  // The first matching record stored at or after `before` is where the purge stops.
  const later = await js.consumers.get(StreamNames.DLQ, {
    filter_subjects: subject,
    deliver_policy: DeliverPolicy.StartTime,
    opt_start_time: filter.before.toISOString(),
    headers_only: true,
  });
  try {
    const { num_pending: notBefore } = await later.info();
    if (notBefore === 0) return selection;
    const first = await later.next({ expires: 5000 });
    if (first === null) throw new Error('the DLQ stream did not deliver its first record after --before; nothing purged');
    return { ...selection, count: Math.max(0, stored - notBefore), belowSeq: first.seq };
  } finally {
    await later.delete().catch(() => undefined);
  }
}

/** Removes the selected records; resolves with how many the server removed. */
export async function purgeSelection(client: NatsClient, selection: PurgeSelection): Promise<number> {
  const { purged } = await client.jetstream.jsm.streams.purge(StreamNames.DLQ, { filter: selection.subject, seq: selection.belowSeq });
  return purged;
}

/** "3 DLQ records of consumer X dead-lettered before T", for prompts and reports. */
export function describeSelection(selection: PurgeFilter & { count: number }): string {
  const noun = selection.count === 1 ? 'DLQ record' : 'DLQ records';
  return [
    `${selection.count} ${noun}`,
    ...(selection.consumer === undefined ? [] : [`of consumer ${selection.consumer}`]),
    ...(selection.before === undefined ? [] : [`dead-lettered before ${selection.before.toISOString()}`]),
  ].join(' ');
}
