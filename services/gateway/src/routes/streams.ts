/**
 * `GET /api/streams`: the platform streams (messages, bytes), every durable consumer (backlog,
 * redeliveries, the service that runs it, whether an instance is there) and, per service, its
 * ready state and lag.
 *
 * Liveness comes from the consumers themselves, not from the services' health ports (which the
 * gateway does not know): an instance of a service keeps a pull request open on each of its
 * durables whenever it has a free handler slot (re-issued every 5 s), and the server counts
 * them as `num_waiting`. So a durable is
 * - `alive`: at least one pull request waiting (an instance is there and has room);
 * - `busy`: none waiting but events being handled (`num_ack_pending` > 0): every instance is
 *   full, or the instances died holding events (then they are redelivered after `ack_wait`);
 * - `down`: no pull request and nothing in hand: no instance is running it.
 * A service is ready when each durable it declares exists and is alive or busy; its lag is
 * what its durables have not yet acknowledged (`num_pending` + `num_ack_pending`). Admin only.
 */
import { platformStreams } from '@multi-agent/nats-client';
import { declaredDurables, SERVICE_BUS_ACCESS } from '@multi-agent/service-kit';
import type { PlatformService } from '@multi-agent/service-kit';
import type { ConsumerInfo } from '@nats-io/jetstream';
import type { FastifyInstance } from 'fastify';
import type { GatewayContext } from '../context.js';

/** Whether a durable has a running instance (see the module comment). */
export type ConsumerLiveness = 'alive' | 'busy' | 'down';

/** One durable consumer. */
export interface ConsumerView {
  stream: string;
  name: string;
  filter: string;
  /** From the consumer's description, `service=<name>`. */
  service?: string;
  /** Stored events not yet delivered. */
  pending: number;
  /** Delivered and not yet acknowledged. */
  ackPending: number;
  /** Delivered more than once (still unacknowledged). */
  redelivered: number;
  /** Pull requests waiting: instances with a free handler slot. */
  waiting: number;
  liveness: ConsumerLiveness;
  /** Last delivery to it, when the server reports one. */
  lastActive?: string;
}

/** The liveness of a durable from its info. */
export function liveness(info: Pick<ConsumerInfo, 'num_waiting' | 'num_ack_pending'>): ConsumerLiveness {
  if (info.num_waiting > 0) return 'alive';
  return info.num_ack_pending > 0 ? 'busy' : 'down';
}

function consumerView(stream: string, info: ConsumerInfo): ConsumerView {
  const service = /(?:^|\s)service=(\S+)/.exec(info.config.description ?? '')?.[1];
  // Typed as nanoseconds, sent by the server as an ISO time (absent before the first delivery).
  const lastActive: unknown = info.delivered.last_active;
  return {
    stream,
    name: info.name,
    filter: info.config.filter_subject ?? '>',
    ...(service === undefined ? {} : { service }),
    pending: info.num_pending,
    ackPending: info.num_ack_pending,
    redelivered: info.num_redelivered,
    waiting: info.num_waiting,
    liveness: liveness(info),
    ...(typeof lastActive === 'string' ? { lastActive } : {}),
  };
}

/** Registers the streams route. */
export function registerStreamRoutes(app: FastifyInstance, ctx: GatewayContext, ready: () => boolean): void {
  app.get('/api/streams', { config: { access: 'admin' } }, async () => {
    const { jsm } = ctx.client.jetstream;
    const streams = [];
    const consumers: ConsumerView[] = [];
    for (const spec of platformStreams(ctx.client.config)) {
      const info = await jsm.streams.info(spec.name);
      streams.push({
        name: spec.name,
        subjects: info.config.subjects,
        messages: info.state.messages,
        bytes: info.state.bytes,
        firstSeq: info.state.first_seq,
        lastSeq: info.state.last_seq,
        consumerCount: info.state.consumer_count,
        ...(info.state.messages > 0 ? { lastTimestamp: info.state.last_ts } : {}),
      });
      for await (const c of jsm.consumers.list(spec.name)) {
        if (c.config.durable_name !== undefined) consumers.push(consumerView(spec.name, c));
      }
    }
    const byName = new Map(consumers.map((c) => [c.name, c]));
    const everyDurable = declaredDurables();
    const services = (Object.keys(SERVICE_BUS_ACCESS) as PlatformService[]).map((service) => {
      // Each durable once (the gateway's indexer is declared once per EVENTS subject).
      const declared = everyDurable.filter((d) => d.service === service).map((d) => d.durable);
      const durables = declared.map((name) => byName.get(name));
      const missing = declared.filter((_name, i) => durables[i] === undefined);
      const present = durables.filter((c): c is ConsumerView => c !== undefined);
      const down = present.filter((c) => c.liveness === 'down').map((c) => c.name);
      // The gateway is ready when it answers this request ready (its indexer durable is listed, with its lag).
      const isReady = service === 'gateway' ? ready() : missing.length === 0 && down.length === 0;
      return {
        service,
        ready: isReady,
        durables: declared,
        ...(missing.length === 0 ? {} : { missing }),
        ...(down.length === 0 ? {} : { down }),
        lag: present.reduce((sum, c) => sum + c.pending + c.ackPending, 0),
      };
    });
    return { streams, consumers, services };
  });
}
