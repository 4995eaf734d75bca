/**
 * The KV idempotency store speaks the KV wire protocol itself (writes expecting a revision, direct
 * gets, delete markers) over the client's reply mux. These tests read the bucket's stream back:
 * what each operation wrote, and that every state a key can be in answers as the protocol says.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Kvm } from '@nats-io/kv';
import type { KV } from '@nats-io/kv';
import { NatsServer } from '@multi-agent/testing';
import { KvIdempotencyStore, idempotencyKey } from '../src/index.js';
import type { NatsClient } from '../src/index.js';
import { clientPool, testEvent, uniqueToken, waitFor } from './support.js';

const BUCKET = 'IDEMPOTENCY';
let server: NatsServer;
const pool = clientPool();

beforeAll(async () => {
  server = await NatsServer.start();
});

afterAll(async () => {
  await pool.closeAll();
  await server.stop();
});

/** Writes to the bucket so far: every KV write is one message of its stream. */
async function kvWrites(c: NatsClient): Promise<number> {
  return (await c.jetstream.jsm.streams.info(`KV_${BUCKET}`)).state.last_seq;
}

/** The key's stored record, read with nats.js's own KV handle. */
async function record(kv: KV, key: string): Promise<{ state: string } | undefined> {
  const entry = await kv.get(key.replace(':', '.'));
  return entry === null || entry.operation !== 'PUT' ? undefined : entry.json<{ state: string }>();
}

describe('KvIdempotencyStore', () => {
  it('writes a claim and a completion per handled event, and nothing else', async () => {
    const ns = uniqueToken();
    const durable = `cost-${ns}`;
    const c = await pool.client(server.url, 'kv-cost', { idempotency: { store: 'kv', ttlMs: 60_000 } });
    const kv = await new Kvm(c.jetstream.js).open(BUCKET);
    const events = Array.from({ length: 50 }, () => testEvent(`vector.${ns}.job`));
    await Promise.all(events.map((e) => c.publish(e)));
    const before = await kvWrites(c);
    const runs: string[] = [];
    await c.subscribe(`vector.${ns}.*`, (e) => void runs.push(e.eventId), durable);
    await waitFor(async () => {
      const info = await c.jetstream.jsm.consumers.info('EVENTS', durable);
      return info.num_pending === 0 && info.num_ack_pending === 0;
    }, 15_000, 'every event acked');
    expect(runs.sort()).toEqual(events.map((e) => e.eventId).sort());
    expect((await kvWrites(c)) - before).toBe(2 * events.length);
    for (const e of events) expect((await record(kv, idempotencyKey(durable, e.eventId)))?.state).toBe('done');
  });

  it('answers busy for a live lease, completed for a done key, and claims a released or expired one again', async () => {
    const c = await pool.client(server.url, 'kv-states');
    const store = await KvIdempotencyStore.open(c.natsConnection, { ttlMs: 60_000 });
    const kv = await new Kvm(c.jetstream.js).open(BUCKET);
    const key = (): string => idempotencyKey('store-test', uniqueToken());

    const held = key();
    const first = await store.claim(held, 60_000);
    if (first.status !== 'claimed') throw new Error(`expected a claim, got ${first.status}`);
    expect(await record(kv, held)).toMatchObject({ state: 'lease' });
    expect((await store.claim(held, 60_000)).status).toBe('busy');
    expect(await store.extend(first.lease, 60_000)).toBe(true);
    await store.complete(first.lease);
    expect(await record(kv, held)).toMatchObject({ state: 'done' });
    expect((await store.claim(held, 60_000)).status).toBe('completed');

    // A released lease leaves a delete marker: the next claim's write must expect its revision.
    const released = key();
    const lease = await store.claim(released, 60_000);
    if (lease.status !== 'claimed') throw new Error(`expected a claim, got ${lease.status}`);
    await store.release(lease.lease);
    expect(await record(kv, released)).toBeUndefined();
    expect((await store.claim(released, 60_000)).status).toBe('claimed');

    // An expired lease (its holder crashed) is taken over by a write expecting its revision.
    const expired = key();
    expect((await store.claim(expired, 1)).status).toBe('claimed');
    await waitFor(async () => (await store.claim(expired, 60_000)).status === 'claimed', 2_000, 'the 1 ms lease to expire and be taken over');
    await store.close();
  });
});
