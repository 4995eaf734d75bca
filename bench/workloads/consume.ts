/**
 * Workload 2: consume throughput with a handler that does nothing. Each round pre-fills one
 * subject with N events (untimed), then every side drains those same N events through its own
 * durable consumer on that subject. A drain is timed from creating the consumer to the moment
 * the server has every ack (nothing pending, nothing unacked).
 *
 * Ours: `subscribe(subject, handler, durable, { concurrency: C })` with (a) no idempotency,
 * (b) the in-memory store, (c) the JetStream KV store, (d) the Redis store.
 * Raw: `consumer.consume({ max_messages: C })` + `msg.ack()`.
 */
import { StreamNames } from '@multi-agent/nats-client';
import type { NatsClient, SubscribeOptions } from '@multi-agent/nats-client';
import type { JetStreamManager } from '@nats-io/jetstream';
import { Redis } from 'ioredis';
import { Countdown, alternate, compare, metric, windowed, within } from '../harness.js';
import type { BenchContext, ResultRow, Side } from '../harness.js';
import {
  REDIS_URL,
  addRawConsumer,
  deleteConsumer,
  eventData,
  eventSubject,
  openClient,
  token,
  waitForAcked,
  withClients,
  withServer,
} from '../fixtures.js';
import { WINDOW } from './publish.js';

/** Our `concurrency` option and the raw `max_messages`: handlers in flight / messages buffered. */
export const CONCURRENCY = 64;

/** Pre-fills `subject` with `count` events through our publisher (untimed). */
export async function prefill(client: NatsClient, subject: string, count: number): Promise<void> {
  await windowed(count, WINDOW, (i) => client.publish({ eventType: subject, data: eventData(i) }));
}

/** Drains `count` events through our durable subscription; resolves with events/s. */
export async function drainOurs(
  client: NatsClient,
  subject: string,
  durable: string,
  count: number,
  options: SubscribeOptions,
): Promise<number> {
  const { jsm } = client.jetstream;
  const handled = new Countdown(count);
  const started = performance.now();
  const sub = await client.subscribe(subject, async () => handled.tick(), durable, { concurrency: CONCURRENCY, ...options });
  try {
    await within(300_000, `draining ${durable}`, handled.done);
    await waitForAcked(jsm, StreamNames.EVENTS, durable);
    return count / ((performance.now() - started) / 1000);
  } finally {
    await sub.stop();
    await deleteConsumer(jsm, StreamNames.EVENTS, durable);
  }
}

/** Drains `count` events with a raw pull consumer; resolves with events/s. */
export async function drainRaw(client: NatsClient, subject: string, durable: string, count: number): Promise<number> {
  const { js, jsm } = client.jetstream;
  const started = performance.now();
  await addRawConsumer(jsm, StreamNames.EVENTS, durable, subject, CONCURRENCY);
  const consumer = await js.consumers.get(StreamNames.EVENTS, durable);
  const messages = await consumer.consume({ max_messages: CONCURRENCY });
  try {
    let seen = 0;
    await within(
      300_000,
      `draining ${durable}`,
      (async () => {
        for await (const msg of messages) {
          msg.ack();
          if (++seen === count) break;
        }
      })(),
    );
    await waitForAcked(jsm, StreamNames.EVENTS, durable);
    return count / ((performance.now() - started) / 1000);
  } finally {
    messages.stop();
    await deleteConsumer(jsm, StreamNames.EVENTS, durable);
  }
}

/** Deletes the Redis idempotency keys this run wrote (the store's prefix is `idem:`, our durables start with `bench-<runId>`). */
async function cleanRedisKeys(runId: string): Promise<void> {
  const redis = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1 });
  await redis.connect();
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `idem:bench-${runId}*`, 'COUNT', 1000);
      if (keys.length > 0) await redis.del(...keys);
      cursor = next;
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}

export async function consumeWorkload(ctx: BenchContext): Promise<ResultRow[]> {
  const count = ctx.quick ? 2000 : 20_000;
  const plan = ctx.quick ? { rounds: 1, warmup: 1 } : { rounds: 9, warmup: 1 };
  ctx.log(`2 consume: ${count} events per round, concurrency / max_messages ${CONCURRENCY}`);
  const idem = { ttlMs: 10 * 60_000 };

  try {
    return await withServer((server) =>
      withClients(
        async () => ({
          memory: await openClient(server, { idempotency: { store: 'memory', maxEntries: 100_000, ...idem } }),
          kv: await openClient(server, { idempotency: { store: 'kv', maxEntries: 100_000, ...idem } }),
          redis: await openClient(server, { idempotency: { store: 'redis', redisUrl: REDIS_URL, maxEntries: 100_000, ...idem } }),
        }),
        async (clients) => {
          const { jsm } = clients.memory.jetstream;
          const subjectOf = (round: number): string => eventSubject(ctx.runId, `con${round}`);
          const durable = (side: string, round: number): string => `bench-${token(ctx.runId, `${side}${round}`)}`;
          let filled = -1;
          // Each round's subject is filled once, by whichever side runs first in that round.
          const ensureFilled = async (round: number): Promise<void> => {
            if (filled === round) return;
            if (filled >= 0) await purge(jsm, subjectOf(filled));
            await prefill(clients.memory, subjectOf(round), count);
            filled = round;
          };
          const ours = (name: string, client: NatsClient, options: SubscribeOptions): Side => ({
            name,
            run: async (round) => {
              await ensureFilled(round);
              return { rate: await drainOurs(client, subjectOf(round), durable(name, round), count, options) };
            },
          });
          const sides: Side[] = [
            {
              name: 'raw',
              run: async (round) => {
                await ensureFilled(round);
                return { rate: await drainRaw(clients.memory, subjectOf(round), durable('raw', round), count) };
              },
            },
            ours('none', clients.memory, { idempotency: false }),
            ours('memory', clients.memory, {}),
            ours('kv', clients.kv, {}),
            ours('redis', clients.redis, {}),
          ];
          const samples = await alternate(ctx, 'consume', sides, plan);
          const raw = { label: `consume() + ack(), max_messages ${CONCURRENCY}`, samples: metric(samples, 'raw', 'rate') };
          const row = (side: string, label: string, target?: number): ResultRow =>
            compare({
              workload: '2 consume',
              metric: `drain ${count.toLocaleString('en-US')} events, no-op handler, concurrency ${CONCURRENCY}`,
              unit: 'events/s',
              better: 'higher',
              ours: { label, samples: metric(samples, side, 'rate') },
              baseline: raw,
              target: target === undefined ? undefined : { min: target },
            });
          return [
            row('none', 'subscribe, idempotency off', 0.85),
            row('memory', 'subscribe, memory store', 0.8),
            row('kv', 'subscribe, KV store', 0.35),
            row('redis', 'subscribe, Redis store', 0.5),
          ];
        },
      ),
    );
  } finally {
    await cleanRedisKeys(ctx.runId);
  }
}

async function purge(jsm: JetStreamManager, subject: string): Promise<void> {
  await jsm.streams.purge(StreamNames.EVENTS, { filter: subject });
}
