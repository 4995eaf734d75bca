/**
 * Prometheus metrics of one client. Labels stay bounded: subscriptions are labelled by their
 * subscribed pattern, never by a concrete subject (token streams would explode cardinality).
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';

/** One durable consumer's backlog, as the server reports it. */
export interface ConsumerLag {
  stream: string;
  consumer: string;
  /** Stored messages not yet delivered to the consumer. */
  pending: number;
  /** Delivered and not yet acknowledged. */
  ackPending: number;
  /** Delivered more than once and not yet acknowledged. */
  redelivered: number;
}

/** Increments of one counter child, counted here until the counter is read. */
class Tally {
  private count = 0;

  constructor(private readonly child: { inc(value?: number): void }) {}

  inc(): void {
    this.count += 1;
  }

  handOver(): void {
    if (this.count === 0) return;
    this.child.inc(this.count);
    this.count = 0;
  }
}

/** Buckets (seconds) of one round trip to a server: a publish, an idempotency store call. */
const SERVER_CALL_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.1, 0.5, 1, 5];

/** The metrics a client records; expose `registry` on a `/metrics` endpoint. */
export class ClientMetrics {
  readonly registry: Registry;
  readonly published: Counter<'stream' | 'outcome'>;
  readonly consumed: Counter<'subscription' | 'outcome'>;
  readonly handlerSeconds: Histogram<'subscription'>;
  readonly deadLettered: Counter<'consumer' | 'reason'>;
  readonly inFlight: Gauge<'subscription'>;
  readonly connectionEvents: Counter<'type'>;
  readonly publishSeconds: Histogram<'stream'>;
  readonly tokenLagSeconds: Histogram;
  readonly redelivered: Counter<'subscription'>;
  readonly idempotencyStoreSeconds: Histogram<'operation'>;
  readonly idempotencyStoreErrors: Counter<'operation'>;
  readonly connected: Gauge;

  private readonly children = new Map<Counter, Map<string, { inc(): void }>>();
  // The counters created here, whose increments are tallied and handed over when they are read.
  private readonly tallied = new Set<Counter>();

  /**
   * The counter child for these label values, looked up once: label hashing on every message
   * is measurable on the hot path. On this client's own counters the child only tallies: the
   * counter takes the tally whenever it is read (a scrape, `get()`), so every read sees every
   * increment, and a message pays one addition instead of prom-client's label validation and hashing.
   */
  counter(counter: Counter, ...labels: string[]): { inc(): void } {
    let byLabels = this.children.get(counter);
    if (byLabels === undefined) {
      byLabels = new Map();
      this.children.set(counter, byLabels);
    }
    const key = labels.join('\u0000');
    let child = byLabels.get(key);
    if (child === undefined) {
      const direct = counter.labels(...labels);
      child = this.tallied.has(counter) ? new Tally(direct) : direct;
      byLabels.set(key, child);
    }
    return child;
  }

  /** Hands the tallies of one of this client's counters over to it (its `collect`, before each read). */
  private handOver(counter: Counter): void {
    for (const child of this.children.get(counter)?.values() ?? []) {
      if (child instanceof Tally) child.handOver();
    }
  }

  private lagSource: (() => Promise<ConsumerLag[]>) | undefined;
  private lagRead: Promise<ConsumerLag[]> | undefined;

  /**
   * Reports the backlog of the client's durable consumers on every scrape: read from the
   * server then, so an unscraped service costs nothing.
   */
  setConsumerLagSource(source: () => Promise<ConsumerLag[]>): void {
    this.lagSource = source;
  }

  // The three lag gauges are collected together in one scrape: they share one read.
  private consumerLag(): Promise<ConsumerLag[]> {
    if (this.lagSource === undefined) return Promise.resolve([]);
    this.lagRead ??= this.lagSource()
      // A failed read shows no series rather than failing the whole scrape.
      .catch(() => [])
      .finally(() => (this.lagRead = undefined));
    return this.lagRead;
  }

  private lagGauge(name: string, help: string, pick: (lag: ConsumerLag) => number, registers: Registry[]): Gauge<'stream' | 'consumer'> {
    const read = (): Promise<ConsumerLag[]> => this.consumerLag();
    return new Gauge({
      name,
      help,
      labelNames: ['stream', 'consumer'],
      registers,
      // prom-client calls collect with the gauge as `this`.
      async collect() {
        this.reset();
        for (const lag of await read()) this.labels(lag.stream, lag.consumer).set(pick(lag));
      },
    });
  }

  constructor(service: string, registry?: Registry) {
    this.registry = registry ?? new Registry();
    if (registry === undefined) this.registry.setDefaultLabels({ service });
    const registers = [this.registry];
    const handOver = (counter: Counter): void => this.handOver(counter);
    const counter = <L extends string>(name: string, help: string, labelNames: L[]): Counter<L> => {
      const created = new Counter({
        name,
        help,
        labelNames,
        registers,
        // prom-client calls collect with the counter as `this`, before every read.
        collect() {
          handOver(this);
        },
      });
      this.tallied.add(created);
      return created;
    };
    const histogram = <L extends string>(name: string, help: string, labelNames: L[], buckets: number[]): Histogram<L> =>
      new Histogram({ name, help, labelNames, buckets, registers });
    this.published = counter('eventbus_published_total', 'Events published, by stream (or "core") and outcome.', ['stream', 'outcome']);
    this.consumed = counter(
      'eventbus_consumed_total',
      'Deliveries handled, by subscription pattern and outcome (acked, retried, duplicate, dead_lettered, failed).',
      ['subscription', 'outcome'],
    );
    this.redelivered = counter(
      'eventbus_redelivered_total',
      'Deliveries of an event the consumer had delivered before (delivery count > 1), by subscription pattern.',
      ['subscription'],
    );
    this.handlerSeconds = histogram('eventbus_handler_duration_seconds', 'Handler run time.', ['subscription'], [0.001, 0.005, 0.025, 0.1, 0.5, 1, 5, 30, 120, 600]);
    this.deadLettered = counter('eventbus_dead_lettered_total', 'DLQ records written, by consumer and reason.', ['consumer', 'reason']);
    this.inFlight = new Gauge({ name: 'eventbus_handlers_in_flight', help: 'Handlers running now.', labelNames: ['subscription'], registers });
    this.connectionEvents = counter('eventbus_connection_events_total', 'Connection status changes (disconnect, reconnect, ...).', ['type']);
    this.connected = new Gauge({
      name: 'eventbus_connected',
      help: '1 while the client is connected to NATS, 0 before connecting, while reconnecting and after closing.',
      registers,
    });
    this.publishSeconds = histogram('eventbus_publish_duration_seconds', 'Time from publish() to the JetStream acknowledgement, by stream.', ['stream'], SERVER_CALL_BUCKETS);
    this.tokenLagSeconds = histogram(
      'eventbus_token_stream_lag_seconds',
      'Age of the tokens a reader takes from the TOKENS stream (a late or resuming reader, a gap being filled); live tokens arrive as they are published.',
      [],
      [0.01, 0.05, 0.25, 1, 5, 15, 60, 300],
    );
    this.idempotencyStoreSeconds = histogram(
      'eventbus_idempotency_store_duration_seconds',
      'Idempotency store call time, by operation (claim, extend, complete, release).',
      ['operation'],
      SERVER_CALL_BUCKETS,
    );
    this.idempotencyStoreErrors = counter(
      'eventbus_idempotency_store_errors_total',
      'Idempotency store calls that failed (store unreachable, timeout), by operation.',
      ['operation'],
    );
    this.lagGauge('eventbus_consumer_pending_messages', 'Stored messages not yet delivered to a durable consumer.', (l) => l.pending, registers);
    this.lagGauge('eventbus_consumer_ack_pending_messages', 'Messages delivered to a durable consumer and not yet acknowledged.', (l) => l.ackPending, registers);
    this.lagGauge('eventbus_consumer_redelivered_messages', 'Unacknowledged messages of a durable consumer delivered more than once.', (l) => l.redelivered, registers);
  }
}
