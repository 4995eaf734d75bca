import type { ConsumerInfo, JetStreamClient, JsMsg } from '@nats-io/jetstream';

/** One message as stored in a stream, read back by {@link readStream}. */
export interface StoredMessage {
  /** Stream sequence. */
  seq: number;
  subject: string;
  /** The `Nats-Msg-Id` header (the deduplication id; the platform sets it to the eventId). */
  msgId: string | undefined;
  /** Every header, first value of each. */
  headers: Record<string, string>;
  data: Uint8Array;
  /** The payload parsed as JSON. */
  json(): unknown;
}

/** Options of {@link readStream} and {@link auditStream}. */
export interface ReadStreamOptions {
  /** Only messages on subjects matching this filter (wildcards allowed). Default every message. */
  filterSubject?: string;
  /** Give up (reject) after this long (ms). Default 60 000. */
  timeoutMs?: number;
}

/** What {@link auditStream} found. */
export interface StreamAudit {
  /** Every stored message, in stream order. */
  messages: StoredMessage[];
  /** Number of stored messages. */
  count: number;
  /** Distinct `Nats-Msg-Id` values. */
  uniqueIds: Set<string>;
  /** Ids stored more than once, with the sequences of every copy. */
  duplicates: Map<string, number[]>;
  /** Messages stored without a `Nats-Msg-Id`. */
  withoutId: number;
  /** The ids of `expected` that are not in the stream. */
  missing(expected: Iterable<string>): string[];
}

/** A consumer's delivery state, as the server reports it. */
export interface ConsumerState {
  /** Messages not yet delivered to anybody. */
  numPending: number;
  /** Delivered and not yet acknowledged. */
  numAckPending: number;
  /** Delivered more than once and not yet acknowledged. */
  numRedelivered: number;
  /** Highest stream sequence below which everything is acknowledged. */
  ackFloorStreamSeq: number;
  /** Highest stream sequence delivered. */
  deliveredStreamSeq: number;
  /** The raw consumer info. */
  info: ConsumerInfo;
}

function headerRecord(msg: JsMsg): Record<string, string> {
  const out: Record<string, string> = {};
  const h = msg.headers;
  if (h === undefined) return out;
  for (const key of h.keys()) out[key] = h.get(key);
  return out;
}

/**
 * Reads back every message of `stream` (or those matching `filterSubject`) with an ordered
 * consumer, in stream order, from the first to the last stored when the read started. This is how
 * a test checks what the server really kept, instead of trusting what publish returned.
 *
 * @param js - a JetStream client (`jetstream(nc)` from `@nats-io/jetstream`)
 */
export async function readStream(js: JetStreamClient, stream: string, options: ReadStreamOptions = {}): Promise<StoredMessage[]> {
  const filter = options.filterSubject ?? '>';
  const timeoutMs = options.timeoutMs ?? 60_000;
  const jsm = await js.jetstreamManager();
  const info = await jsm.streams.info(stream, { subjects_filter: filter });
  const expected = Object.values(info.state.subjects ?? {}).reduce((sum, n) => sum + n, 0);
  const lastSeq = info.state.last_seq;
  if (expected === 0) return [];
  const consumer = await js.consumers.get(stream, { filter_subjects: filter });
  const messages = await consumer.consume({ max_messages: 1000 });
  const out: StoredMessage[] = [];
  const timer = setTimeout(() => messages.stop(new Error(`readStream(${stream}, ${filter}): timed out after ${timeoutMs} ms with ${out.length} of ${expected} messages`)), timeoutMs);
  try {
    for await (const msg of messages) {
      const data = msg.data;
      out.push({
        seq: msg.seq,
        subject: msg.subject,
        msgId: msg.headers?.get('Nats-Msg-Id') || undefined,
        headers: headerRecord(msg),
        data,
        json: (): unknown => JSON.parse(new TextDecoder().decode(data)),
      });
      if (msg.info.pending === 0 || msg.seq >= lastSeq) break;
    }
  } finally {
    clearTimeout(timer);
    messages.stop();
  }
  const closed = await messages.closed();
  if (closed instanceof Error) throw closed;
  return out;
}

/**
 * Reads a stream back ({@link readStream}) and counts copies per `Nats-Msg-Id`: a test asserts
 * `count`, `duplicates.size === 0` and `missing(acknowledgedIds)` against what it published.
 */
export async function auditStream(js: JetStreamClient, stream: string, options: ReadStreamOptions = {}): Promise<StreamAudit> {
  const messages = await readStream(js, stream, options);
  const seqsById = new Map<string, number[]>();
  let withoutId = 0;
  for (const m of messages) {
    if (m.msgId === undefined) {
      withoutId += 1;
      continue;
    }
    const seqs = seqsById.get(m.msgId);
    if (seqs === undefined) seqsById.set(m.msgId, [m.seq]);
    else seqs.push(m.seq);
  }
  const uniqueIds = new Set(seqsById.keys());
  return {
    messages,
    count: messages.length,
    uniqueIds,
    duplicates: new Map([...seqsById].filter(([, seqs]) => seqs.length > 1)),
    withoutId,
    missing: (expected) => [...new Set(expected)].filter((id) => !uniqueIds.has(id)),
  };
}

/** A consumer's pending, unacknowledged and redelivered counts, from the server. */
export async function consumerState(js: JetStreamClient, stream: string, consumer: string): Promise<ConsumerState> {
  const jsm = await js.jetstreamManager();
  const info = await jsm.consumers.info(stream, consumer);
  return {
    numPending: info.num_pending,
    numAckPending: info.num_ack_pending,
    numRedelivered: info.num_redelivered,
    ackFloorStreamSeq: info.ack_floor.stream_seq,
    deliveredStreamSeq: info.delivered.stream_seq,
    info,
  };
}
