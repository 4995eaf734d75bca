/**
 * DLQ replay (docs/architecture.md, "Retries and dead letters"): republishes a dead-lettered event to its original subject with
 * a new eventId and `causationId` = the old eventId, and records the replay in a KV bucket so
 * replaying the same record twice publishes once. The new eventId is derived from the DLQ
 * record, so even a replay interrupted between publish and marker is deduplicated by the
 * stream window and by consumers' idempotency keys.
 */
import { deadLetterDataSchema, eventFromJson, subjects } from '@multi-agent/events';
import type { DeadLetterData } from '@multi-agent/events';
import { DeliverPolicy } from '@nats-io/jetstream';
import type { JetStreamClient, JetStreamManager } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import type { KV } from '@nats-io/kv';
import { createHash } from 'node:crypto';
import { DeadLetterUnreadableError } from './errors.js';
import type { EventPublisher } from './publisher.js';
import { StreamNames } from './topology.js';

/** KV bucket remembering which DLQ records were replayed. */
export const REPLAY_BUCKET = 'DLQ_REPLAYS';

/** What happened to one DLQ record. */
export interface ReplayResult {
  /** Sequence of the record in the DLQ stream. */
  dlqSequence: number;
  status: 'replayed' | 'already-replayed' | 'not-replayable';
  /** The new event's id (replayed or already-replayed). */
  eventId?: string;
  /** Where it was republished. */
  subject?: string;
  /** Why a record cannot be replayed (its original could not be decoded). */
  reason?: string;
}

/** A stored DLQ record. */
export interface StoredDeadLetter {
  dlqSequence: number;
  subject: string;
  record: DeadLetterData;
}

/**
 * A message on a DLQ subject that is not a DLQ record (no bus client writes one; whoever may
 * publish on `dlq.*` can). Listed apart, so it cannot hide the real records; purge it.
 */
export interface UnreadableDeadLetter {
  dlqSequence: number;
  subject: string;
  /** Why it is not a record (not JSON, or not the record's shape). */
  error: string;
}

/** The DLQ's records, and the messages on its subjects that are not records. */
export interface DeadLetterListing {
  records: StoredDeadLetter[];
  unreadable: UnreadableDeadLetter[];
}

/** A UUID-shaped id derived from the DLQ record, stable across replay attempts. */
export function replayEventId(dlqSequence: number, originalEventId: string): string {
  const h = createHash('sha256').update(`replay:${dlqSequence}:${originalEventId}`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/** Replays DLQ records for a connected client. */
export class DeadLetterReplayer {
  private kv: Promise<KV> | undefined;

  constructor(
    private readonly js: JetStreamClient,
    private readonly jsm: JetStreamManager,
    private readonly publisher: EventPublisher,
    private readonly replicas: number,
  ) {}

  /**
   * Reads one DLQ record by its DLQ stream sequence.
   *
   * @throws DeadLetterUnreadableError when the message there is not a DLQ record
   */
  async read(dlqSequence: number): Promise<StoredDeadLetter | undefined> {
    const stored = await this.jsm.streams.getMessage(StreamNames.DLQ, { seq: dlqSequence });
    if (stored === null) return undefined;
    const parsed = parseRecord(dlqSequence, stored.subject, stored.data);
    if ('error' in parsed) throw new DeadLetterUnreadableError(dlqSequence, parsed.error);
    return parsed;
  }

  /**
   * Lists the DLQ records of one consumer (or all, with `consumer` undefined), oldest first.
   * Messages on DLQ subjects that are not records are left out: {@link DeadLetterReplayer.scan} lists them.
   */
  async list(consumer?: string): Promise<StoredDeadLetter[]> {
    return (await this.scan(consumer)).records;
  }

  /** Lists the DLQ records of one consumer (or all), oldest first, and apart from them the messages that are not records. */
  async scan(consumer?: string): Promise<DeadLetterListing> {
    const listing: DeadLetterListing = { records: [], unreadable: [] };
    const filter = consumer === undefined ? 'dlq.*' : subjects.deadLetter(consumer);
    const info = await this.jsm.streams.info(StreamNames.DLQ);
    if (info.state.messages === 0) return listing;
    const oc = await this.js.consumers.get(StreamNames.DLQ, { filter_subjects: filter, deliver_policy: DeliverPolicy.All });
    try {
      for (;;) {
        const msg = await oc.next({ expires: 1000 });
        if (msg === null) break;
        const parsed = parseRecord(msg.seq, msg.subject, msg.data);
        if ('error' in parsed) listing.unreadable.push(parsed);
        else listing.records.push(parsed);
        if (msg.info.pending === 0) break;
      }
    } finally {
      await oc.delete().catch(() => undefined);
    }
    return listing;
  }

  /** Replays one record. */
  async replay(dlqSequence: number): Promise<ReplayResult> {
    const stored = await this.read(dlqSequence);
    if (stored === undefined) throw new Error(`no DLQ record at sequence ${dlqSequence}`);
    return this.replayRecord(stored);
  }

  /** Replays every record of a consumer. */
  async replayAll(consumer: string): Promise<ReplayResult[]> {
    const results: ReplayResult[] = [];
    for (const stored of await this.list(consumer)) results.push(await this.replayRecord(stored));
    return results;
  }

  private async replayRecord({ dlqSequence, record }: StoredDeadLetter): Promise<ReplayResult> {
    if (record.originalEvent === undefined) {
      return { dlqSequence, status: 'not-replayable', reason: 'the original payload was not an event (kept as rawPayloadBase64)' };
    }
    const original = eventFromJson(record.originalEvent);
    const eventId = replayEventId(dlqSequence, original.eventId);
    const kv = await this.markers();
    const key = `seq.${dlqSequence}`;
    if ((await kv.get(key))?.operation === 'PUT') {
      return { dlqSequence, status: 'already-replayed', eventId, subject: record.originalSubject };
    }
    await this.publisher.publishTo(record.originalSubject, {
      ...original,
      eventId,
      timestamp: new Date(),
      causationId: original.eventId,
      correlationId: original.correlationId ?? original.eventId,
    });
    await kv.create(key, JSON.stringify({ eventId, replayedAt: new Date().toISOString() })).catch(() => undefined);
    return { dlqSequence, status: 'replayed', eventId, subject: record.originalSubject };
  }

  private markers(): Promise<KV> {
    this.kv ??= openReplayMarkers(this.js, this.replicas);
    return this.kv;
  }

}

/** The DLQ record a message carries (its envelope's `data`), or why it carries none. */
function parseRecord(dlqSequence: number, subject: string, payload: Uint8Array): StoredDeadLetter | UnreadableDeadLetter {
  let body: unknown;
  try {
    body = JSON.parse(new TextDecoder().decode(payload));
  } catch {
    return { dlqSequence, subject, error: 'not JSON' };
  }
  const record = deadLetterDataSchema.safeParse((body as { data?: unknown } | null)?.data);
  if (!record.success) return { dlqSequence, subject, error: `not a DLQ record: ${record.error.issues.map((i) => `${i.path.join('.') || 'data'} ${i.message}`).slice(0, 3).join('; ')}` };
  return { dlqSequence, subject, record: record.data };
}

/** Opens the bucket of replay markers, creating it when missing. */
export function openReplayMarkers(js: JetStreamClient, replicas: number): Promise<KV> {
  return new Kvm(js).create(REPLAY_BUCKET, { history: 1, replicas });
}
