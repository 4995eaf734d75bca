/**
 * The DLQ as the console shows it: each record with its replay (from the replay markers the
 * bus client's replayer keeps in the `DLQ_REPLAYS` KV bucket, key `seq.<dlqSequence>`) and
 * whether it is **handled**.
 *
 * A record is handled when its event was replayed and the replay has not been dead-lettered
 * in turn: no record in the DLQ holds the replayed event (the replay's eventId). A replay that
 * fails again becomes a new record (its own replay), so purging handled records never drops
 * an event that still needs attention.
 */
import { DEAD_LETTER_REASONS } from '@multi-agent/events';
import type { DeadLetterReason } from '@multi-agent/events';
import type { NatsClient, StoredDeadLetter, UnreadableDeadLetter } from '@multi-agent/nats-client';
import { DLQ_REPLAYS_BUCKET } from '@multi-agent/service-kit';
import { Kvm } from '@nats-io/kv';

/** A replay marker: the replayed event's id and when it was published. */
export interface ReplayMarker {
  eventId: string;
  replayedAt: string;
}

/** One DLQ record as the API returns it. */
export interface DeadLetterView {
  dlqSequence: number;
  /** `dlq.<consumer>` */
  subject: string;
  reason: DeadLetterReason;
  service: string;
  consumer: string;
  failureCount: number;
  firstFailureAt: string;
  lastFailureAt: string;
  errorClass: string;
  errorMessage: string;
  /** Where the event was and is replayed to. */
  originalSubject: string;
  stream: string;
  streamSequence: number;
  /** The dead-lettered event (absent when it could not be decoded: see `rawPayloadBase64`). */
  event?: Record<string, unknown>;
  rawPayloadBase64?: string;
  replay?: ReplayMarker;
  handled: boolean;
}

/** Every replay marker, by DLQ sequence: one pass over the bucket (none when nothing was ever replayed). */
async function replayMarkers(client: NatsClient): Promise<Map<number, ReplayMarker>> {
  const markers = new Map<number, ReplayMarker>();
  let kv;
  try {
    kv = await new Kvm(client.jetstream.js).open(DLQ_REPLAYS_BUCKET);
    if ((await kv.status()).values === 0) return markers;
  } catch {
    return markers;
  }
  const entries = await kv.watch({ key: 'seq.*' });
  try {
    for await (const entry of entries) {
      if (entry.operation === 'PUT') markers.set(Number(entry.key.slice('seq.'.length)), entry.json<ReplayMarker>());
      if (entry.isUpdate || entry.delta === 0) break;
    }
  } finally {
    entries.stop();
  }
  return markers;
}

/**
 * The DLQ's records (of one consumer, or all), oldest first, with their replay and handled
 * state; and apart from them the messages on DLQ subjects that are not records.
 */
export async function readDeadLetters(client: NatsClient, consumer?: string): Promise<{ records: DeadLetterView[]; unreadable: UnreadableDeadLetter[] }> {
  const [{ records: stored, unreadable }, markers] = await Promise.all([client.deadLetters.scan(consumer), replayMarkers(client)]);
  // Every event id the DLQ holds: a replay found here was dead-lettered again.
  const deadEventIds = new Set(stored.flatMap((s) => (typeof s.record.originalEvent?.eventId === 'string' ? [s.record.originalEvent.eventId] : [])));
  return { records: stored.map((s) => view(s, markers.get(s.dlqSequence), deadEventIds)), unreadable };
}

function view({ dlqSequence, subject, record }: StoredDeadLetter, replay: ReplayMarker | undefined, deadEventIds: Set<string>): DeadLetterView {
  return {
    dlqSequence,
    subject,
    reason: record.reason,
    service: record.service,
    consumer: record.consumer,
    failureCount: record.failureCount,
    firstFailureAt: record.firstFailureAt,
    lastFailureAt: record.lastFailureAt,
    errorClass: record.errorClass,
    errorMessage: record.errorMessage,
    originalSubject: record.originalSubject,
    stream: record.stream,
    streamSequence: record.streamSequence,
    ...(record.originalEvent === undefined ? {} : { event: record.originalEvent }),
    ...(record.rawPayloadBase64 === undefined ? {} : { rawPayloadBase64: record.rawPayloadBase64 }),
    ...(replay === undefined ? {} : { replay }),
    handled: replay !== undefined && !deadEventIds.has(replay.eventId),
  };
}

/** Records per reason (every reason listed, zeros included) and per consumer. */
export function countDeadLetters(records: DeadLetterView[]): { byReason: Record<DeadLetterReason, number>; byConsumer: Record<string, number>; handled: number } {
  const byReason = Object.fromEntries(DEAD_LETTER_REASONS.map((r) => [r, 0])) as Record<DeadLetterReason, number>;
  const byConsumer: Record<string, number> = {};
  for (const r of records) {
    byReason[r.reason] += 1;
    byConsumer[r.consumer] = (byConsumer[r.consumer] ?? 0) + 1;
  }
  return { byReason, byConsumer, handled: records.filter((r) => r.handled).length };
}
