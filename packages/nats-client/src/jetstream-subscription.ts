/**
 * The JetStream subscription engine: owns one pull consumer, fetches only as many messages as
 * it has free handler slots (so nothing waits un-heartbeated in a client buffer and the work
 * spreads across instances), keeps every held message alive with `working()`, recreates the
 * consumer when the server lost it, and stops gracefully. What a message *means* is the
 * processor's business (the event delivery pipeline, or the DLQ advisory watcher).
 *
 * Crash isolation: a message the processor calls a crash suspect (redelivered because the
 * process holding it died) runs alone: the engine lets the other handlers finish, fetches
 * nothing meanwhile, and then fetches one message at a time until a clean one arrives. If the
 * suspect kills this process too, only the suspect's delivery is lost.
 */
import { AckPolicy, DeliverPolicy, JetStreamApiCodes, JetStreamApiError } from '@nats-io/jetstream';
import type { Consumer, ConsumerConfig, ConsumerMessages, JetStreamClient, JetStreamManager, JsMsg } from '@nats-io/jetstream';
// The pull's status error class is exported only through the internal entry point.
import { JetStreamStatusError } from '@nats-io/jetstream/internal';
import { nanos } from '@nats-io/nats-core';
import type { ConsumerInfo } from '@nats-io/jetstream';
import { asPermissionError, ConfigError, NotProvisionedError } from './errors.js';
import { withApiRetry } from './jetstream-api.js';
import type { Subscription } from './handler.js';
import type { Logger } from './logger.js';

/** The consumer a subscription runs on. */
export interface ConsumerSpec {
  stream: string;
  /** Durable name; undefined for an ephemeral consumer. */
  durableName?: string;
  /** Name of an ephemeral consumer (the server picks one when unset). */
  ephemeralName?: string;
  /** Only look the durable up, never create or update it (it is provisioned by an admin). */
  lookupOnly?: boolean;
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
  /** True for a message redelivered because the process that held it died; such a message runs alone. */
  isCrashSuspect?: (msg: JsMsg) => boolean | Promise<boolean>;
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

/** The server-side config of the consumer a spec describes (name aside). */
export function consumerConfig(spec: ConsumerSpec): Partial<ConsumerConfig> {
  return {
    ack_policy: AckPolicy.Explicit,
    ack_wait: nanos(spec.ackWaitMs),
    max_deliver: spec.maxDeliver,
    filter_subject: spec.filterSubject,
    deliver_policy: deliverPolicies[spec.deliverPolicy],
    // One outstanding message keeps strict order across every instance.
    max_ack_pending: spec.concurrency === 1 ? 1 : Math.max(1000, spec.concurrency * 4),
    description: spec.description,
  };
}

/** A pull-consumer subscription with bounded concurrency. */
export class JetStreamSubscription implements Subscription {
  readonly kind: 'durable' | 'ephemeral';
  private consumerName: string;
  private pullConsumer: Consumer | undefined;
  private fetching: ConsumerMessages | undefined;
  private readonly held = new Set<JsMsg>();
  // Crash suspects fetched but not started: held (kept alive) until nothing else runs.
  private readonly suspects: JsMsg[] = [];
  private running = 0;
  // Careful mode: fetch one message at a time, only when nothing is held.
  private careful = false;
  private carefulSince = 0;
  private readonly slotWaiters: (() => void)[] = [];
  // Each fetch is a pull request and an inbox subscription: under load, wait until a quarter of
  // the slots (at least one) are free and fetch for all of them, rather than one per freed slot.
  private readonly fetchWhenHeldAtMost: number;
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
    this.fetchWhenHeldAtMost = spec.concurrency - Math.max(1, Math.floor(spec.concurrency / 4));
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
    const info = await this.ensureConsumer();
    // Unacked or redelivered messages at startup may be what killed the previous process.
    if (this.options.isCrashSuspect !== undefined && (info.num_ack_pending > 0 || info.num_redelivered > 0)) this.enterCareful();
    const period = Math.max(250, Math.floor(this.spec.ackWaitMs / 3));
    this.heartbeat = setInterval(() => this.keepAlive(), period);
    this.heartbeat.unref();
    this.loopDone = this.fetchLoop();
  }

  /** Messages held right now (being handled, or crash suspects waiting to run alone). */
  get inFlight(): number {
    return this.held.size;
  }

  /** True while the subscription fetches one message at a time because crash suspects arrived. */
  get isCareful(): boolean {
    return this.careful;
  }

  async stop(): Promise<void> {
    if (this.stopping) return this.loopDone;
    this.stopping = true;
    this.wakeBackoff?.();
    this.wakeSlotWaiters();
    this.fetching?.stop();
    await this.loopDone;
    // Suspects never started: hand them back for the next session.
    for (const msg of this.suspects.splice(0)) {
      this.held.delete(msg);
      msg.nak();
    }
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

  private async ensureConsumer(): Promise<ConsumerInfo> {
    const { spec } = this;
    const config = consumerConfig(spec);
    let info: ConsumerInfo;
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
      const what = `durable consumer ${durable} on stream ${spec.stream}`;
      if (spec.lookupOnly === true) {
        if (existing === undefined) throw new NotProvisionedError(what);
        info = existing;
      } else {
        info = await withApiRetry(`create consumer ${durable}`, SETUP_TIMEOUT_MS, () =>
          this.jsm.consumers.add(spec.stream, { ...config, durable_name: durable }),
        ).catch((err: unknown) => {
          // An identity that may not create durables uses the one an admin provisioned.
          if (asPermissionError(err) === undefined) throw err;
          if (existing === undefined) throw new NotProvisionedError(what, { cause: err });
          return existing;
        });
      }
    } else {
      info = await withApiRetry(`create consumer on ${spec.stream}`, SETUP_TIMEOUT_MS, () =>
        this.jsm.consumers.add(spec.stream, {
          ...config,
          ...(spec.ephemeralName === undefined ? {} : { name: spec.ephemeralName }),
          inactive_threshold: nanos(EPHEMERAL_INACTIVE_MS),
        }),
      );
      this.consumerName = info.name;
    }
    const name = this.consumerName;
    this.pullConsumer = await withApiRetry(`consumer ${name}`, SETUP_TIMEOUT_MS, () => this.js.consumers.get(spec.stream, name));
    return info;
  }

  private async fetchLoop(): Promise<void> {
    let errorBackoff = 100;
    while (!this.stopping) {
      await this.waitForSlot();
      if (this.stopping) break;
      try {
        if (this.pullConsumer === undefined) await this.ensureConsumer();
        const consumer = this.pullConsumer;
        if (consumer === undefined) throw new Error(`consumer ${this.consumerName} was not found after its lookup`);
        const single = this.careful;
        const max = single ? 1 : this.spec.concurrency - this.held.size;
        this.fetching = await consumer.fetch({ max_messages: max, expires: FETCH_EXPIRES_MS });
        // stop() may have run while the fetch was being set up: do not wait for it to expire.
        if (this.stopping) this.fetching.stop();
        let received = 0;
        for await (const msg of this.fetching) {
          received += 1;
          // Arrived after stop() began: hand it back at once instead of starting a handler
          // whose ack might not leave before the connection closes.
          if (this.stopping) {
            msg.nak();
            continue;
          }
          const verdict = this.options.isCrashSuspect?.(msg) ?? false;
          if (verdict === false) this.dispatchClean(msg, single);
          else await this.accept(msg, verdict, single);
        }
        // Nothing came for a whole ack_wait: whatever a dead process held has been handed out by now.
        if (received === 0 && single && Date.now() - this.carefulSince >= this.spec.ackWaitMs) this.leaveCareful('no suspects left');
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

  /** A message that is no crash suspect: start it; in careful mode it ends careful mode. */
  private dispatchClean(msg: JsMsg, single: boolean): void {
    if (single && this.careful) this.leaveCareful('a clean message arrived');
    this.dispatch(msg);
  }

  /** Waits for the processor's verdict (kept alive meanwhile); queues a suspect to run alone. */
  private async accept(msg: JsMsg, verdict: true | Promise<boolean>, single: boolean): Promise<void> {
    this.held.add(msg);
    if (!(await verdict)) {
      this.dispatchClean(msg, single);
      return;
    }
    this.enterCareful();
    this.suspects.push(msg);
    this.runSuspect();
  }

  /** Starts the next crash suspect once no other handler runs. */
  private runSuspect(): void {
    if (this.running > 0 || this.stopping) return;
    const next = this.suspects.shift();
    if (next !== undefined) this.dispatch(next);
  }

  private enterCareful(): void {
    if (!this.careful) {
      this.options.logger.warn({ subject: this.subject, consumer: this.consumerName }, 'crash suspects: handling messages one at a time');
    }
    this.careful = true;
    this.carefulSince = Date.now();
  }

  private leaveCareful(why: string): void {
    this.careful = false;
    this.options.logger.info({ subject: this.subject, consumer: this.consumerName, why }, 'back to full batches');
  }

  private dispatch(msg: JsMsg): void {
    this.held.add(msg);
    this.running += 1;
    void this.run(msg);
  }

  // One async function rather than .catch().finally(): two promises and two closures fewer per message.
  private async run(msg: JsMsg): Promise<void> {
    try {
      await this.process(msg, this.abort.signal);
    } catch (err) {
      // The processor settles messages itself; reaching here is a bug, so leave the message to redelivery.
      this.options.logger.error({ err, subject: msg.subject, seq: msg.seq }, 'message processor failed');
    } finally {
      this.held.delete(msg);
      this.running -= 1;
      this.runSuspect();
      this.wakeSlotWaiters();
    }
  }

  private wakeSlotWaiters(): void {
    if (this.slotWaiters.length === 0) return;
    for (const wake of this.slotWaiters.splice(0)) wake();
  }

  private keepAlive(): void {
    for (const msg of this.held) {
      msg.working();
      this.options.onHeartbeat?.(msg);
    }
  }

  /** Resolves when a fetch may go out: a free slot, no suspect waiting, and in careful mode nothing held. */
  private async waitForSlot(): Promise<void> {
    while (!this.stopping && !this.canFetch()) await new Promise<void>((resolve) => this.slotWaiters.push(resolve));
  }

  private canFetch(): boolean {
    if (this.suspects.length > 0) return false;
    if (this.careful) return this.held.size === 0;
    return this.held.size <= this.fetchWhenHeldAtMost;
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
