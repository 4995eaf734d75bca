/**
 * Prometheus metrics of one client. Labels stay bounded: subscriptions are labelled by their
 * subscribed pattern, never by a concrete subject (token streams would explode cardinality).
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';

/** The metrics a client records; expose `registry` on a `/metrics` endpoint. */
export class ClientMetrics {
  readonly registry: Registry;
  readonly published: Counter<'stream' | 'outcome'>;
  readonly consumed: Counter<'subscription' | 'outcome'>;
  readonly handlerSeconds: Histogram<'subscription'>;
  readonly deadLettered: Counter<'consumer' | 'reason'>;
  readonly inFlight: Gauge<'subscription'>;
  readonly connectionEvents: Counter<'type'>;

  private readonly children = new Map<Counter<string>, Map<string, { inc(): void }>>();

  /**
   * The counter child for these label values, looked up once: label hashing on every message
   * is measurable on the hot path.
   */
  counter(counter: Counter<string>, ...labels: string[]): { inc(): void } {
    let byLabels = this.children.get(counter);
    if (byLabels === undefined) {
      byLabels = new Map();
      this.children.set(counter, byLabels);
    }
    const key = labels.join('\u0000');
    let child = byLabels.get(key);
    if (child === undefined) {
      child = counter.labels(...labels);
      byLabels.set(key, child);
    }
    return child;
  }

  constructor(service: string, registry?: Registry) {
    this.registry = registry ?? new Registry();
    if (registry === undefined) this.registry.setDefaultLabels({ service });
    const registers = [this.registry];
    this.published = new Counter({
      name: 'eventbus_published_total',
      help: 'Events published, by stream (or "core") and outcome.',
      labelNames: ['stream', 'outcome'],
      registers,
    });
    this.consumed = new Counter({
      name: 'eventbus_consumed_total',
      help: 'Deliveries handled, by subscription pattern and outcome (acked, retried, duplicate, dead_lettered, failed).',
      labelNames: ['subscription', 'outcome'],
      registers,
    });
    this.handlerSeconds = new Histogram({
      name: 'eventbus_handler_duration_seconds',
      help: 'Handler run time.',
      labelNames: ['subscription'],
      buckets: [0.001, 0.005, 0.025, 0.1, 0.5, 1, 5, 30, 120, 600],
      registers,
    });
    this.deadLettered = new Counter({
      name: 'eventbus_dead_lettered_total',
      help: 'DLQ records written, by consumer and reason.',
      labelNames: ['consumer', 'reason'],
      registers,
    });
    this.inFlight = new Gauge({
      name: 'eventbus_handlers_in_flight',
      help: 'Handlers running now.',
      labelNames: ['subscription'],
      registers,
    });
    this.connectionEvents = new Counter({
      name: 'eventbus_connection_events_total',
      help: 'Connection status changes (disconnect, reconnect, ...).',
      labelNames: ['type'],
      registers,
    });
  }
}
