/**
 * Reading stored events back from a stream with an ordered (ephemeral, flow-controlled)
 * consumer: from a stream sequence or a point in time, optionally keeping only the events of
 * one flow (`correlation-id` header) or caused by one event (`causation-id` header). Headers are
 * checked before a body is decoded, so skipping other flows' events is cheap.
 */
import { decodeEvent, EventHeaders } from '@multi-agent/events';
import type { DomainEvent } from '@multi-agent/events';
import { DeliverPolicy } from '@nats-io/jetstream';
import type { JetStreamClient, JsMsg } from '@nats-io/jetstream';
import { StreamNames } from './topology.js';

/** A stored event and where it is. */
export interface StoredEvent {
  seq: number;
  subject: string;
  event: DomainEvent;
}

/** Options of {@link readEvents}. */
export interface ReadEventsOptions {
  /** Default `EVENTS`. */
  stream?: string;
  /** Subject filter (wildcards allowed); default every subject of the stream. */
  filterSubject?: string;
  /** Start at this stream sequence... */
  startSeq?: number;
  /** ...or at this time (ignored when `startSeq` is set); default the first message. */
  startTime?: Date;
  /**
   * Keep only the events of this flow: those whose `correlation-id` header is this, and the
   * flow's first event, whose own eventId (`Nats-Msg-Id`) it is.
   */
  correlationId?: string;
  /** Keep only events whose `causation-id` header is this. */
  causationId?: string;
  /** Keep reading new events as they arrive; default false: stop once caught up with the stream. */
  follow?: boolean;
  /** Stops reading (the iteration just ends). */
  signal?: AbortSignal;
  /** Stop after this many messages were looked at (a bound for callers that serve HTTP). */
  maxScan?: number;
}

/** Where {@link readStoredMessages} reads. */
export type StreamPosition = Pick<ReadEventsOptions, 'stream' | 'filterSubject' | 'startSeq' | 'startTime' | 'follow' | 'signal'>;

/**
 * Yields the stream's messages from a position, bodies undecoded. Without `follow` it ends once
 * caught up with the stream as it was when the read started.
 */
export async function* readStoredMessages(js: JetStreamClient, options: StreamPosition = {}): AsyncGenerator<JsMsg> {
  const stream = options.stream ?? StreamNames.EVENTS;
  const position =
    options.startSeq !== undefined
      ? { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: Math.max(1, options.startSeq) }
      : options.startTime !== undefined
        ? { deliver_policy: DeliverPolicy.StartTime, opt_start_time: options.startTime.toISOString() }
        : { deliver_policy: DeliverPolicy.All };
  const consumer = await js.consumers.get(stream, {
    ...position,
    ...(options.filterSubject === undefined ? {} : { filter_subjects: options.filterSubject }),
  });
  if (options.follow !== true) {
    const info = await consumer.info();
    if (info.num_pending === 0) return;
  }
  const messages = await consumer.consume({ max_messages: 512 });
  const stop = (): void => messages.stop();
  if (options.signal?.aborted === true) return;
  options.signal?.addEventListener('abort', stop, { once: true });
  try {
    for await (const msg of messages) {
      yield msg;
      if (options.follow !== true && msg.info.pending === 0) return;
    }
  } finally {
    options.signal?.removeEventListener('abort', stop);
    messages.stop();
  }
}

/**
 * Yields the stored events that match, in stream order. This scans: it looks at every message
 * from the start position on. For one flow, `NatsClient.readCorrelation` reads the index instead.
 * Undecodable messages are skipped: this is a reader, not a consumer that must settle them.
 */
export async function* readEvents(js: JetStreamClient, options: ReadEventsOptions = {}): AsyncGenerator<StoredEvent> {
  let scanned = 0;
  for await (const msg of readStoredMessages(js, options)) {
    scanned += 1;
    const header = (name: string): string | undefined => msg.headers?.get(name) || undefined;
    const wanted =
      (options.correlationId === undefined ||
        header(EventHeaders.CORRELATION_ID) === options.correlationId ||
        header(EventHeaders.MSG_ID) === options.correlationId) &&
      (options.causationId === undefined || header(EventHeaders.CAUSATION_ID) === options.causationId);
    const event = wanted ? decodeOrUndefined(msg.data) : undefined;
    if (event !== undefined) yield { seq: msg.seq, subject: msg.subject, event };
    if (options.maxScan !== undefined && scanned >= options.maxScan) return;
  }
}

/** The event in a stored body, or undefined when it does not decode (a reader skips it). */
export function decodeOrUndefined(data: Uint8Array): DomainEvent | undefined {
  try {
    return decodeEvent(data);
  } catch {
    return undefined;
  }
}
