import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { NatsServer } from '@multi-agent/testing';
import type { DomainEvent } from '@multi-agent/events';
import { headers } from '@nats-io/nats-core';
import { KvIdempotencyStore, MemoryIdempotencyStore, RedisIdempotencyStore, idempotencyKey } from '../src/index.js';
import type { IdempotencyStore, NatsClient, NatsConfigInput, NatsClientOptions } from '../src/index.js';
import { connectClient, testEvent, uniqueToken, waitFor } from './support.js';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

async function redisAnswers(): Promise<boolean> {
  const r = new Redis(REDIS_URL, { lazyConnect: true, connectTimeout: 1000, maxRetriesPerRequest: 0, retryStrategy: () => null });
  try {
    await r.connect();
    return (await r.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    r.disconnect();
  }
}

const redisUp = await redisAnswers();
// On CI (.ci/run installs and starts Redis) a Redis that does not answer is a failure, not a skip.
const onCi = process.env.CI === 'true';
if (!redisUp && !onCi) console.warn(`\n!!! SKIPPING the Redis idempotency cases: no Redis answers at ${REDIS_URL} !!!\n`);

let server: NatsServer;
const clients: NatsClient[] = [];
const sharedMemory = new MemoryIdempotencyStore({ ttlMs: 60_000, maxEntries: 10_000 });

interface StoreCase {
  name: string;
  config: NatsConfigInput;
  options: NatsClientOptions;
  /** A second handle on the same store, to play a crashed lease holder. */
  open(c: NatsClient): Promise<IdempotencyStore>;
}

const cases: StoreCase[] = [
  { name: 'memory', config: {}, options: { idempotencyStore: sharedMemory }, open: () => Promise.resolve(sharedMemory) },
  {
    name: 'kv',
    config: { idempotency: { store: 'kv', ttlMs: 60_000, maxEntries: 1 } },
    options: {},
    open: (c) => KvIdempotencyStore.open(c.natsConnection, { ttlMs: 60_000 }),
  },
  {
    name: 'redis',
    config: { idempotency: { store: 'redis', ttlMs: 60_000, maxEntries: 1, redisUrl: REDIS_URL } },
    options: {},
    open: () => RedisIdempotencyStore.open({ url: REDIS_URL, ttlMs: 60_000 }),
  },
];

beforeAll(async () => {
  server = await NatsServer.start();
});

afterAll(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await server.stop();
});

/** Publishes a second stored copy of the same event (a producer retrying after the duplicate window). */
async function publishCopy(c: NatsClient, event: DomainEvent): Promise<void> {
  const h = headers();
  h.set('Nats-Msg-Id', uniqueToken('copy'));
  await c.jetstream.js.publish(event.eventType, JSON.stringify(event), { headers: h });
}

async function settled(c: NatsClient, durable: string): Promise<void> {
  await waitFor(async () => {
    const info = await c.jetstream.jsm.consumers.info('EVENTS', durable);
    return info.num_pending === 0 && info.num_ack_pending === 0;
  }, 15_000, `consumer ${durable} to ack everything`);
}

it(`Redis answers at ${REDIS_URL}, or this is not CI (where .ci/run starts one)`, () => {
  expect(redisUp || !onCi).toBe(true);
});

describe.each(cases)('idempotency with the $name store', (store) => {
  const skip = store.name === 'redis' && !redisUp && !onCi;

  async function client(service = 'idem'): Promise<NatsClient> {
    const c = await connectClient(server.url, service, { ackWaitMs: 1500, ...store.config }, store.options);
    clients.push(c);
    return c;
  }

  it.skipIf(skip)('skips and acks a duplicate delivery of the same eventId', async () => {
    const ns = uniqueToken();
    const durable = `dup-${ns}`;
    const c = await client();
    const runs: string[] = [];
    await c.subscribe(`vector.${ns}.*`, (e) => void runs.push(e.eventId), durable);
    const event = testEvent(`vector.${ns}.job`);
    await c.publish(event);
    await publishCopy(c, event);
    await settled(c, durable);
    expect(runs).toEqual([event.eventId]);
    expect((await c.jetstream.jsm.consumers.info('EVENTS', durable)).delivered.stream_seq).toBeGreaterThan(0);
  });

  it.skipIf(skip)('lets two different consumers both handle the same event', async () => {
    const ns = uniqueToken();
    const c = await client();
    const runs: string[] = [];
    await c.subscribe(`vector.${ns}.*`, () => void runs.push('billing'), `billing-${ns}`);
    await c.subscribe(`vector.${ns}.*`, () => void runs.push('audit'), `audit-${ns}`);
    await c.publish(testEvent(`vector.${ns}.job`));
    await settled(c, `billing-${ns}`);
    await settled(c, `audit-${ns}`);
    expect(runs.sort()).toEqual(['audit', 'billing']);
  });

  it.skipIf(skip)('runs the handler once when a redelivery races the first delivery on two instances', async () => {
    const ns = uniqueToken();
    const durable = `race-${ns}`;
    const a = await client('racer');
    const b = await client('racer');
    const runs: string[] = [];
    const slow = async (e: DomainEvent): Promise<void> => {
      runs.push(e.eventId);
      await new Promise((r) => setTimeout(r, 400));
    };
    await a.subscribe(`vector.${ns}.*`, slow, durable);
    await b.subscribe(`vector.${ns}.*`, slow, durable);
    const event = testEvent(`vector.${ns}.job`);
    await a.publish(event);
    await publishCopy(a, event);
    await publishCopy(b, event);
    await settled(a, durable);
    expect(runs).toEqual([event.eventId]);
  });

  it.skipIf(skip)("processes an event once a crashed holder's lease expires", async () => {
    const ns = uniqueToken();
    const durable = `lease-${ns}`;
    const c = await client();
    const crashed = await store.open(c);
    const event = testEvent(`vector.${ns}.job`);
    const claim = await crashed.claim(idempotencyKey(durable, event.eventId), 1200);
    expect(claim.status).toBe('claimed');
    const claimedAt = Date.now();
    const runs: number[] = [];
    await c.subscribe(`vector.${ns}.*`, () => void runs.push(Date.now()), durable);
    await c.publish(event);
    await waitFor(() => runs.length > 0, 15_000, 'the handler to run after the lease expired');
    await settled(c, durable);
    expect(runs).toHaveLength(1);
    expect(runs[0]! - claimedAt).toBeGreaterThanOrEqual(1100);
    if (crashed !== sharedMemory) await crashed.close();
  });
});

describe('memory store bound', () => {
  it('evicts the oldest keys beyond maxEntries and forgets completed keys after the TTL', async () => {
    const store = new MemoryIdempotencyStore({ ttlMs: 100, maxEntries: 3 });
    for (const key of ['a', 'b', 'c', 'd']) {
      const claim = await store.claim(key, 1000);
      if (claim.status === 'claimed') await store.complete(claim.lease);
    }
    expect(store.size).toBe(3);
    expect((await store.claim('a', 1000)).status).toBe('claimed');
    expect((await store.claim('d', 1000)).status).toBe('completed');
    await waitFor(async () => (await store.claim('d', 1000)).status === 'claimed', 2000, 'the TTL to pass');
  });
});
