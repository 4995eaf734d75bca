/**
 * Deferred leases of the KV idempotency store (`idempotency.deferLeases`): a first delivery of a
 * fresh event only reads its key, and the completion is its one KV write. These tests pin the
 * cost (writes counted on the bucket's stream), the lease written at the first keep-alive tick
 * of a long handler, the store's answers for every state of a key, and the one window this
 * opens: a copy of the event published under another `Nats-Msg-Id` while the first runs.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { headers } from '@nats-io/nats-core';
import { Kvm } from '@nats-io/kv';
import type { KV } from '@nats-io/kv';
import { NatsServer } from '@multi-agent/testing';
import type { DomainEvent } from '@multi-agent/events';
import { ClientErrorCodes, KvIdempotencyStore, errorCode, idempotencyKey } from '../src/index.js';
import type { NatsClient } from '../src/index.js';
import { clientPool, testEvent, uniqueToken, waitFor } from './support.js';

const BUCKET = 'IDEMPOTENCY';
const ACK_WAIT_MS = 1500; // keep-alive ticks every 500 ms
let server: NatsServer;
const pool = clientPool();

beforeAll(async () => {
  server = await NatsServer.start();
});

afterAll(async () => {
  await pool.closeAll();
  await server.stop();
});

/** A client with the KV store and deferred leases; its error logs are kept in `errors`. */
async function deferringClient(errors: Record<string, unknown>[] = [], ackWaitMs = ACK_WAIT_MS): Promise<NatsClient> {
  const logger = pino({ level: 'error' }, { write: (line: string) => void errors.push(JSON.parse(line) as Record<string, unknown>) });
  return pool.client(server.url, 'deferred', { ackWaitMs, idempotency: { store: 'kv', ttlMs: 60_000, deferLeases: true } }, { logger });
}

async function bucket(c: NatsClient): Promise<KV> {
  return new Kvm(c.jetstream.js).open(BUCKET);
}

/** Writes to the bucket so far: every KV write is one message of its stream. */
async function kvWrites(c: NatsClient): Promise<number> {
  return (await c.jetstream.jsm.streams.info(`KV_${BUCKET}`)).state.last_seq;
}

/** The key's stored record, as the store wrote it. */
async function record(kv: KV, consumer: string, eventId: string): Promise<{ state: string } | undefined> {
  const entry = await kv.get(idempotencyKey(consumer, eventId).replace(':', '.'));
  return entry === null || entry.operation !== 'PUT' ? undefined : entry.json<{ state: string }>();
}

async function settled(c: NatsClient, durable: string): Promise<void> {
  await waitFor(async () => {
    const info = await c.jetstream.jsm.consumers.info('EVENTS', durable);
    return info.num_pending === 0 && info.num_ack_pending === 0;
  }, 15_000, `consumer ${durable} to ack everything`);
}

/** Stores a second copy of `event` under another `Nats-Msg-Id`, which the stream does not deduplicate. */
async function publishCopy(c: NatsClient, event: DomainEvent): Promise<void> {
  const h = headers();
  h.set('Nats-Msg-Id', uniqueToken('copy'));
  await c.jetstream.js.publish(event.eventType, JSON.stringify(event), { headers: h });
}

describe('deferred leases (KV store)', () => {
  it('handles each fresh event with one KV write, its completion', async () => {
    const ns = uniqueToken();
    const durable = `one-${ns}`;
    const c = await deferringClient();
    const kv = await bucket(c);
    const events = Array.from({ length: 50 }, () => testEvent(`vector.${ns}.job`));
    const runs: string[] = [];
    await Promise.all(events.map((e) => c.publish(e)));
    const before = await kvWrites(c);
    await c.subscribe(`vector.${ns}.*`, (e) => void runs.push(e.eventId), durable);
    await settled(c, durable);
    expect(runs.sort()).toEqual(events.map((e) => e.eventId).sort());
    expect((await kvWrites(c)) - before).toBe(events.length);
    for (const e of events) expect((await record(kv, durable, e.eventId))?.state).toBe('done');
  });

  it('writes the lease at the first keep-alive tick of a long handler; a copy delivered meanwhile waits for it and is skipped', async () => {
    const ns = uniqueToken();
    const durable = `long-${ns}`;
    const c = await deferringClient();
    const kv = await bucket(c);
    const event = testEvent(`vector.${ns}.job`);
    const runs: string[] = [];
    let finish!: () => void;
    const finished = new Promise<void>((resolve) => (finish = resolve));
    await c.subscribe(`vector.${ns}.*`, async (e) => {
      runs.push(e.eventId);
      await finished;
    }, durable);
    await c.publish(event);
    await waitFor(async () => (await record(kv, durable, event.eventId))?.state === 'lease', 5_000, 'the lease written by a keep-alive tick');
    // The copy's claim finds the live lease: it is held (not run) until the first delivery ends.
    await publishCopy(c, event);
    await waitFor(async () => (await c.jetstream.jsm.consumers.info('EVENTS', durable)).num_ack_pending === 2, 5_000, 'the copy delivered');
    expect(runs).toEqual([event.eventId]);
    finish();
    await settled(c, durable);
    expect(runs).toEqual([event.eventId]);
    expect((await record(kv, durable, event.eventId))?.state).toBe('done');
  });

  it('the window it opens: a copy under another Nats-Msg-Id, stored while the first runs without a lease, runs too, and the twin is logged', async () => {
    const ns = uniqueToken();
    const durable = `twin-${ns}`;
    const errors: Record<string, unknown>[] = [];
    // Keep-alive ticks every 10 s: both runs start and end between two of them, so neither
    // writes a lease before the other claims (a tick in between would fail the test, not hang it).
    const c = await deferringClient(errors, 30_000);
    const event = testEvent(`vector.${ns}.job`);
    const runs: string[] = [];
    let copyRan!: () => void;
    const bothRunning = new Promise<void>((resolve) => {
      copyRan = resolve;
      setTimeout(resolve, 5_000).unref();
    });
    await c.subscribe(`vector.${ns}.*`, async (e) => {
      runs.push(e.eventId);
      if (runs.length === 2) copyRan();
      await bothRunning;
    }, durable);
    await c.publish(event);
    await publishCopy(c, event);
    await settled(c, durable);
    // The copy took the writing claim (its Nats-Msg-Id is not the eventId) while the first
    // delivery held only a deferred lease: both ran. Producers that set Nats-Msg-Id = eventId
    // (this client, the only one NATS permissions admit) cannot make such a copy.
    expect(runs).toEqual([event.eventId, event.eventId]);
    await waitFor(() => errors.some((line) => (line.err as { code?: string } | undefined)?.code === ClientErrorCodes.TWIN_DELIVERY), 5_000, 'the twin logged');
  });

  it('without deferLeases the same copy waits for the lease and is skipped', async () => {
    const ns = uniqueToken();
    const durable = `strict-${ns}`;
    const c = await pool.client(server.url, 'strict', { ackWaitMs: ACK_WAIT_MS, idempotency: { store: 'kv', ttlMs: 60_000 } });
    const kv = await bucket(c);
    const event = testEvent(`vector.${ns}.job`);
    const runs: string[] = [];
    let finish!: () => void;
    const finished = new Promise<void>((resolve) => (finish = resolve));
    await c.subscribe(`vector.${ns}.*`, async (e) => {
      runs.push(e.eventId);
      await finished;
    }, durable);
    await c.publish(event);
    await waitFor(async () => (await record(kv, durable, event.eventId))?.state === 'lease', 5_000, 'the lease written by the claim');
    await publishCopy(c, event);
    await waitFor(async () => (await c.jetstream.jsm.consumers.info('EVENTS', durable)).num_ack_pending === 2, 5_000, 'the copy delivered');
    finish();
    await settled(c, durable);
    expect(runs).toEqual([event.eventId]);
  });
});

describe('KvIdempotencyStore.claim with deferLease', () => {
  it('reads without writing for an absent key, and answers completed, busy or a takeover for the others', async () => {
    const c = await pool.client(server.url, 'store');
    const store = await KvIdempotencyStore.open(c.natsConnection, { ttlMs: 60_000 });
    const key = (): string => idempotencyKey('store-test', uniqueToken());

    const fresh = key();
    const before = await kvWrites(c);
    const deferred = await store.claim(fresh, 1000, { deferLease: true });
    expect(deferred).toMatchObject({ status: 'claimed', lease: { deferred: true } });
    expect(await kvWrites(c)).toBe(before);
    if (deferred.status !== 'claimed') throw new Error('unreachable');
    await store.complete(deferred.lease);
    expect(await kvWrites(c)).toBe(before + 1);
    expect((await store.claim(fresh, 1000, { deferLease: true })).status).toBe('completed');

    const held = key();
    const live = await store.claim(held, 60_000);
    expect(live.status).toBe('claimed');
    expect((await store.claim(held, 1000, { deferLease: true })).status).toBe('busy');

    // An expired lease (its holder crashed) is taken over with a written lease, not deferred.
    const expired = key();
    expect((await store.claim(expired, 1)).status).toBe('claimed');
    await waitFor(async () => {
      const takeover = await store.claim(expired, 60_000, { deferLease: true });
      return takeover.status === 'claimed' && takeover.lease.deferred !== true;
    }, 2_000, 'the 1 ms lease to expire and be taken over');
  });

  it('a deferred lease that extend wrote completes normally; one whose key a twin wrote fails with TWIN_DELIVERY', async () => {
    const c = await pool.client(server.url, 'store');
    const store = await KvIdempotencyStore.open(c.natsConnection, { ttlMs: 60_000 });
    const extended = idempotencyKey('store-test', uniqueToken());
    const first = await store.claim(extended, 1000, { deferLease: true });
    if (first.status !== 'claimed') throw new Error(`expected a claim, got ${first.status}`);
    expect(await store.extend(first.lease, 60_000)).toBe(true);
    expect(first.lease.deferred).toBe(false);
    expect((await store.claim(extended, 1000, { deferLease: true })).status).toBe('busy');
    await store.complete(first.lease);
    expect((await store.claim(extended, 1000)).status).toBe('completed');

    const raced = idempotencyKey('store-test', uniqueToken());
    const deferred = await store.claim(raced, 1000, { deferLease: true });
    const twin = await store.claim(raced, 60_000);
    if (deferred.status !== 'claimed' || twin.status !== 'claimed') throw new Error('expected two claims');
    const err = await store.complete(deferred.lease).then(() => undefined, (e: unknown) => e);
    expect(errorCode(err)).toBe(ClientErrorCodes.TWIN_DELIVERY);
  });
});
