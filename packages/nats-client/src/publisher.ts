/**
 * `publish()`: fills the envelope, validates, encodes and routes an event. Stream subjects go
 * through JetStream with `Nats-Msg-Id = eventId` (the stream's duplicate window stores a
 * retried publish once); declared core subjects go through core NATS; anything else is refused
 * with `NoStreamError` instead of vanishing.
 */
import { EventHeaders, assertPublishSubject, completeEnvelope, encodeEvent, eventHeaders, validateEvent } from '@multi-agent/events';
import type { DomainEvent, EventInput } from '@multi-agent/events';
import { errors, headers as natsHeaders } from '@nats-io/nats-core';
import type { MsgHdrs, NatsConnection } from '@nats-io/nats-core';
import type { NatsConfig } from './config.js';
import { asPermissionError, NoStreamError, NotConnectedError, PayloadTooLargeError, PublishError } from './errors.js';
import { isNoAnswer } from './jetstream-api.js';
import { rejected } from './rejected.js';
import type { ReplyMux } from './reply-mux.js';
import { publishToStream } from './stream-publish.js';
import type { ClientMetrics } from './metrics.js';
import { isCoreSubject, streamFor } from './topology.js';
import type { StreamSpec } from './topology.js';
import { inPublishSpan, injectTraceContext } from './tracing.js';

/**
 * An event to publish. `eventId`, `timestamp` and `version` are filled when missing
 * (a UUID v4, now, and `'1.0'`), as the guide's workflow example relies on.
 */
export type PublishableEvent = EventInput;

/** Where a published event landed. */
export interface PublishResult {
  eventId: string;
  /** The stream that stored it, or `undefined` for a core NATS subject. */
  stream?: string;
  /** Stream sequence of the stored copy. */
  seq?: number;
  /** True when the stream had this eventId already (a retried publish inside the duplicate window). */
  duplicate: boolean;
}

/**
 * Header map for a message: the event's headers plus the active trace context; with `msgId`,
 * `Nats-Msg-Id` is that (last, as JetStream publishes have always sent it).
 */
export function messageHeaders(event: DomainEvent, msgId?: string): MsgHdrs {
  const map = eventHeaders(event);
  injectTraceContext(map);
  const h = natsHeaders();
  // The keys are distinct and the map is fresh: append, without set's lookup and delete of each key.
  for (const key in map) {
    if (msgId === undefined || key !== EventHeaders.MSG_ID) h.append(key, map[key] ?? '');
  }
  if (msgId !== undefined) h.append(EventHeaders.MSG_ID, msgId);
  return h;
}

/** The dependencies a publisher needs from the client's live connection. */
export interface PublishTarget {
  nc: NatsConnection;
  /** Where JetStream publishes wait for their PubAck (reply-mux.ts). */
  mux: ReplyMux;
  connected: boolean;
  /** Resolves true once connected again, false after `timeoutMs`. */
  untilConnected(timeoutMs: number): Promise<boolean>;
}

const MAX_CACHED_ROUTES = 10_000;

/** The metric children a stored publish on one stream updates. */
interface StreamMetrics {
  stored: { inc(): void };
  duplicate: { inc(): void };
  seconds: { observe(seconds: number): void };
}

/** Publishes events for one client. */
export class EventPublisher {
  private readonly routes = new Map<string, StreamSpec | undefined>();
  private readonly outcomes = new Map<string, StreamMetrics>();

  constructor(
    private readonly target: () => PublishTarget | undefined,
    private readonly config: NatsConfig,
    private readonly streams: readonly StreamSpec[],
    private readonly metrics: ClientMetrics,
  ) {}

  /** Validates, encodes and publishes one event; resolves once JetStream stored it. */
  publish(input: PublishableEvent): Promise<PublishResult> {
    let event: DomainEvent;
    let payload: Uint8Array;
    try {
      event = completeEnvelope(input);
      validateEvent(event); // checks eventType as a publish subject too
      payload = encodeEvent(event);
    } catch (err) {
      return rejected(err);
    }
    return this.publishEncoded(event.eventType, event, payload);
  }

  /** Publishes an event caused by `cause`: `correlationId` and `causationId` default to its lineage. */
  publishCausedBy(event: PublishableEvent, cause: DomainEvent): Promise<PublishResult> {
    return this.publish({
      ...event,
      correlationId: event.correlationId ?? cause.correlationId ?? cause.eventId,
      causationId: event.causationId ?? cause.eventId,
    });
  }

  /** Validates and publishes a complete event on `subject` (which may differ from its eventType, as for a replay). */
  async publishTo(subject: string, event: DomainEvent): Promise<PublishResult> {
    assertPublishSubject(subject);
    validateEvent(event);
    return this.publishEncoded(subject, event, encodeEvent(event));
  }

  /** Publishes an already validated event to `subject` (which may differ from its eventType, as for DLQ records). */
  publishEncoded(subject: string, event: DomainEvent, payload: Uint8Array, msgId = event.eventId): Promise<PublishResult> {
    return inPublishSpan(subject, event, () => this.send(subject, event, payload, msgId));
  }

  private async send(subject: string, event: DomainEvent, payload: Uint8Array, msgId: string): Promise<PublishResult> {
    const deadline = Date.now() + this.config.publishTimeoutMs;
    // Connected: no await before the publish, so a burst of publishes shares socket writes.
    const target = this.connectedTarget() ?? (await this.reconnectedTarget(subject, deadline));
    const maxPayload = target.nc.info?.max_payload ?? Number.POSITIVE_INFINITY;
    if (payload.length > maxPayload) throw new PayloadTooLargeError(payload.length, maxPayload, subject);
    const stream = this.streamOf(subject);
    const h = messageHeaders(event, stream === undefined ? undefined : msgId);
    if (stream === undefined) {
      if (!isCoreSubject(this.config.coreSubjects, subject)) throw new NoStreamError(subject);
      target.nc.publish(subject, payload, { headers: h });
      this.metrics.counter(this.metrics.published, 'core', 'sent').inc();
      return { eventId: event.eventId, duplicate: false };
    }
    const startedAt = performance.now();
    for (;;) {
      try {
        const ack = await publishToStream(target.mux, subject, payload, h, Math.max(1, deadline - Date.now()));
        const metrics = this.streamMetrics(ack.stream);
        (ack.duplicate ? metrics.duplicate : metrics.stored).inc();
        metrics.seconds.observe((performance.now() - startedAt) / 1000);
        return { eventId: event.eventId, stream: ack.stream, seq: ack.seq, duplicate: ack.duplicate };
      } catch (err) {
        // JetStream answers "no responders" while it recovers after a restart or elects a leader:
        // try again with the same Nats-Msg-Id (a duplicate is stored once) until the deadline.
        if (isNoResponders(err) && deadline - Date.now() > RETRY_PAUSE_MS) {
          await new Promise((resolve) => setTimeout(resolve, RETRY_PAUSE_MS));
          continue;
        }
        this.metrics.counter(this.metrics.published, stream.name, 'failed').inc();
        throw mapPublishError(subject, stream.name, err);
      }
    }
  }

  // Label lookups cost on every publish: keep each stream's metric children.
  private streamMetrics(stream: string): StreamMetrics {
    let children = this.outcomes.get(stream);
    if (children === undefined) {
      const { metrics } = this;
      children = {
        stored: metrics.counter(metrics.published, stream, 'stored'),
        duplicate: metrics.counter(metrics.published, stream, 'duplicate'),
        seconds: metrics.publishSeconds.labels(stream),
      };
      this.outcomes.set(stream, children);
    }
    return children;
  }

  // Routing is asked on every publish and event subjects are few: remember the answers.
  private streamOf(subject: string): StreamSpec | undefined {
    if (this.routes.has(subject)) return this.routes.get(subject);
    if (this.routes.size >= MAX_CACHED_ROUTES) this.routes.clear();
    const stream = streamFor(this.streams, subject);
    this.routes.set(subject, stream);
    return stream;
  }

  private connectedTarget(): PublishTarget | undefined {
    const target = this.target();
    return target?.connected === true && !target.nc.isClosed() ? target : undefined;
  }

  /** In `buffer` mode waits (until the deadline) for a dropped connection to come back. */
  private async reconnectedTarget(subject: string, deadline: number): Promise<PublishTarget> {
    const target = this.target();
    if (target === undefined || target.nc.isClosed()) throw new NotConnectedError();
    if (this.config.whenDisconnected === 'fail') {
      throw new NotConnectedError('NATS connection is down and whenDisconnected is "fail"');
    }
    // Waiting here rather than letting nats.js buffer the request: a request buffered across a
    // reconnect can lose its reply and only time out.
    if (!(await target.untilConnected(deadline - Date.now()))) {
      throw new PublishError(subject, `the NATS connection did not come back within ${this.config.publishTimeoutMs} ms`);
    }
    return target;
  }
}

const RETRY_PAUSE_MS = 100;

/** "No responders": JetStream recovers or elects a leader (or the stream is gone); not a timeout. */
function isNoResponders(err: unknown): boolean {
  return isNoAnswer(err) && !isTimeout(err);
}

function isTimeout(err: unknown): boolean {
  return err instanceof errors.TimeoutError || (err instanceof Error && err.cause instanceof errors.TimeoutError);
}

/** Turns the client's publish errors into ours, keeping the original as `cause`. */
function mapPublishError(subject: string, stream: string, err: unknown): Error {
  const denied = asPermissionError(err);
  if (denied !== undefined) return denied;
  if (isTimeout(err)) {
    return new PublishError(subject, 'no acknowledgement before the timeout; the event may or may not be stored, publish it again with the same eventId', { cause: err });
  }
  if (isNoResponders(err)) {
    return new PublishError(subject, `stream ${stream} does not answer (missing, or JetStream unavailable)`, { cause: err });
  }
  return new PublishError(subject, err instanceof Error ? err.message : String(err), { cause: err });
}
