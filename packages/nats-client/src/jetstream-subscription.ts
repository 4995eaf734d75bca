/**
 * The JetStream subscription engine: owns one pull consumer, fetches only as many messages as
 * it has free handler slots (so nothing waits un-heartbeated in a client buffer and the work
 * spreads across instances), keeps every held message alive with `working()`, recreates the
 * consumer when the server lost it, and stops gracefully. What a message *means* is the
 * processor's business (the event delivery pipeline, or the DLQ advisory watcher).
 */
import { AckPolicy, DeliverPolicy, JetStreamApiCodes, JetStreamApiError } from '@nats-io/jetstream';
import type { Consumer, ConsumerConfig, ConsumerMessages, JetStreamClient, JetStreamManager, JsMsg } from '@nats-io/jetstream';
// The pull's status error class is exported only through the internal entry point.
import { JetStreamStatusError } from '@nats-io/jetstream/internal';
import { nanos } from '@nats-io/nats-core';
import { ConfigError } from './errors.js';
import { withApiRetry } from './jetstream-api.js';
import type { Subscription } from './handler.js';
import type { Logger } from './logger.js';

/** The consumer a subscription runs on. */
export interface ConsumerSpec {
  stream: string;
  /** Durable name; undefined for an ephemeral consumer. */
  durableName?: string;
  filterSubject: string;
  ackWaitMs: number;
  maxDeliver: number;
  deliverPolicy: 'all' | 'new' | 'last';
  /** Stored on the consumer so tools (and the DLQ watcher) can tell which service runs it. */
  description: string;
  concurrency: number;
}

/** Handles one message; must settle it (ack/nak/term) before resolving. */
export type MessageProcessor = (msg: JsMsg, signal: AbortSignal) => Promise<void>;

/** Engine options beyond the consumer spec. */
export interface EngineOptions {
  /** Called for each held message on every keep-alive tick, after `working()`. */
  onHeartbeat?: (msg: JsMsg) => void;
  /** Called once `stop()` has let the handlers finish (to flush batched acks). */
  onStopped?: () => void;
  /** How long `stop()` waits for handlers in flight. */
  stopTimeoutMs: number;
  logger: Logger;
  /** The subscribed pattern, for logs and metrics. */
  subject: string;
}

const FETCH_EXPIRES_MS = 5000;
const MAX_ERROR_BACKOFF_MS = 5000;
const EPHEMERAL_INACTIVE_MS = 60_000;
// Consumer setup on a cluster can go unanswered while a replica group forms or elects.
const SETUP_TIMEOUT_MS = 30_000;

const deliverPolicies = { all: DeliverPolicy.All, new: DeliverPolicy.New, last: DeliverPolicy.Last } as const;

function isNotFound(err: unknown): boolean {
  return (
    err instanceof JetStreamApiError &&
    (err.code === JetStreamApiCodes.ConsumerNotFound || err.code === JetStreamApiCodes.StreamNotFound)
  );
}

/**
 * The consumer is gone: not found, or deleted under a running pull. A deleted consumer reaches
 * a pull only as status 409 with the description "consumer deleted"; the server sends no other
 * code for it (409 also means limits and leadership changes), so this one check reads the text,
 * as nats.js itself does.
 */
function isConsumerGone(err: unknown): boolean {
  return isNotFound(err) || (err instanceof JetStreamStatusError && err.code === 409 && err.message.toLowerCase() === 'consumer deleted');
}

/** A pull-consumer subscription with bounded concurrency. */
export class JetStreamSubscription implements Subscription {
  readonly kind: 'durable' | 'ephemeral';
  private consumerName: string;
  private pullConsumer: Consumer | undefined;
  private fetching: ConsumerMessages | undefined;
  private readonly held = new Set<JsMsg>();
  private readonly slotWaiters: (() => void)[] = [];
  private readonly abort = new AbortController();
  private stopping = false;
  private loopDone: Promise<void> = Promise.resolve();
  private heartbeat: NodeJS.Timeout | undefined;
  private wakeBackoff: (() => void) | undefined;

  constructor(
    private readonly js: JetStreamClient,
    private readonly jsm: JetStreamManager,
    private readonly spec: ConsumerSpec,
    private readonly process: MessageProcessor,
    private readonly options: EngineOptions,
  ) {
    this.kind = spec.durableName === undefined ? 'ephemeral' : 'durable';
    this.consumerName = spec.durableName ?? '';
  }

  get subject(): string {
    return this.options.subject;
  }

  /** Durable or server-assigned ephemeral consumer name. */
  get consumer(): string {
    return this.consumerName;
  }

  /** Creates (or checks) the consumer and starts fetching. */
  async start(): Promise<void> {
    await this.ensureConsumer();
    const period = Math.max(250, Math.floor(this.spec.ackWaitMs / 3));
    this.heartbeat = setInterval(() => this.keepAlive(), period);
    this.heartbeat.unref();
    this.loopDone = this.fetchLoop();
  }

  /** Messages held right now (being handled). */
  get inFlight(): number {
    return this.held.size;
  }

  async stop(): Promise<void> {
    if (this.stopping) return this.loopDone;
    this.stopping = true;
    this.wakeBackoff?.();
    for (const wake of this.slotWaiters.splice(0)) wake();
    this.fetching?.stop();
    await this.loopDone;
    const drained = await this.waitForIdle(this.options.stopTimeoutMs);
    if (!drained) {
      this.options.logger.warn(
        { subject: this.subject, consumer: this.consumerName, inFlight: this.held.size },
        'stop timed out with handlers still running; their events stay unacked and will be redelivered',
      );
      this.abort.abort(new Error('subscription stopped'));
    }
    clearInterval(this.heartbeat);
    this.options.onStopped?.();
  }

  private async ensureConsumer(): Promise<Consumer> {
    const { spec } = this;
    const config: Partial<ConsumerConfig> = {
      ack_policy: AckPolicy.Explicit,
      ack_wait: nanos(spec.ackWaitMs),
      max_deliver: spec.maxDeliver,
      filter_subject: spec.filterSubject,
      deliver_policy: deliverPolicies[spec.deliverPolicy],
      // One outstanding message keeps strict order across every instance.
      max_ack_pending: spec.concurrency === 1 ? 1 : Math.max(1000, spec.concurrency * 4),
      description: spec.description,
    };
    if (spec.durableName !== undefined) {
      const durable = spec.durableName;
      const existing = await withApiRetry(`consumer info ${durable}`, SETUP_TIMEOUT_MS, () =>
        this.jsm.consumers.info(spec.stream, durable).catch((err: unknown) => {
          if (isNotFound(err)) return undefined;
          throw err;
        }),
      );
      if (existing !== undefined && existing.config.filter_subject !== spec.filterSubject) {
        throw new ConfigError(
          'durableName',
          `consumer "${spec.durableName}" on stream ${spec.stream} already filters "${existing.config.filter_subject ?? '>'}", not "${spec.filterSubject}"; use another durable name`,
        );
      }
      await withApiRetry(`create consumer ${durable}`, SETUP_TIMEOUT_MS, () =>
        this.jsm.consumers.add(spec.stream, { ...config, durable_name: durable }),
      );
    } else {
      const info = await withApiRetry(`create consumer on ${spec.stream}`, SETUP_TIMEOUT_MS, () =>
        this.jsm.consumers.add(spec.stream, { ...config, inactive_threshold: nanos(EPHEMERAL_INACTIVE_MS) }),
      );
      this.consumerName = info.name;
    }
    const name = this.consumerName;
    this.pullConsumer = await withApiRetry(`consumer ${name}`, SETUP_TIMEOUT_MS, () => this.js.consumers.get(spec.stream, name));
    return this.pullConsumer;
  }

  private async fetchLoop(): Promise<void> {
    let errorBackoff = 100;
    while (!this.stopping) {
      await this.waitForSlot();
      if (this.stopping) break;
      try {
        const consumer = this.pullConsumer ?? (await this.ensureConsumer());
        const free = this.spec.concurrency - this.held.size;
        this.fetching = await consumer.fetch({ max_messages: free, expires: FETCH_EXPIRES_MS });
        // stop() may have run while the fetch was being set up: do not wait for it to expire.
        if (this.stopping) this.fetching.stop();
        for await (const msg of this.fetching) {
          // Arrived after stop() began: hand it back at once instead of starting a handler
          // whose ack might not leave before the connection closes.
          if (this.stopping) msg.nak();
          else this.dispatch(msg);
        }
        errorBackoff = 100;
      } catch (err) {
        if (this.stopping) break;
        if (isConsumerGone(err)) this.pullConsumer = undefined;
        this.options.logger.warn({ err, subject: this.subject, consumer: this.consumerName }, 'fetch failed; retrying');
        await this.sleep(errorBackoff);
        errorBackoff = Math.min(errorBackoff * 2, MAX_ERROR_BACKOFF_MS);
      } finally {
        this.fetching = undefined;
      }
    }
  }

  private dispatch(msg: JsMsg): void {
    this.held.add(msg);
    this.process(msg, this.abort.signal)
      .catch((err: unknown) => {
        // The processor settles messages itself; reaching here is a bug, so leave the message to redelivery.
        this.options.logger.error({ err, subject: msg.subject, seq: msg.seq }, 'message processor failed');
      })
      .finally(() => {
        this.held.delete(msg);
        this.slotWaiters.shift()?.();
      });
  }

  private keepAlive(): void {
    for (const msg of this.held) {
      msg.working();
      this.options.onHeartbeat?.(msg);
    }
  }

  private waitForSlot(): Promise<void> {
    if (this.held.size < this.spec.concurrency) return Promise.resolve();
    return new Promise((resolve) => this.slotWaiters.push(resolve));
  }

  private async waitForIdle(timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (this.held.size > 0) {
      const remaining = deadline - Date.now();
      if (remaining <= 0) return false;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, remaining);
        this.slotWaiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    return true;
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.wakeBackoff = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }
}
