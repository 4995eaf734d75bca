/**
 * The subscription side of one client: turns `subscribe()` calls into a durable (or broadcast)
 * JetStream consumer with its delivery pipeline, or a core queue subscription for subjects no
 * stream stores; runs the shared DLQ advisory watcher; tracks what is running for `health()`
 * and `close()`.
 */
import type { DomainEvent } from '@multi-agent/events';
import { assertSubjectToken } from '@multi-agent/events';
import { randomUUID } from 'node:crypto';
import type { NatsConfig } from './config.js';
import type { BusConnection } from './connection.js';
import { CoreSubscription } from './core-subscription.js';
import { DeadLetterWriter } from './dead-letter.js';
import { DEAD_LETTER_WATCHER, deadLetterWatcher } from './dead-letter-watcher.js';
import { AttemptLedger } from './attempt-ledger.js';
import { EventDelivery, serverMaxDeliver } from './delivery.js';
import type { EventHandler, SubscribeOptions, Subscription } from './handler.js';
import type { IdempotencyStore } from './idempotency/store.js';
import { JetStreamSubscription } from './jetstream-subscription.js';
import type { ConsumerSpec } from './jetstream-subscription.js';
import type { Logger } from './logger.js';
import type { ClientMetrics, ConsumerLag } from './metrics.js';
import type { EventPublisher } from './publisher.js';
import { AdvisorySubjects, StreamNames, streamFor } from './topology.js';
import type { StreamSpec } from './topology.js';

/** What the subscriber needs from the client, once connected. */
export interface SubscriberDeps {
  connection: BusConnection;
  config: NatsConfig;
  serviceName: string;
  streams: readonly StreamSpec[];
  publisher: EventPublisher;
  /** Undefined when the client runs without an idempotency store. */
  store: IdempotencyStore | undefined;
  logger: Logger;
  metrics: ClientMetrics;
  /** How long a stop waits for handlers in flight (ms). */
  stopTimeoutMs: number;
}

/** The durable consumer of the DLQ watcher every client runs. */
export const DEAD_LETTER_WATCHER_SPEC: Readonly<ConsumerSpec> = {
  stream: StreamNames.ADVISORIES,
  durableName: DEAD_LETTER_WATCHER,
  filterSubject: AdvisorySubjects.MAX_DELIVERIES,
  ackWaitMs: 30_000,
  // An advisory must never be dropped: retry until the DLQ write succeeds.
  maxDeliver: -1,
  deliverPolicy: 'all',
  description: 'service=eventbus dead-letter watcher',
  concurrency: 4,
};

/** A durable name derived from service and subject, so replicas of a service share one consumer. */
export function deriveDurableName(service: string, subject: string): string {
  const slug = subject.replace(/\./g, '_').replace(/\*/g, 'any').replace(/>/g, 'all');
  return assertSubjectToken(`${service}-${slug}`.slice(0, 128), 'durableName');
}

/** Server versions before 2.10 ignore `term(reason)` and redeliver. */
function supportsTermReason(version: string | undefined): boolean {
  const [major = 0, minor = 0] = (version ?? '0.0').split('.').map(Number);
  return major > 2 || (major === 2 && minor >= 10);
}

/** Runs the subscriptions of one connected client. */
export class Subscriber {
  private readonly running = new Set<Subscription>();
  /** The stream of each durable subscription, for its backlog. */
  private readonly durables = new Map<Subscription, string>();
  private watcher: JetStreamSubscription | undefined;
  private readonly ledger: AttemptLedger;

  constructor(private readonly deps: SubscriberDeps) {
    this.ledger = new AttemptLedger(deps.connection.js, deps.config.replicas);
  }

  /** The subscriptions the caller has not stopped. */
  get subscriptions(): readonly Subscription[] {
    return [...this.running];
  }

  /** Starts a subscription; see `NatsClient.subscribe`. */
  async subscribe(
    subject: string,
    handler: EventHandler<DomainEvent>,
    durableName: string | undefined,
    options: SubscribeOptions,
  ): Promise<Subscription> {
    const stream = streamFor(this.deps.streams, subject);
    const subscription =
      stream === undefined
        ? await this.subscribeCore(subject, handler, durableName, options)
        : await this.subscribeJetStream(stream, subject, handler, durableName, options);
    this.running.add(subscription);
    if (stream !== undefined && subscription.kind === 'durable') this.durables.set(subscription, stream.name);
    // A subscription the caller stops leaves health() and is not stopped again by close().
    const stop = subscription.stop.bind(subscription);
    subscription.stop = async () => {
      this.running.delete(subscription);
      this.durables.delete(subscription);
      await stop();
    };
    return subscription;
  }

  /** The backlog of each durable consumer this client runs, read from the server. */
  async consumerLag(): Promise<ConsumerLag[]> {
    const { jsm } = this.deps.connection;
    return Promise.all(
      [...this.durables].map(async ([subscription, stream]) => {
        const info = await jsm.consumers.info(stream, subscription.consumer);
        return {
          stream,
          consumer: subscription.consumer,
          pending: info.num_pending,
          ackPending: info.num_ack_pending,
          redelivered: info.num_redelivered,
        };
      }),
    );
  }

  /**
   * Starts the durable consumer, shared by every client, that turns MAX_DELIVERIES advisories
   * into DLQ records for events whose process died while handling them.
   */
  async startDeadLetterWatcher(): Promise<void> {
    const { connection, publisher, metrics, logger, stopTimeoutMs } = this.deps;
    const writer = new DeadLetterWriter(publisher, metrics);
    this.watcher = new JetStreamSubscription(
      connection.js,
      connection.jsm,
      { ...DEAD_LETTER_WATCHER_SPEC, lookupOnly: !this.deps.config.provision },
      deadLetterWatcher(connection.jsm, writer, logger, this.ledger),
      { stopTimeoutMs, logger, subject: AdvisorySubjects.MAX_DELIVERIES },
    );
    await this.watcher.start();
  }

  /** Stops every subscription and the watcher, waiting (bounded) for handlers in flight. */
  async stopAll(): Promise<void> {
    const all = [...this.running, ...(this.watcher === undefined ? [] : [this.watcher])];
    this.running.clear();
    this.durables.clear();
    this.watcher = undefined;
    await Promise.all(all.map((s) => s.stop()));
  }

  private async subscribeCore(
    subject: string,
    handler: EventHandler<DomainEvent>,
    durableName: string | undefined,
    options: SubscribeOptions,
  ): Promise<Subscription> {
    const { connection, publisher, logger, metrics, serviceName, config, stopTimeoutMs } = this.deps;
    const subscription = new CoreSubscription(
      handler,
      {
        subject,
        ...(options.broadcast === true ? {} : { queue: durableName ?? serviceName }),
        concurrency: options.concurrency ?? config.concurrency,
        stopTimeoutMs,
      },
      { nc: connection.nc, publishCausedBy: (e, cause) => publisher.publishCausedBy(e, cause), logger, metrics },
    );
    try {
      await subscription.confirm();
    } catch (err) {
      await subscription.stop();
      throw err;
    }
    return subscription;
  }

  private async subscribeJetStream(
    stream: StreamSpec,
    subject: string,
    handler: EventHandler<DomainEvent>,
    durableName: string | undefined,
    options: SubscribeOptions,
  ): Promise<Subscription> {
    const { connection, publisher, logger, metrics, serviceName, config, store, stopTimeoutMs } = this.deps;
    const broadcast = options.broadcast === true;
    const durable = broadcast ? undefined : (durableName ?? deriveDurableName(serviceName, subject));
    // A broadcast consumer is ephemeral; its idempotency scope and DLQ subject need a stable label.
    const consumerLabel = durable ?? `${serviceName}-broadcast-${randomUUID().slice(0, 8)}`;
    const ackWaitMs = options.ackWaitMs ?? config.ackWaitMs;
    const maxAttempts = options.maxDeliverAttempts ?? config.maxDeliverAttempts;
    const useStore = options.idempotency === false ? undefined : store;
    const delivery = new EventDelivery(
      handler,
      {
        service: serviceName,
        consumer: consumerLabel,
        subscription: subject,
        stream: stream.name,
        maxAttempts,
        retryBackoffMs: options.retryBackoffMs ?? config.retryBackoffMs,
        handlerTimeoutMs: options.handlerTimeoutMs ?? config.handlerTimeoutMs,
        ackWaitMs,
        ...(useStore === undefined ? {} : { store: useStore }),
        // A failing DLQ reader must not feed the DLQ.
        ...(stream.name === StreamNames.DLQ ? {} : { deadLetters: new DeadLetterWriter(publisher, metrics) }),
        termWithReason: supportsTermReason(connection.nc.info?.version),
        ledger: this.ledger,
      },
      { publishCausedBy: (e, cause) => publisher.publishCausedBy(e, cause), logger, metrics },
    );
    const engine = new JetStreamSubscription(
      connection.js,
      connection.jsm,
      {
        stream: stream.name,
        // A broadcast consumer is named too: its filter then travels in the create subject, where
        // NATS permissions can limit it.
        ...(durable === undefined ? { ephemeralName: consumerLabel } : { durableName: durable }),
        filterSubject: subject,
        ackWaitMs,
        maxDeliver: serverMaxDeliver(maxAttempts),
        deliverPolicy: options.deliverPolicy ?? (broadcast ? 'new' : 'all'),
        description: `service=${serviceName}`,
        concurrency: options.concurrency ?? config.concurrency,
        lookupOnly: !config.provision,
      },
      delivery.process,
      { onHeartbeat: delivery.onHeartbeat, onStopped: delivery.flushAcks, isCrashSuspect: delivery.isCrashSuspect, stopTimeoutMs, logger, subject },
    );
    await engine.start();
    return engine;
  }
}
