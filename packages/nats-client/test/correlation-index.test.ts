/**
 * The correlation index against a real server: a flow is read from the index (plus the tail the
 * indexer has not acknowledged yet), never by scanning the stream's other events.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NatsServer } from '@multi-agent/testing';
import type { JetStreamManager } from '@nats-io/jetstream';
import { ClientErrorCodes, CORRELATION_INDEXER, provisionCorrelationIndexer, StreamNames } from '../src/index.js';
import type { NatsClient } from '../src/index.js';
import { clientPool, testEvent, uniqueToken, waitFor } from './support.js';

let server: NatsServer;
const { client, closeAll } = clientPool();

beforeAll(async () => {
  server = await NatsServer.start();
});

afterAll(async () => {
  await closeAll();
  await server.stop();
});

/** Resolves once the indexer acknowledged every event stored so far. */
async function indexerCaughtUp(jsm: JetStreamManager): Promise<void> {
  await waitFor(
    async () => {
      const info = await jsm.consumers.info(StreamNames.EVENTS, CORRELATION_INDEXER);
      return info.num_pending === 0 && info.num_ack_pending === 0 ? true : undefined;
    },
    20_000,
    'the indexer to catch up',
  );
}

/** Publishes `count` events spread over `flows` other flows, many in flight. */
async function publishNoise(c: NatsClient, ns: string, count: number, flows: number): Promise<void> {
  const ids = Array.from({ length: flows }, (_, i) => `${ns}-other-${i}`);
  await Promise.all(Array.from({ length: count }, (_, i) => c.publish(testEvent(`vector.${ns}.upserted`, { i }, { correlationId: ids[i % flows]! }))));
}

/** Messages delivered to a connection (API replies included) while `read` runs. */
async function messagesDelivered(c: NatsClient, read: () => Promise<unknown>): Promise<number> {
  const before = c.natsConnection.stats().inMsgs;
  await read();
  return c.natsConnection.stats().inMsgs - before;
}

describe('correlation index', () => {
  it('reads exactly one flow in stream order, an event stored a moment ago included, without scanning the others', async () => {
    const ns = uniqueToken();
    const writer = await client(server.url);
    const indexer = await writer.startCorrelationIndexer();
    // The flow: a first event without correlationId, then events carrying its eventId, between others.
    const first = testEvent(`vector.${ns}.upserted`, { step: 0 });
    await writer.publish(first);
    await publishNoise(writer, ns, 1500, 150);
    const followers = [];
    for (let step = 1; step <= 4; step++) {
      const event = testEvent(`vector.${ns}.upserted`, { step }, { correlationId: first.eventId, causationId: first.eventId });
      followers.push(event);
      await writer.publish(event);
      await publishNoise(writer, ns, 500, 150);
    }
    await indexerCaughtUp(writer.jetstream.jsm);
    // Stored after the indexer stopped: not in the index, so only the catch-up scan can find it.
    await indexer.stop();
    const late = testEvent(`vector.${ns}.upserted`, { step: 5 }, { correlationId: first.eventId });
    await writer.publish(late);

    const reader = await client(server.url);
    let read: Awaited<ReturnType<NatsClient['readCorrelation']>> | undefined;
    const delivered = await messagesDelivered(reader, async () => {
      read = await reader.readCorrelation(first.eventId);
    });
    const flow = [first, ...followers, late].map((e) => e.eventId);
    expect(read?.events.map((s) => s.event.eventId)).toEqual(flow);
    expect(read?.events.map((s) => (s.event.data as { step: number }).step)).toEqual([0, 1, 2, 3, 4, 5]);
    expect(read).toMatchObject({ indexed: 5, scanned: 1, complete: true });
    const seqs = read?.events.map((s) => s.seq) ?? [];
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    // 3,500 other events are stored; the read saw its 6 events plus a handful of API replies.
    expect(delivered).toBeLessThan(30);
    // The same read by scanning, to show the measure would catch a scan.
    const scanning = await messagesDelivered(reader, async () => {
      for await (const _ of reader.readEvents({ correlationId: first.eventId }));
    });
    expect(scanning).toBeGreaterThan(3500);

    // Restarted, the indexer resumes where it stopped and the late event comes from the index.
    await writer.startCorrelationIndexer();
    await indexerCaughtUp(writer.jetstream.jsm);
    const again = await reader.readCorrelation(first.eventId);
    expect(again.events.map((s) => s.event.eventId)).toEqual(flow);
    expect(again).toMatchObject({ indexed: 6, scanned: 0, complete: true });
  });

  it('keeps every event when instances sharing the indexer write one flow at once', async () => {
    const ns = uniqueToken();
    const a = await client(server.url);
    const b = await client(server.url);
    await a.startCorrelationIndexer({ concurrency: 32 });
    await b.startCorrelationIndexer({ concurrency: 32 });
    const correlationId = `${ns}-busy`;
    const sent = await Promise.all(Array.from({ length: 300 }, (_, i) => a.publish(testEvent(`vector.${ns}.upserted`, { i }, { correlationId }))));
    await indexerCaughtUp(a.jetstream.jsm);
    const read = await b.readCorrelation(correlationId);
    expect(read).toMatchObject({ indexed: 300, scanned: 0 });
    expect(read.events.map((s) => s.seq)).toEqual(sent.map((r) => r.seq).sort((x, y) => (x ?? 0) - (y ?? 0)));
  });

  it('indexes an id that is no subject token under its hash, and keeps only events carrying that id', async () => {
    const ns = uniqueToken();
    const c = await client(server.url);
    await c.startCorrelationIndexer();
    const odd = `order 42.${ns} > *`;
    const mine = testEvent(`vector.${ns}.upserted`, {}, { correlationId: odd });
    await c.publish(mine);
    await c.publish(testEvent(`vector.${ns}.upserted`, {}, { correlationId: `${odd}-not` }));
    await indexerCaughtUp(c.jetstream.jsm);
    const read = await c.readCorrelation(odd);
    expect(read.events.map((s) => s.event.eventId)).toEqual([mine.eventId]);
    expect(read.indexed).toBe(1);
  });

  it('scans the stream when no indexer ever ran, and says when maxScan cut the scan short', async () => {
    const fresh = await NatsServer.start();
    try {
      const ns = uniqueToken();
      const c = await client(fresh.url);
      const target = testEvent(`vector.${ns}.upserted`, {}, { correlationId: `${ns}-flow` });
      await publishNoise(c, ns, 200, 20);
      await c.publish(target);
      expect(await c.readCorrelation(`${ns}-flow`)).toMatchObject({ indexed: 0, scanned: 201, complete: true, events: [expect.objectContaining({ seq: 201 })] });
      expect(await c.readCorrelation(`${ns}-flow`, { maxScan: 50 })).toMatchObject({ events: [], scanned: 50, complete: false });
      await c.close();
    } finally {
      await fresh.stop();
    }
  });

  it('only looks its durable up when the client does not provision: refused while missing, indexing once an admin created it', async () => {
    const fresh = await NatsServer.start();
    try {
      const ns = uniqueToken();
      const admin = await client(fresh.url, 'admin');
      const { jsm } = admin.jetstream;
      const gateway = await client(fresh.url, 'gateway', { provision: false }, { deadLetterWatcher: false });
      const refused = await gateway.startCorrelationIndexer().then(
        () => undefined,
        (err: unknown) => err,
      );
      expect(refused).toMatchObject({ code: ClientErrorCodes.NOT_PROVISIONED });
      expect(await jsm.consumers.info(StreamNames.EVENTS, CORRELATION_INDEXER).catch(() => undefined)).toBeUndefined();

      expect(await provisionCorrelationIndexer(jsm, 'gateway')).toMatchObject({ action: 'created' });
      expect(await provisionCorrelationIndexer(jsm, 'gateway')).toMatchObject({ action: 'unchanged' });
      // One consumer reads all of EVENTS.
      const consumers = [];
      for await (const c of jsm.consumers.list(StreamNames.EVENTS)) consumers.push(c);
      expect(consumers.map((c) => [c.name, c.config.filter_subject])).toEqual([[CORRELATION_INDEXER, '>']]);

      const indexer = await gateway.startCorrelationIndexer();
      const event = testEvent(`vector.${ns}.upserted`, {}, { correlationId: `${ns}-flow` });
      await admin.publish(event);
      await indexerCaughtUp(jsm);
      expect(await gateway.readCorrelation(`${ns}-flow`)).toMatchObject({ indexed: 1, scanned: 0, events: [expect.objectContaining({ seq: 1 })] });
      await indexer.stop();
    } finally {
      await fresh.stop();
    }
  });
});
