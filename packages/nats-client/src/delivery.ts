/**
 * The event delivery pipeline for one JetStream subscription (docs/architecture.md, "From publish to ack"):
 * decode -> validate -> claim (idempotency) -> handle -> complete + ack, or on failure
 * release -> nak with backoff, until the last attempt or a non-retryable error -> DLQ + term.
 * Bad input never blocks the messages behind it: it ends acked or in the DLQ.
 *
 * It also tells crash suspects apart (a redelivery this consumer did not ask for: the process
 * holding it died) and counts handler attempts, not deliveries, in the attempt ledger, so a
 * poison event that kills its process is dead-lettered after `maxAttempts` runs of its own
 * while the events that shared its process only lose deliveries, never attempts.
 */
import { decodeEvent, validateEvent } from '@multi-agent/events';
import type { DeadLetterReason, DomainEvent } from '@multi-agent/events';
import type { JsMsg } from '@nats-io/jetstream';
import { AckBatcher } from './ack-batcher.js';
import type { AttemptLedger, AttemptRecord } from './attempt-ledger.js';
import type { DeadLetterWriter } from './dead-letter.js';
import { HandlerTimeoutError } from './errors.js';
import { publishCausedByOf } from './handler.js';
import type { EventHandler, HandlerContext } from './handler.js';
import type { ClaimResult, IdempotencyStore, Lease } from './idempotency/store.js';
import { idempotencyKey } from './idempotency/store.js';
import type { Logger } from './logger.js';
import type { ClientMetrics } from './metrics.js';
import type { PublishableEvent, PublishResult } from './publisher.js';
import { rejected } from './rejected.js';
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
  /** Where attempts of failing and crash-suspect events are counted across processes. */
  ledger?: AttemptLedger;
}

/**
 * The consumer's `max_deliver` for `maxAttempts` handler attempts. The headroom is for
 * deliveries that are not attempts (burned while a neighbour in the same process crashed,
 * handed back while a twin held the lease or the process stopped): the pipeline dead-letters
 * by attempts, and the server's limit (with its MAX_DELIVERIES advisory) is only the backstop.
 */
export function serverMaxDeliver(maxAttempts: number): number {
  return 2 * maxAttempts + 2;
}

/** What is known about an event's earlier attempts when a delivery of it starts. */
interface History {
  /** Handler runs before this delivery. */
  attempts: number;
  firstFailureAt?: Date;
  /** Redelivered without a nak from this consumer: the process that held it died. */
  suspect: boolean;
  /** The ledger holds a record to delete once the event is settled. */
  recorded: boolean;
}

const FRESH: History = { attempts: 0, suspect: false, recorded: false };

/** What the pipeline needs from the client. */
export interface DeliveryDeps {
  publishCausedBy(event: PublishableEvent, cause: DomainEvent): Promise<PublishResult>;
  logger: Logger;
  metrics: ClientMetrics;
}

const MAX_TRACKED_RETRIES = 10_000;
const BUSY_POLL_MS = 200;

/** Processes the messages of one subscription. */
export class EventDelivery {
  private readonly leases = new Map<JsMsg, Lease>();
  private readonly acks = new AckBatcher();
  private readonly handlerSeconds;
  private readonly outcomes = new Map<string, { inc(): void }>();
  // Events this process nak'd (by stream sequence): their redelivery is expected, not a crash.
  private readonly retries = new Map<number, { attempts: number; firstFailureAt?: Date }>();
  // Histories read from the ledger when the engine asked whether a redelivery is a crash suspect.
  private readonly histories = new WeakMap<JsMsg, History>();
  // `.<stream>.<consumer>.1.`: found in the reply subject of a first delivery (see isFirstDelivery).
  private firstDeliveryMarker: string | undefined;

  constructor(
    private readonly handler: EventHandler<DomainEvent>,
    private readonly settings: DeliverySettings,
    private readonly deps: DeliveryDeps,
  ) {
    this.handlerSeconds = deps.metrics.handlerSeconds.labels(settings.subscription);
  }

  /**
   * True when `msg` is a redelivery this consumer did not ask for (no nak from this process,
   * none recorded in the ledger by another instance): whoever held it died, maybe because of it.
   * Synchronous (and free) for first deliveries; reads the ledger only for redeliveries.
   */
  readonly isCrashSuspect = (msg: JsMsg): boolean | Promise<boolean> => {
    if (this.isFirstDelivery(msg) || this.retries.has(msg.info.streamSequence)) return false;
    return this.readHistory(msg).then((history) => {
      this.histories.set(msg, history);
      return history.suspect;
    });
  };

  /** Handles one message and settles it. Never throws. */
  readonly process = async (msg: JsMsg, signal: AbortSignal): Promise<void> => {
    const history = this.historyOf(msg);
    // A first delivery has the FRESH history (recognised from the reply subject, without parsing).
    if (history !== FRESH) this.deps.metrics.counter(this.deps.metrics.redelivered, this.settings.subscription).inc();
    let event: DomainEvent;
    try {
      event = decodeEvent(msg.data);
    } catch (err) {
      await this.fail(msg, err, undefined, history);
      return;
    }
    try {
      validateEvent(event);
    } catch (err) {
      // Decoded but invalid: the DLQ record keeps the event itself, not just bytes.
      await this.fail(msg, err, event, history);
      return;
    }
    const { store } = this.settings;
    // No store, no claim: not even a promise for it.
    const lease = store === undefined ? undefined : await this.claim(store, msg, event, signal, history);
    if (lease === null) return;
    if (history.suspect) {
      if (history.attempts >= this.settings.maxAttempts) {
        // Every one of its own runs ended with its process dead: do not run it again.
        if (lease !== undefined) await this.releaseLease(msg, lease);
        await this.deadLetter(msg, crashedError(history.attempts), event, history, history.attempts, 'crashed-handler');
        return;
      }
      // The suspect may kill this process: the acks of the handlers that ran before it go out
      // first (the ledger write below travels after them on the same connection and waits for
      // the server, so they are in when it returns).
      this.acks.flush();
      await this.recordAttempt(msg, event, history);
    }
    try {
      await this.runHandler(event, msg, signal, history.attempts + 1);
    } catch (err) {
      if (lease !== undefined) await this.releaseLease(msg, lease);
      await this.fail(msg, err, event, history);
      return;
    }
    if (history !== FRESH) this.forget(msg, history);
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
   * Claims the event for this delivery in `store`. Returns the lease, or `null` when the message
   * was settled here (a duplicate, or the store is down).
   */
  private async claim(store: IdempotencyStore, msg: JsMsg, event: DomainEvent, signal: AbortSignal, history: History): Promise<Lease | null> {
    const { ackWaitMs } = this.settings;
    const key = idempotencyKey(this.settings.consumer, event.eventId);
    // A live lease means a twin delivery is running: wait for it (holding this message alive)
    // rather than nak, which would spend one of this message's delivery attempts.
    const deadline = Date.now() + 2 * ackWaitMs;
    // The last error of a store that did not answer (a timeout, a lost connection, a cluster
    // electing a leader). Like a busy twin, it is waited out in place: a nak would spend one of
    // this message's delivery attempts on an outage that is not the event's fault.
    let outage: unknown;
    for (;;) {
      let claim: ClaimResult | undefined;
      try {
        claim = await store.claim(key, ackWaitMs);
        outage = undefined;
      } catch (err) {
        if (outage === undefined) this.deps.logger.warn({ err, eventId: event.eventId }, 'idempotency store unavailable; retrying the claim');
        outage = err;
      }
      if (claim?.status === 'claimed') {
        this.leases.set(msg, claim.lease);
        return claim.lease;
      }
      if (claim?.status === 'completed') {
        this.acks.ack(msg);
        this.count('duplicate');
        return null;
      }
      if (Date.now() >= deadline || signal.aborted) {
        this.expectRedelivery(msg, history.attempts, history.firstFailureAt);
        if (outage === undefined) {
          msg.nak(ackWaitMs);
          this.count('busy');
        } else {
          this.deps.logger.error({ err: outage, eventId: event.eventId }, 'idempotency store unavailable; will retry the event');
          msg.nak(retryDelay(this.settings.retryBackoffMs, msg.info.deliveryCount));
          this.count('store_error');
        }
        return null;
      }
      await new Promise((resolve) => setTimeout(resolve, BUSY_POLL_MS));
    }
  }

  private async releaseLease(msg: JsMsg, lease: Lease): Promise<void> {
    this.leases.delete(msg);
    await this.settings.store?.release(lease).catch((err: unknown) => {
      this.deps.logger.warn({ err, key: lease.key }, 'could not release idempotency lease; it expires by itself');
    });
  }

  private async runHandler(event: DomainEvent, msg: JsMsg, signal: AbortSignal, attempt: number): Promise<void> {
    const { handlerTimeoutMs } = this.settings;
    const timeout = handlerTimeoutMs > 0 ? new AbortController() : undefined;
    const ctx: HandlerContext = {
      subject: msg.subject,
      // Runs of this handler for this event, counted across processes (not server deliveries).
      attempt,
      maxAttempts: this.settings.maxAttempts,
      stream: this.settings.stream,
      streamSequence: this.streamSequenceOf(msg),
      consumer: this.settings.consumer,
      signal: timeout === undefined ? signal : AbortSignal.any([signal, timeout.signal]),
      publish: publishCausedByOf(this.deps, event),
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
  private invoke(event: DomainEvent, ctx: HandlerContext, msg: JsMsg): Promise<unknown> {
    // Not async: an async wrapper around the returned promise costs a promise and two turns per message.
    try {
      return runInConsumeSpan({ subject: msg.subject, event, consumer: this.settings.consumer, carrier: msg, isRequest: false }, async () => this.handler(event, ctx));
    } catch (err) {
      // A throwing propagator.
      return rejected(err);
    }
  }

  private async fail(msg: JsMsg, err: unknown, event: DomainEvent | undefined, history: History): Promise<void> {
    const attempt = history.attempts + 1;
    const failed: History = { ...history, firstFailureAt: history.firstFailureAt ?? new Date() };
    if (!isNonRetryable(err) && attempt < this.settings.maxAttempts) {
      this.deps.logger.warn({ err, subject: msg.subject, seq: msg.info.streamSequence, attempt, eventId: event?.eventId }, 'handler failed; will retry');
      await this.retry(msg, attempt, failed);
      this.count('retried');
      return;
    }
    await this.deadLetter(msg, err, event, failed, attempt, deadLetterReason(err));
  }

  /** Writes the DLQ record and terminates the message; on a failed write leaves it to redelivery. */
  private async deadLetter(
    msg: JsMsg,
    err: unknown,
    event: DomainEvent | undefined,
    history: History,
    attempts: number,
    reason: DeadLetterReason,
  ): Promise<void> {
    const seq = msg.info.streamSequence;
    const now = new Date();
    const log = { err, subject: msg.subject, seq, attempt: attempts, eventId: event?.eventId, reason };
    const { deadLetters } = this.settings;
    if (deadLetters === undefined) {
      this.deps.logger.error(log, 'giving up on a DLQ record: it is kept in the DLQ stream but not handled');
      this.forget(msg, history);
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
        failureCount: attempts,
        firstFailureAt: history.firstFailureAt ?? now,
        lastFailureAt: now,
      });
    } catch (writeErr) {
      // Not lost: the redelivery tries again, and the server's max_deliver is the backstop.
      this.deps.logger.error({ ...log, writeErr }, 'could not write the DLQ record; leaving the event to redelivery');
      // A crasher stays a suspect (its ledger record sends it straight back here); a failed last
      // attempt is tried once more.
      if (reason !== 'crashed-handler') this.expectRedelivery(msg, attempts - 1, history.firstFailureAt);
      msg.nak(retryDelay(this.settings.retryBackoffMs, attempts));
      this.count('retried');
      return;
    }
    this.deps.logger.error(log, 'event dead-lettered');
    this.forget(msg, history);
    this.terminate(msg, reason);
    this.count('dead_lettered');
  }

  /** Records the failed attempt (locally and in the ledger, for whichever instance gets it next) and naks. */
  private async retry(msg: JsMsg, attempts: number, history: History): Promise<void> {
    this.expectRedelivery(msg, attempts, history.firstFailureAt);
    const { ledger } = this.settings;
    if (ledger !== undefined) {
      const record: AttemptRecord = {
        attempts,
        firstFailureAt: (history.firstFailureAt ?? new Date()).toISOString(),
        nakedDelivery: msg.info.deliveryCount,
      };
      await ledger.put(this.settings.consumer, msg.info.streamSequence, record).catch((err: unknown) => {
        this.deps.logger.warn({ err, seq: msg.info.streamSequence }, 'could not record the failed attempt; another instance may count it as a crash');
      });
    }
    msg.nak(retryDelay(this.settings.retryBackoffMs, attempts));
  }

  /** Remembers that this process handed `msg` back, so its next delivery here is no crash suspect. */
  private expectRedelivery(msg: JsMsg, attempts: number, firstFailureAt: Date | undefined): void {
    const oldest = this.retries.keys().next();
    if (this.retries.size >= MAX_TRACKED_RETRIES && oldest.done !== true) this.retries.delete(oldest.value);
    this.retries.set(msg.info.streamSequence, { attempts, ...(firstFailureAt === undefined ? {} : { firstFailureAt }) });
  }

  /** What is known about the earlier attempts of the event `msg` carries. */
  private historyOf(msg: JsMsg): History {
    const read = this.histories.get(msg);
    if (read !== undefined) return read;
    if (this.retries.size > 0) {
      const local = this.retries.get(msg.info.streamSequence);
      if (local !== undefined) return { ...local, suspect: false, recorded: this.settings.ledger !== undefined };
    }
    if (this.isFirstDelivery(msg)) return FRESH;
    // Not classified by the engine (no crash guard): the deliveries are all we know.
    return { attempts: msg.info.deliveryCount - 1, suspect: false, recorded: false };
  }

  /**
   * True for a first delivery. The hot path: parsing the delivery info of every message costs
   * measurably (a split and its garbage), so the reply subject
   * (`$JS.ACK.[<domain>.<hash>.]<stream>.<consumer>.<delivered>.<seq>...`) is searched for the
   * delivered count 1 right after this consumer's name, learned from the first message.
   */
  private isFirstDelivery(msg: JsMsg): boolean {
    // nats.js's JsMsg implementation has a `reply` getter its type does not declare; without it, parse.
    const reply = (msg as { reply?: unknown }).reply;
    if (this.firstDeliveryMarker !== undefined && typeof reply === 'string' && reply.includes(this.firstDeliveryMarker)) return true;
    const { stream, consumer, deliveryCount } = msg.info;
    this.firstDeliveryMarker ??= `.${stream}.${consumer}.1.`;
    return deliveryCount <= 1;
  }

  /**
   * `msg.info.streamSequence`, read for a first delivery from the reply subject right after the
   * marker isFirstDelivery found, without parsing the delivery info (a split and its garbage).
   */
  private streamSequenceOf(msg: JsMsg): number {
    const reply = (msg as { reply?: unknown }).reply;
    const marker = this.firstDeliveryMarker;
    const at = marker !== undefined && typeof reply === 'string' ? reply.indexOf(marker) : -1;
    if (at < 0 || marker === undefined || typeof reply !== 'string') return msg.info.streamSequence;
    const start = at + marker.length;
    const end = reply.indexOf('.', start);
    const seq = Number(reply.slice(start, end === -1 ? undefined : end));
    return Number.isSafeInteger(seq) && seq > 0 ? seq : msg.info.streamSequence;
  }

  /**
   * The history of a redelivery this process did not nak. With no ledger record, the process
   * that died holding it counts as one attempt: every later run of a suspect is recorded before
   * it starts, and the server's extra deliveries may never have run (a delivery to the pending
   * pull request of a client that is gone, one lost while waiting behind another suspect).
   * When the ledger cannot be read, the deliveries are the upper bound, capped so the suspect
   * still gets one run of its own.
   */
  private async readHistory(msg: JsMsg): Promise<History> {
    const deliveries = msg.info.deliveryCount;
    const seq = msg.info.streamSequence;
    const { ledger, consumer, maxAttempts } = this.settings;
    const unrecorded: History = { attempts: 1, suspect: true, recorded: false };
    if (ledger === undefined) return unrecorded;
    let record: AttemptRecord | undefined;
    try {
      record = await ledger.get(consumer, seq);
    } catch (err) {
      this.deps.logger.warn({ err, seq }, 'attempt ledger unreadable; counting deliveries as attempts');
      return { ...unrecorded, attempts: Math.min(deliveries - 1, maxAttempts - 1) };
    }
    if (record === undefined) {
      // Written now, so the deliveries it may lose while it waits behind another suspect are
      // not mistaken for runs later.
      const first = new Date();
      await ledger.put(consumer, seq, { attempts: unrecorded.attempts, firstFailureAt: first.toISOString() }).catch((err: unknown) => {
        this.deps.logger.warn({ err, seq, consumer }, 'attempt ledger unwritable; a crash during this run is counted from deliveries');
      });
      return { ...unrecorded, firstFailureAt: first, recorded: true };
    }
    return {
      attempts: record.attempts,
      firstFailureAt: new Date(record.firstFailureAt),
      suspect: record.nakedDelivery !== deliveries - 1,
      recorded: true,
    };
  }

  /** Counts the run of a suspect before it starts: if it kills the process, the ledger still has it. */
  private async recordAttempt(msg: JsMsg, event: DomainEvent, history: History): Promise<void> {
    const { ledger } = this.settings;
    if (ledger === undefined) return;
    const first = history.firstFailureAt ?? new Date();
    await ledger
      .put(this.settings.consumer, msg.info.streamSequence, { attempts: history.attempts + 1, firstFailureAt: first.toISOString() })
      .catch((err: unknown) => {
        this.deps.logger.warn({ err, eventId: event.eventId }, 'could not record the attempt of a crash suspect; the server limit stays the backstop');
      });
  }

  /** Drops what was tracked about a settled event. */
  private forget(msg: JsMsg, history: History): void {
    const seq = msg.info.streamSequence;
    this.retries.delete(seq);
    if (!history.recorded || this.settings.ledger === undefined) return;
    this.settings.ledger.delete(this.settings.consumer, seq).catch((err: unknown) => {
      this.deps.logger.debug({ err, seq }, 'could not delete an attempt record; it expires by itself');
    });
  }

  private terminate(msg: JsMsg, reason: string): void {
    if (this.settings.termWithReason) msg.term(reason);
    else msg.term();
  }

  private count(outcome: string): void {
    // One child per outcome, kept here: the client-wide lookup joins the labels into a key each time.
    let child = this.outcomes.get(outcome);
    if (child === undefined) {
      child = this.deps.metrics.counter(this.deps.metrics.consumed, this.settings.subscription, outcome);
      this.outcomes.set(outcome, child);
    }
    child.inc();
  }
}

/** What a `crashed-handler` DLQ record reports: no error was thrown, the process died. */
function crashedError(attempts: number): Error {
  const err = new Error(`the process died while handling this event, ${attempts} times in a row; it was not run again`);
  err.name = 'ProcessDied';
  // No stack: none of ours says anything about where the handler died.
  delete err.stack;
  return err;
}
