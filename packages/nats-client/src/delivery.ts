/**
 * The event delivery pipeline for one JetStream subscription (docs/architecture.md, "From publish to ack"):
 * decode -> validate -> claim (idempotency) -> handle -> complete + ack, or on failure
 * release -> nak with backoff, until the last attempt or a non-retryable error -> DLQ + term.
 * Bad input never blocks the messages behind it: it ends acked or in the DLQ.
 */
import { decodeEvent, validateEvent } from '@multi-agent/events';
import type { DomainEvent } from '@multi-agent/events';
import type { JsMsg } from '@nats-io/jetstream';
import { AckBatcher } from './ack-batcher.js';
import type { DeadLetterWriter } from './dead-letter.js';
import { HandlerTimeoutError } from './errors.js';
import type { EventHandler, HandlerContext } from './handler.js';
import type { IdempotencyStore, Lease } from './idempotency/store.js';
import { idempotencyKey } from './idempotency/store.js';
import type { Logger } from './logger.js';
import type { ClientMetrics } from './metrics.js';
import type { PublishableEvent, PublishResult } from './publisher.js';
import { deadLetterReason, isNonRetryable, retryDelay } from './retry.js';
import { runInConsumeSpan } from './tracing.js';

/** Settings of one delivery pipeline. */
export interface DeliverySettings {
  service: string;
  /** Durable (or ephemeral) consumer name: the idempotency scope and the DLQ subject. */
  consumer: string;
  /** The subscribed pattern, for metrics. */
  subscription: string;
  stream: string;
  maxAttempts: number;
  retryBackoffMs: number[];
  handlerTimeoutMs: number;
  ackWaitMs: number;
  store?: IdempotencyStore;
  /** Undefined for subscriptions on the DLQ itself: a failing DLQ reader must not feed the DLQ. */
  deadLetters?: DeadLetterWriter;
  /** nats-server 2.9 ignores `term(reason)` and redelivers; only 2.10+ gets a reason. */
  termWithReason: boolean;
}

/** What the pipeline needs from the client. */
export interface DeliveryDeps {
  publishCausedBy(event: PublishableEvent, cause: DomainEvent): Promise<PublishResult>;
  logger: Logger;
  metrics: ClientMetrics;
}

const MAX_TRACKED_FAILURES = 10_000;
const BUSY_POLL_MS = 200;

/** Processes the messages of one subscription. */
export class EventDelivery {
  private readonly leases = new Map<JsMsg, Lease>();
  private readonly acks = new AckBatcher();
  private readonly handlerSeconds;
  // First failure per stream sequence, so a DLQ record can say when the trouble started.
  private readonly firstFailures = new Map<number, Date>();

  constructor(
    private readonly handler: EventHandler<DomainEvent>,
    private readonly settings: DeliverySettings,
    private readonly deps: DeliveryDeps,
  ) {
    this.handlerSeconds = deps.metrics.handlerSeconds.labels(settings.subscription);
  }

  /** Handles one message and settles it. Never throws. */
  readonly process = async (msg: JsMsg, signal: AbortSignal): Promise<void> => {
    if (msg.redelivered) this.deps.metrics.counter(this.deps.metrics.redelivered, this.settings.subscription).inc();
    let event: DomainEvent;
    try {
      event = decodeEvent(msg.data);
    } catch (err) {
      await this.fail(msg, err, undefined);
      return;
    }
    try {
      validateEvent(event);
    } catch (err) {
      // Decoded but invalid: the DLQ record keeps the event itself, not just bytes.
      await this.fail(msg, err, event);
      return;
    }
    const lease = await this.claim(msg, event, signal);
    if (lease === null) return;
    try {
      await this.runHandler(event, msg, signal);
    } catch (err) {
      if (lease !== undefined) await this.releaseLease(msg, lease);
      await this.fail(msg, err, event);
      return;
    }
    if (this.firstFailures.size > 0) this.firstFailures.delete(msg.info.streamSequence);
    if (lease !== undefined) {
      this.leases.delete(msg);
      // Completion is recorded before the ack, so a lost ack only brings a redelivery that
      // finds the completed key and is skipped: a plain (batched) ack is enough.
      await this.settings.store?.complete(lease).catch((err: unknown) => {
        // The effect happened: ack anyway; only a later duplicate of this eventId could slip through.
        this.deps.logger.error({ err, eventId: event.eventId }, 'idempotency store did not record completion');
      });
    }
    this.acks.ack(msg);
    this.count('acked');
  };

  /** Sends queued acks now; called when the subscription stops, before the connection drains. */
  readonly flushAcks = (): void => this.acks.flush();

  /** Keeps the idempotency lease of a long-running handler alive (called on each keep-alive tick). */
  readonly onHeartbeat = (msg: JsMsg): void => {
    const lease = this.leases.get(msg);
    if (lease === undefined) return;
    this.settings.store?.extend(lease, this.settings.ackWaitMs).catch((err: unknown) => {
      this.deps.logger.warn({ err, key: lease.key }, 'could not extend idempotency lease');
    });
  };

  /**
   * Claims the event for this delivery. Returns the lease, `undefined` when idempotency is
   * off, or `null` when the message was settled here (a duplicate, or the store is down).
   */
  private async claim(msg: JsMsg, event: DomainEvent, signal: AbortSignal): Promise<Lease | undefined | null> {
    const { store, ackWaitMs } = this.settings;
    if (store === undefined) return undefined;
    const key = idempotencyKey(this.settings.consumer, event.eventId);
    // A live lease means a twin delivery is running: wait for it (holding this message alive)
    // rather than nak, which would spend one of this message's delivery attempts.
    const deadline = Date.now() + 2 * ackWaitMs;
    try {
      for (;;) {
        const claim = await store.claim(key, ackWaitMs);
        if (claim.status === 'claimed') {
          this.leases.set(msg, claim.lease);
          return claim.lease;
        }
        if (claim.status === 'completed') {
          this.acks.ack(msg);
          this.count('duplicate');
          return null;
        }
        if (Date.now() >= deadline || signal.aborted) {
          msg.nak(ackWaitMs);
          this.count('busy');
          return null;
        }
        await new Promise((resolve) => setTimeout(resolve, BUSY_POLL_MS));
      }
    } catch (err) {
      this.deps.logger.error({ err, eventId: event.eventId }, 'idempotency store unavailable; will retry the event');
      msg.nak(retryDelay(this.settings.retryBackoffMs, msg.info.deliveryCount));
      this.count('store_error');
      return null;
    }
  }

  private async releaseLease(msg: JsMsg, lease: Lease): Promise<void> {
    this.leases.delete(msg);
    await this.settings.store?.release(lease).catch((err: unknown) => {
      this.deps.logger.warn({ err, key: lease.key }, 'could not release idempotency lease; it expires by itself');
    });
  }

  private async runHandler(event: DomainEvent, msg: JsMsg, signal: AbortSignal): Promise<void> {
    const { handlerTimeoutMs } = this.settings;
    const timeout = handlerTimeoutMs > 0 ? new AbortController() : undefined;
    const ctx: HandlerContext = {
      subject: msg.subject,
      // Parsed from the reply subject on first use: most handlers never ask.
      get attempt() {
        return msg.info.deliveryCount;
      },
      maxAttempts: this.settings.maxAttempts,
      stream: this.settings.stream,
      get streamSequence() {
        return msg.info.streamSequence;
      },
      consumer: this.settings.consumer,
      signal: timeout === undefined ? signal : AbortSignal.any([signal, timeout.signal]),
      publish: (next) => this.deps.publishCausedBy(next, event),
      logger: this.deps.logger,
    };
    const started = performance.now();
    const running = this.invoke(event, ctx, msg);
    try {
      if (timeout === undefined) {
        await running;
      } else {
        let timer: NodeJS.Timeout | undefined;
        const expired = new Promise<never>((_, reject) => {
          timer = setTimeout(() => {
            const err = new HandlerTimeoutError(handlerTimeoutMs);
            timeout.abort(err);
            reject(err);
          }, handlerTimeoutMs);
        });
        // A handler that ignores the signal keeps running in the background; its result is dropped.
        running.catch(() => undefined);
        try {
          await Promise.race([running, expired]);
        } finally {
          clearTimeout(timer);
        }
      }
    } finally {
      this.handlerSeconds.observe((performance.now() - started) / 1000);
    }
  }

  /** Calls the handler inside its consume span, a child of the publisher's (when tracing is set up at all). */
  private async invoke(event: DomainEvent, ctx: HandlerContext, msg: JsMsg): Promise<unknown> {
    const header = (name: string): string | undefined => msg.headers?.get(name) || undefined;
    return runInConsumeSpan({ subject: msg.subject, event, consumer: this.settings.consumer, header, isRequest: false }, async () => this.handler(event, ctx));
  }

  private async fail(msg: JsMsg, err: unknown, event: DomainEvent | undefined): Promise<void> {
    const attempt = msg.info.deliveryCount;
    const seq = msg.info.streamSequence;
    const now = new Date();
    const first = this.firstFailures.get(seq) ?? now;
    if (!this.firstFailures.has(seq)) {
      const oldest = this.firstFailures.keys().next();
      if (this.firstFailures.size >= MAX_TRACKED_FAILURES && oldest.done !== true) this.firstFailures.delete(oldest.value);
      this.firstFailures.set(seq, first);
    }
    const log = { err, subject: msg.subject, seq, attempt, eventId: event?.eventId };
    if (!isNonRetryable(err) && attempt < this.settings.maxAttempts) {
      this.deps.logger.warn(log, 'handler failed; will retry');
      msg.nak(retryDelay(this.settings.retryBackoffMs, attempt));
      this.count('retried');
      return;
    }
    this.firstFailures.delete(seq);
    const reason = deadLetterReason(err);
    const { deadLetters } = this.settings;
    if (deadLetters === undefined) {
      this.deps.logger.error({ ...log, reason }, 'giving up on a DLQ record: it is kept in the DLQ stream but not handled');
      this.terminate(msg, reason);
      this.count('failed');
      return;
    }
    try {
      await deadLetters.write({
        event,
        payload: msg.data,
        subject: msg.subject,
        stream: this.settings.stream,
        streamSequence: seq,
        consumer: this.settings.consumer,
        service: this.settings.service,
        reason,
        error: err,
        failureCount: attempt,
        firstFailureAt: first,
        lastFailureAt: now,
      });
    } catch (writeErr) {
      // Not lost: a nak'd last attempt raises a MAX_DELIVERIES advisory that the watcher dead-letters.
      this.deps.logger.error({ ...log, writeErr }, 'could not write the DLQ record; leaving the event to redelivery');
      msg.nak(retryDelay(this.settings.retryBackoffMs, attempt));
      this.count('retried');
      return;
    }
    this.deps.logger.error({ ...log, reason }, 'event dead-lettered');
    this.terminate(msg, reason);
    this.count('dead_lettered');
  }

  private terminate(msg: JsMsg, reason: string): void {
    if (this.settings.termWithReason) msg.term(reason);
    else msg.term();
  }

  private count(outcome: string): void {
    this.deps.metrics.counter(this.deps.metrics.consumed, this.settings.subscription, outcome).inc();
  }
}
