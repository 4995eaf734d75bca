/**
 * The universal pub/sub scenarios R1-R10 (issue 4), on real nats-server processes. Each scenario
 * works in its own subject namespace and checks its outcome by reading the stream, the consumer
 * state and the DLQ back from the server.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { DomainEvent } from '@multi-agent/events';
import { EventHeaders } from '@multi-agent/events';
import type { NatsClient, Subscription } from '@multi-agent/nats-client';
import { NatsServer } from '@multi-agent/testing';
import { ClientPool, Collector, deferred, delay, scaled, scaledTimeout, testEvent, uniqueToken, waitFor, within } from './support/env.js';
import { auditEvents, consumer, deadLettersOf, publishUntilAcked, waitSettled } from './support/read-back.js';

let server: NatsServer;
const pool = new ClientPool();

beforeAll(async () => {
  server = await NatsServer.start();
});

afterEach(async () => {
  await pool.closeAll();
});

afterAll(async () => {
  await pool.closeAll();
  await server?.stop();
});

/** Publishes `events` from `publishers` concurrent loops (round-robin split), each awaiting every ack. */
async function publishConcurrently(clients: NatsClient[], events: DomainEvent[], publishers: number): Promise<void> {
  await Promise.all(
    Array.from({ length: publishers }, async (_, p) => {
      const client = clients[p % clients.length]!;
      for (let i = p; i < events.length; i += publishers) await client.publish(events[i]!);
    }),
  );
}

function countBy<T>(items: T[], key: (item: T) => string): Map<string, number> {
  const out = new Map<string, number>();
  for (const item of items) out.set(key(item), (out.get(key(item)) ?? 0) + 1);
  return out;
}

describe('universal pub/sub scenarios', () => {
  it('R1 publish 100 events before subscribing; all 100 arrive with their data and headers', async () => {
    const ns = uniqueToken('r1');
    const n = scaled(100);
    const publisher = await pool.open(server.url);
    const sent = Array.from({ length: n }, (_, i) =>
      testEvent(`vector.${ns}.upserted`, { i, text: `payload ${i}`, nested: { list: [i, i + 1] } }, { correlationId: `corr-${i}`, causationId: `cause-${i}` }),
    );
    for (const event of sent) await publisher.publish(event);

    const subscriber = await pool.open(server.url);
    const got = new Collector<DomainEvent>();
    const sub = await subscriber.subscribe(`vector.${ns}.>`, (e) => got.push(e));
    await got.waitFor(n);
    await waitSettled(subscriber, sub.consumer);

    expect(got.items).toHaveLength(n);
    const byId = new Map(got.items.map((e) => [e.eventId, e]));
    for (const e of sent) {
      const received = byId.get(e.eventId);
      expect(received, `event ${e.eventId}`).toBeDefined();
      expect(received!.data).toEqual(e.data);
      expect(received!.timestamp.getTime()).toBe(e.timestamp.getTime());
      expect(received).toMatchObject({ eventType: e.eventType, version: '1.0', correlationId: e.correlationId, causationId: e.causationId });
    }

    const audit = await auditEvents(subscriber, `vector.${ns}.>`);
    expect(audit.count).toBe(n);
    expect(audit.duplicates.size).toBe(0);
    const sentById = new Map(sent.map((e) => [e.eventId, e]));
    for (const m of audit.messages) {
      const e = sentById.get(m.msgId ?? '');
      expect(e, `stored message ${m.seq}`).toBeDefined();
      expect(m.headers).toMatchObject({
        [EventHeaders.MSG_ID]: e!.eventId,
        [EventHeaders.EVENT_TYPE]: e!.eventType,
        [EventHeaders.EVENT_VERSION]: '1.0',
        [EventHeaders.CORRELATION_ID]: e!.correlationId,
        [EventHeaders.CAUSATION_ID]: e!.causationId,
        [EventHeaders.CONTENT_TYPE]: 'application/json',
      });
    }
  });

  it('R2 50 concurrent publishers send 5,000 events; 10 instances sharing one durable receive every event exactly once in total', async () => {
    const ns = uniqueToken('r2');
    const n = scaled(5000);
    const durable = `r2-${ns}`;
    const service = `r2svc-${ns}`;
    const handled: { instance: number; eventId: string }[] = [];
    const instances = await Promise.all(Array.from({ length: 10 }, () => pool.open(server.url, service)));
    const subs = await Promise.all(
      instances.map((c, instance) => c.subscribe(`vector.${ns}.*`, (e) => void handled.push({ instance, eventId: e.eventId }), durable)),
    );
    const publishers = await Promise.all(Array.from({ length: 50 }, () => pool.open(server.url, undefined, {}, { deadLetterWatcher: false })));
    const events = Array.from({ length: n }, (_, i) => testEvent(`vector.${ns}.created`, { i }));
    await publishConcurrently(publishers, events, 50);

    await waitFor(() => new Set(handled.map((h) => h.eventId)).size >= n, scaledTimeout(30_000), `${n} distinct events handled`);
    const state = await waitSettled(instances[0]!, subs[0]!.consumer);
    // 0 redelivered: the consumer delivered exactly n messages (num_redelivered is always 0 once settled).
    expect(state.info.delivered.consumer_seq).toBe(n);

    const perEvent = countBy(handled, (h) => h.eventId);
    expect(perEvent.size).toBe(n);
    expect([...perEvent.values()].filter((c) => c !== 1)).toEqual([]);
    expect(handled).toHaveLength(n);
    expect(new Set(handled.map((h) => h.instance)).size).toBeGreaterThan(1);

    const audit = await auditEvents(instances[0]!, `vector.${ns}.>`);
    expect(audit.count).toBe(n);
    expect(audit.duplicates.size).toBe(0);
    expect(audit.missing(events.map((e) => e.eventId))).toEqual([]);
  }, 60_000);

  it('R3 20 subjects each get the same 100 events concurrently; each subscription gets its own full set and nothing from the others', async () => {
    const ns = uniqueToken('r3');
    const perSubject = scaled(100);
    const subjects = Array.from({ length: 20 }, (_, k) => `vector.${ns}.s${k}`);
    const subscriber = await pool.open(server.url);
    const got = subjects.map(() => new Collector<DomainEvent>());
    const subs = await Promise.all(subjects.map((subject, k) => subscriber.subscribe(subject, (e) => got[k]!.push(e), `r3-${ns}-${k}`)));
    const publisher = await pool.open(server.url, undefined, {}, { deadLetterWatcher: false });
    // The same 100 payloads on every subject; each publish is its own event (own eventId).
    const sent = subjects.map((subject) => Array.from({ length: perSubject }, (_, i) => testEvent(subject, { i, body: `same payload ${i}` })));
    await Promise.all(sent.map(async (events) => {
      for (const e of events) await publisher.publish(e);
    }));

    await Promise.all(got.map((c) => c.waitFor(perSubject, 20_000)));
    await Promise.all(subs.map((s) => waitSettled(subscriber, s.consumer)));
    subjects.forEach((subject, k) => {
      const items = got[k]!.items;
      expect(items, subject).toHaveLength(perSubject);
      expect(new Set(items.map((e) => e.eventType))).toEqual(new Set([subject]));
      expect(new Set(items.map((e) => e.eventId))).toEqual(new Set(sent[k]!.map((e) => e.eventId)));
      expect(items.map((e) => (e.data as { i: number }).i).sort((a, b) => a - b)).toEqual(Array.from({ length: perSubject }, (_, i) => i));
    });

    const audit = await auditEvents(subscriber, `vector.${ns}.>`);
    expect(audit.count).toBe(20 * perSubject);
    expect(audit.duplicates.size).toBe(0);
    expect(countBy(audit.messages, (m) => m.subject)).toEqual(new Map(subjects.map((s) => [s, perSubject])));
  });

  it('R4 the first 2 deliveries fail; all 100 events are still handled once each', async () => {
    const ns = uniqueToken('r4');
    const n = scaled(100);
    const client = await pool.open(server.url);
    const failures: string[] = [];
    const successes: { eventId: string; attempt: number }[] = [];
    const sub = await client.subscribe(
      `vector.${ns}.*`,
      (e, ctx) => {
        if (ctx.attempt <= 2) {
          failures.push(e.eventId);
          throw new Error(`transient failure on attempt ${ctx.attempt}`);
        }
        successes.push({ eventId: e.eventId, attempt: ctx.attempt });
      },
      `r4-${ns}`,
      { maxDeliverAttempts: 3 },
    );
    const events = Array.from({ length: n }, (_, i) => testEvent(`vector.${ns}.created`, { i }));
    for (const e of events) await client.publish(e);

    await waitFor(() => successes.length >= n, 30_000, `${n} successes`);
    await waitSettled(client, sub.consumer);
    expect(successes).toHaveLength(n);
    expect(new Set(successes.map((s) => s.eventId))).toEqual(new Set(events.map((e) => e.eventId)));
    expect(successes.every((s) => s.attempt === 3)).toBe(true);
    expect(failures).toHaveLength(2 * n);
    expect(await deadLettersOf(client, sub.consumer)).toEqual([]);
  });

  it('R5 ordered subscription (concurrency 1): an unacked event blocks the next; 1,000 events keyed by 16 keys keep publish order per key', async () => {
    const ns = uniqueToken('r5');
    const client = await pool.open(server.url);

    // Part 1: the first event is held unacknowledged; the second must wait for it.
    const started: string[] = [];
    const gate = deferred();
    const blocking = await client.subscribe(
      `vector.${ns}.gate`,
      async (e) => {
        started.push(e.eventId);
        if (started.length === 1) await gate.promise;
      },
      `r5-gate-${ns}`,
      { concurrency: 1 },
    );
    const first = testEvent(`vector.${ns}.gate`, { n: 1 });
    const second = testEvent(`vector.${ns}.gate`, { n: 2 });
    await client.publish(first);
    await client.publish(second);
    await waitFor(() => started.length === 1, 10_000, 'the first event to start');
    // The server holds the second back: one unacknowledged, one pending.
    await waitFor(async () => {
      const s = await consumer(client, blocking.consumer);
      return s.numAckPending === 1 && s.numPending === 1;
    }, 10_000, 'one unacked and one pending');
    // A negative can only be observed over a window: keep it past half an ack_wait of heartbeats.
    await delay(1500);
    expect(started).toEqual([first.eventId]);
    expect(await consumer(client, blocking.consumer)).toMatchObject({ numAckPending: 1, numPending: 1, numRedelivered: 0 });
    gate.resolve();
    await waitFor(() => started.length === 2, 10_000, 'the second event after the first completed');
    expect(started).toEqual([first.eventId, second.eventId]);
    await waitSettled(client, blocking.consumer);

    // Part 2: 1,000 events on 16 keys, each key published in order by its own concurrent publisher.
    const keys = 16;
    const total = scaled(1000);
    const handled: { key: number; n: number; eventId: string }[] = [];
    const ordered = await client.subscribe(
      `vector.${ns}.keyed.*`,
      (e) => {
        const { key, n } = e.data as { key: number; n: number };
        handled.push({ key, n, eventId: e.eventId });
      },
      `r5-keyed-${ns}`,
      { concurrency: 1 },
    );
    const publisher = await pool.open(server.url, undefined, {}, { deadLetterWatcher: false });
    const perKey = Array.from({ length: keys }, (_, key) =>
      Array.from({ length: Math.floor(total / keys) + (key < total % keys ? 1 : 0) }, (_, n) => testEvent(`vector.${ns}.keyed.k${key}`, { key, n })),
    );
    await Promise.all(perKey.map(async (events) => {
      for (const e of events) await publisher.publish(e);
    }));
    await waitFor(() => handled.length >= total, scaledTimeout(60_000), `${total} ordered events`);
    await waitSettled(client, ordered.consumer);
    expect(handled).toHaveLength(total);
    for (let key = 0; key < keys; key++) {
      expect(handled.filter((h) => h.key === key).map((h) => h.n), `key ${key}`).toEqual(perKey[key]!.map((_, n) => n));
    }
    // And the whole sequence is exactly the stream's order.
    const audit = await auditEvents(client, `vector.${ns}.keyed.>`);
    expect(handled.map((h) => h.eventId)).toEqual(audit.messages.map((m) => m.msgId));
  }, 90_000);

  it('R6 a subscriber closed after each batch of reads and reopened 8 times loses no event', async () => {
    const ns = uniqueToken('r6');
    const sessions = 9; // the first and 8 reopenings
    const batch = scaled(20);
    const n = sessions * batch;
    const durable = `r6-${ns}`;
    const service = `r6svc-${ns}`;
    const publisher = await pool.open(server.url, undefined, {}, { deadLetterWatcher: false });
    const events = Array.from({ length: n }, (_, i) => testEvent(`vector.${ns}.created`, { i }));
    for (const e of events) await publisher.publish(e);

    const handled: { session: number; eventId: string }[] = [];
    // Events a session was given beyond its batch and still held (unacked) when it closed.
    const heldAtClose: { session: number; eventId: string }[] = [];
    const distinct = (): number => new Set(handled.map((h) => h.eventId)).size;
    const options = { concurrency: 4, maxDeliverAttempts: 20 };
    let released = 0;
    let client: NatsClient | undefined;
    let last: Subscription | undefined;
    for (let session = 0; session < sessions; session++) {
      client ??= await pool.open(server.url, service, {}, { stopTimeoutMs: 300 });
      const mine = (): number => handled.filter((h) => h.session === session).length;
      last = await client.subscribe(
        `vector.${ns}.*`,
        async (e, ctx) => {
          // This session reads one batch; what it was given beyond that it holds until it is closed.
          if (mine() >= batch && session < sessions - 1) {
            heldAtClose.push({ session, eventId: e.eventId });
            await new Promise((_, reject) => ctx.signal.addEventListener('abort', () => reject(new Error('closed')), { once: true }));
          }
          handled.push({ session, eventId: e.eventId });
        },
        durable,
        options,
      );
      await waitFor(() => mine() >= batch || distinct() >= n, 20_000, `session ${session} to read a batch`);
      if (session === sessions - 1) break;
      // Close only once the server handed this session more than its batch: those deliveries are held.
      await waitFor(() => heldAtClose.some((h) => h.session === session), 10_000, `session ${session} to hold a delivery beyond its batch`);
      released += (await consumer(client, durable)).numAckPending;
      // Alternate: stop only the subscription, or close the whole client.
      if (session % 2 === 0) {
        await last.stop();
      } else {
        await pool.close(client);
        client = undefined;
      }
    }
    await waitFor(() => distinct() >= n, 20_000, `all ${n} events`);
    await waitSettled(client!, last!.consumer);
    expect(distinct()).toBe(n);
    expect(handled).toHaveLength(n); // no event handled twice
    expect(countBy(handled.filter((h) => h.session < sessions - 1), (h) => String(h.session))).toEqual(
      new Map(Array.from({ length: sessions - 1 }, (_, s) => [String(s), batch])),
    );
    expect(await deadLettersOf(client!, durable)).toEqual([]);
    const audit = await auditEvents(client!, `vector.${ns}.>`);
    expect(audit.count).toBe(n);
    // Every delivery held when its session closed went to a later session, which handled it.
    expect(heldAtClose.length).toBeGreaterThanOrEqual(sessions - 1);
    expect(released).toBeGreaterThanOrEqual(sessions - 1);
    const handledIn = new Map(handled.map((h) => [h.eventId, h.session]));
    for (const h of heldAtClose) expect(handledIn.get(h.eventId), `event ${h.eventId} held by session ${h.session}`).toBeGreaterThan(h.session);
    console.info(`R6: ${released} deliveries were held unacknowledged when a session closed (${heldAtClose.length} handler runs held)`);
  }, 60_000);

  it('R7 10 subscribe-then-close cycles without reading, then a new subscriber gets all 50', async () => {
    const ns = uniqueToken('r7');
    const n = scaled(50);
    const durable = `r7-${ns}`;
    const service = `r7svc-${ns}`;
    const options = { maxDeliverAttempts: 20 };
    const publisher = await pool.open(server.url, undefined, {}, { deadLetterWatcher: false });
    const events = Array.from({ length: n }, (_, i) => testEvent(`vector.${ns}.created`, { i }));
    for (const e of events) await publisher.publish(e);

    let held = 0;
    for (let cycle = 0; cycle < 10; cycle++) {
      const throwaway = await pool.open(server.url, service, {}, { stopTimeoutMs: 200, deadLetterWatcher: false });
      // "Not reading": whatever this subscriber is given, it never finishes (never acks).
      await throwaway.subscribe(
        `vector.${ns}.*`,
        (_e, ctx) =>
          new Promise((_, reject) => {
            held += 1;
            ctx.signal.addEventListener('abort', () => reject(new Error('subscriber closed')), { once: true });
          }),
        durable,
        options,
      );
      // Even cycles close at once; odd ones once the server has handed this subscriber deliveries.
      if (cycle % 2 === 1) await waitFor(async () => (await consumer(throwaway, durable)).numAckPending > 0, 10_000, 'deliveries held');
      await pool.close(throwaway);
    }

    const final = await pool.open(server.url, service);
    const got = new Collector<{ eventId: string; attempt: number }>();
    const sub = await final.subscribe(`vector.${ns}.*`, (e, ctx) => got.push({ eventId: e.eventId, attempt: ctx.attempt }), durable, options);
    await got.waitFor(n, 30_000);
    await waitSettled(final, sub.consumer);
    expect(got.items).toHaveLength(n);
    expect(new Set(got.items.map((g) => g.eventId))).toEqual(new Set(events.map((e) => e.eventId)));
    expect(await deadLettersOf(final, durable)).toEqual([]);
    console.info(`R7: throw-away subscribers held ${held} deliveries; max attempt seen by the final subscriber: ${Math.max(...got.items.map((g) => g.attempt))}`);
  }, 60_000);

  it('R8 three throw-away subscribers fail more deliveries than there are events; the final subscriber gets all 50 within the attempt limit, or they are all in the DLQ beyond it', async () => {
    const ns = uniqueToken('r8');
    const n = scaled(50);
    const subject = `vector.${ns}.created`;
    const publisher = await pool.open(server.url, undefined, {}, { deadLetterWatcher: false });
    const events = Array.from({ length: n }, (_, i) => testEvent(subject, { i }));
    for (const e of events) await publisher.publish(e);
    const ids = new Set(events.map((e) => e.eventId));

    /** Three subscribers in turn each take every event and fail it once: 3n failed deliveries. */
    async function throwAway(durable: string, maxDeliverAttempts: number): Promise<{ failed: number; startedAt: number[] }> {
      let failedTotal = 0;
      const startedAt: number[] = [];
      for (let t = 0; t < 3; t++) {
        startedAt.push(Date.now());
        const c = await pool.open(server.url, `r8svc-${ns}`, {}, { deadLetterWatcher: false });
        const seen = new Set<string>();
        const allHeld = deferred();
        const allFailed = deferred();
        let failed = 0;
        await c.subscribe(
          subject,
          async (e) => {
            seen.add(e.eventId);
            if (seen.size >= n) allHeld.resolve();
            await within(allHeld.promise, 10_000, `subscriber ${t} to hold all ${n} events`);
            failed += 1;
            if (failed >= n) allFailed.resolve();
            throw new Error(`throw-away subscriber ${t} fails`);
          },
          durable,
          // Hold them all at once, fail each once, and keep the redelivery for the next subscriber.
          { concurrency: n, maxDeliverAttempts, retryBackoffMs: [1500] },
        );
        await within(allFailed.promise, 20_000, `subscriber ${t} to fail all ${n} events`);
        await pool.close(c);
        failedTotal += failed;
      }
      return { failed: failedTotal, startedAt };
    }

    async function finalSubscriber(durable: string, maxDeliverAttempts: number): Promise<{ got: { eventId: string; attempt: number }[]; client: NatsClient; consumerName: string }> {
      const c = await pool.open(server.url, `r8svc-${ns}`);
      const got: { eventId: string; attempt: number }[] = [];
      const sub = await c.subscribe(subject, (e, ctx) => void got.push({ eventId: e.eventId, attempt: ctx.attempt }), durable, { maxDeliverAttempts });
      return { got, client: c, consumerName: sub.consumer };
    }

    // Within the limit: 5 attempts allowed, 3 failed, so the 4th delivery succeeds.
    // Beyond it: 3 attempts allowed, all 3 failed, so every event is dead-lettered.
    const [within5, beyond3] = await Promise.all([
      (async () => {
        const { failed } = await throwAway(`r8-five-${ns}`, 5);
        const final = await finalSubscriber(`r8-five-${ns}`, 5);
        await waitFor(() => final.got.length >= n, 20_000, 'all events at the final subscriber');
        await waitSettled(final.client, final.consumerName);
        return { failed, ...final };
      })(),
      (async () => {
        const { failed, startedAt } = await throwAway(`r8-three-${ns}`, 3);
        const final = await finalSubscriber(`r8-three-${ns}`, 3);
        await waitSettled(final.client, final.consumerName);
        return { failed, startedAt, ...final };
      })(),
    ]);

    expect(within5.failed).toBe(3 * n);
    expect(within5.got).toHaveLength(n);
    expect(new Set(within5.got.map((g) => g.eventId))).toEqual(ids);
    expect(within5.got.every((g) => g.attempt === 4)).toBe(true);
    expect(await deadLettersOf(within5.client, within5.consumerName)).toEqual([]);

    expect(beyond3.failed).toBe(3 * n);
    expect(beyond3.got).toEqual([]);
    const dead = await deadLettersOf(beyond3.client, beyond3.consumerName);
    expect(dead).toHaveLength(n);
    expect(new Set(dead.map((d) => (d.event.data.originalEvent as { eventId: string }).eventId))).toEqual(ids);
    expect(dead.every((d) => d.event.data.failureCount === 3 && d.event.data.reason === 'handler-error')).toBe(true);
    // The record's lineage spans the instances: the first failure is the first subscriber's, the last the third's.
    for (const d of dead) {
      expect(Date.parse(d.event.data.firstFailureAt)).toBeLessThan(beyond3.startedAt[1]!);
      expect(Date.parse(d.event.data.lastFailureAt)).toBeGreaterThanOrEqual(beyond3.startedAt[2]!);
    }
  }, 60_000);

  it('R9 a late subscriber with a new durable receives the history (deliver-all) when asked to', async () => {
    const ns = uniqueToken('r9');
    const history = scaled(30);
    const live = 5;
    const publisher = await pool.open(server.url, undefined, {}, { deadLetterWatcher: false });
    const past = Array.from({ length: history }, (_, i) => testEvent(`vector.${ns}.created`, { i }));
    for (const e of past) await publisher.publish(e);

    const late = await pool.open(server.url);
    const all = new Collector<DomainEvent>();
    const onlyNew = new Collector<DomainEvent>();
    const broadcastNew = new Collector<DomainEvent>();
    const subAll = await late.subscribe(`vector.${ns}.*`, (e) => all.push(e), `r9-all-${ns}`, { deliverPolicy: 'all' });
    const subNew = await late.subscribe(`vector.${ns}.*`, (e) => onlyNew.push(e), `r9-new-${ns}`, { deliverPolicy: 'new' });
    const subBroadcast = await late.subscribe(`vector.${ns}.*`, (e) => broadcastNew.push(e), undefined, { broadcast: true });
    const future = Array.from({ length: live }, (_, i) => testEvent(`vector.${ns}.created`, { i: history + i }));
    for (const e of future) await publisher.publish(e);

    await all.waitFor(history + live);
    await onlyNew.waitFor(live);
    await broadcastNew.waitFor(live);
    await waitSettled(late, subAll.consumer);
    await waitSettled(late, subNew.consumer);
    await waitSettled(late, subBroadcast.consumer);
    expect(all.items.map((e) => e.eventId)).toEqual([...past, ...future].map((e) => e.eventId));
    expect(onlyNew.items.map((e) => e.eventId)).toEqual(future.map((e) => e.eventId));
    expect(broadcastNew.items.map((e) => e.eventId)).toEqual(future.map((e) => e.eventId));
  });

  it('R10 10,000 events from 100 publishers while the server is SIGKILLed and restarted twice on the same store: all received, no duplicate stored', async () => {
    const own = await NatsServer.start();
    try {
      const ns = uniqueToken('r10');
      const publishers = 100;
      const perPublisher = scaled(100);
      const n = publishers * perPublisher;
      const subscriber = await pool.open(own.url, `r10svc-${ns}`);
      const received = new Set<string>();
      let deliveries = 0;
      const sub = await subscriber.subscribe(
        `vector.${ns}.*`,
        (e) => {
          deliveries += 1;
          received.add(e.eventId);
        },
        `r10-${ns}`,
        { concurrency: 32 },
      );
      const clients = await Promise.all(Array.from({ length: publishers }, () => pool.open(own.url, undefined, {}, { deadLetterWatcher: false })));

      let acked = 0;
      let retried = 0;
      let retriedDuplicates = 0;
      const killAt = [Math.floor(n * 0.25), Math.floor(n * 0.6)];
      let kills: Promise<void> = Promise.resolve();
      const acknowledged: string[] = [];
      await Promise.all(
        clients.map(async (client, p) => {
          for (let i = 0; i < perPublisher; i++) {
            const event = testEvent(`vector.${ns}.created`, { p, i });
            const outcome = await publishUntilAcked(client, event, 90_000);
            retried += outcome.attempts - 1;
            if (outcome.attempts > 1 && outcome.result.duplicate) retriedDuplicates += 1;
            acknowledged.push(event.eventId);
            acked += 1;
            if (killAt[0] !== undefined && acked >= killAt[0]) {
              killAt.shift();
              // SIGKILL then restart on the same store, while the other publishers keep going.
              kills = kills.then(() => own.restart());
            }
          }
        }),
      );
      await kills;
      expect(killAt).toEqual([]);

      await waitFor(() => received.size >= n, scaledTimeout(60_000), `${n} distinct events received`);
      await waitSettled(subscriber, sub.consumer, 30_000);
      const audit = await auditEvents(subscriber, `vector.${ns}.>`);
      expect(audit.missing(acknowledged)).toEqual([]);
      expect(audit.count).toBe(n);
      expect(audit.duplicates.size).toBe(0);
      expect(received.size).toBe(n);
      expect(deliveries).toBe(n); // the idempotency store skipped every redelivery of a handled event
      // The kills did hit publishes in flight, and the publishers retried them until acknowledged.
      expect(retried).toBeGreaterThan(0);
      console.info(`R10: ${n} events, ${retried} publish retries (${retriedDuplicates} of them found the event already stored), ${deliveries} deliveries for ${received.size} distinct events`);
    } finally {
      await pool.closeAll();
      await own.stop();
    }
  }, 150_000);
});
