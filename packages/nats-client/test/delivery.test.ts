import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { NatsServer } from '@multi-agent/testing';
import { EventSubjects } from '@multi-agent/events';
import type { DeadLetterEvent, DomainEvent } from '@multi-agent/events';
import { AckPolicy } from '@nats-io/jetstream';
import { headers, nanos } from '@nats-io/nats-core';
import { AttemptLedger } from '../src/attempt-ledger.js';
import { deadLetterEventId } from '../src/dead-letter.js';
import type { NatsClient } from '../src/index.js';
import { NonRetryableError, StreamNames } from '../src/index.js';
import { Collector, clientPool, testEvent, uniqueToken, waitFor } from './support.js';

let server: NatsServer;
const { client, closeAll } = clientPool();

/** Publishes bytes straight to JetStream, bypassing the client's validation (what a foreign producer could send). */
async function publishRaw(c: NatsClient, subject: string, body: string | Uint8Array, msgId: string): Promise<void> {
  const h = headers();
  h.set('Nats-Msg-Id', msgId);
  await c.jetstream.js.publish(subject, body, { headers: h });
}

/** The DLQ records of one consumer. */
async function dlqRecords(c: NatsClient, consumer: string): Promise<DeadLetterEvent[]> {
  const stored = await c.deadLetters.list(consumer);
  return stored.map((s) => ({ data: s.record }) as DeadLetterEvent);
}

/** Waits until a consumer has `count` DLQ records, and returns them. */
function awaitDlqRecords(c: NatsClient, consumer: string, count = 1): Promise<DeadLetterEvent[]> {
  return waitFor(async () => {
    const r = await dlqRecords(c, consumer);
    return r.length >= count ? r : undefined;
  }, 15_000, `${count} DLQ record(s) of ${consumer}`);
}

beforeAll(async () => {
  server = await NatsServer.start();
});

afterAll(async () => {
  await closeAll();
  await server.stop();
});

describe('retries', () => {
  it('retries a throwing handler with the configured backoff and shows the attempt number', async () => {
    const ns = uniqueToken();
    const c = await client(server.url, undefined, { retryBackoffMs: [300, 600] });
    const attempts: { attempt: number; at: number }[] = [];
    const done = new Collector<number>();
    await c.subscribe(`vector.${ns}.*`, (_e, ctx) => {
      attempts.push({ attempt: ctx.attempt, at: Date.now() });
      if (ctx.attempt < 3) throw new Error(`transient ${ctx.attempt}`);
      done.push(ctx.attempt);
    });
    await c.publish(testEvent(`vector.${ns}.job`));
    await done.waitFor(1);
    expect(attempts.map((a) => a.attempt)).toEqual([1, 2, 3]);
    expect(attempts[1]!.at - attempts[0]!.at).toBeGreaterThanOrEqual(280);
    expect(attempts[2]!.at - attempts[1]!.at).toBeGreaterThanOrEqual(580);
  });

  it("tells the handler the stored event's stream and sequence, on a first delivery and on a retry", async () => {
    const ns = uniqueToken();
    const c = await client(server.url, undefined, { retryBackoffMs: [50] });
    const seen = new Collector<{ eventId: string; attempt: number; stream: string | undefined; seq: number | undefined }>();
    await c.subscribe(`vector.${ns}.*`, (e, ctx) => {
      seen.push({ eventId: e.eventId, attempt: ctx.attempt, stream: ctx.stream, seq: ctx.streamSequence });
      if (e.data !== null && typeof e.data === 'object' && 'fail' in e.data && ctx.attempt === 1) throw new Error('once');
    });
    const first = await c.publish(testEvent(`vector.${ns}.job`));
    const retried = await c.publish(testEvent(`vector.${ns}.job`, { fail: true }));
    const runs = await seen.waitFor(3);
    expect(runs).toEqual(
      expect.arrayContaining([
        { eventId: first.eventId, attempt: 1, stream: first.stream, seq: first.seq },
        { eventId: retried.eventId, attempt: 1, stream: retried.stream, seq: retried.seq },
        { eventId: retried.eventId, attempt: 2, stream: retried.stream, seq: retried.seq },
      ]),
    );
  });

  it('dead-letters after maxDeliverAttempts with the full record, then never redelivers', async () => {
    const ns = uniqueToken();
    const durable = `dlq-${ns}`;
    const c = await client(server.url, 'failing-svc', { maxDeliverAttempts: 3 });
    const dlq = new Collector<DomainEvent>();
    await c.subscribe(`dlq.${durable}`, (e) => dlq.push(e), `watch-${ns}`);
    let calls = 0;
    await c.subscribe(
      `vector.${ns}.*`,
      () => {
        calls += 1;
        throw new TypeError('always broken');
      },
      durable,
    );
    const original = await c.publish(testEvent(`vector.${ns}.job`, { payload: 7 }, { correlationId: 'corr-9' }));
    const [record] = (await dlq.waitFor(1)) as DeadLetterEvent[];
    expect(record!.eventType).toBe(`dlq.${durable}`);
    expect(record!.eventId).toBe(deadLetterEventId('EVENTS', original.seq!));
    expect(record!.causationId).toBe(original.eventId);
    expect(record!.correlationId).toBe('corr-9');
    const d = record!.data;
    expect(d).toMatchObject({
      originalSubject: `vector.${ns}.job`,
      stream: 'EVENTS',
      streamSequence: original.seq,
      consumer: durable,
      service: 'failing-svc',
      reason: 'handler-error',
      errorClass: 'TypeError',
      errorMessage: 'always broken',
      failureCount: 3,
    });
    expect(d.originalEvent).toMatchObject({ eventId: original.eventId, data: { payload: 7 } });
    expect(d.stack).toContain('always broken');
    expect(Date.parse(d.lastFailureAt)).toBeGreaterThanOrEqual(Date.parse(d.firstFailureAt));
    const info = await waitFor(async () => {
      const i = await c.jetstream.jsm.consumers.info('EVENTS', durable);
      return i.num_ack_pending === 0 && i.num_pending === 0 ? i : undefined;
    });
    // 3 deliveries, one per attempt, and none after the DLQ record (the consumer sequence counts them all).
    expect(info.delivered.consumer_seq).toBe(3);
    expect(calls).toBe(3);
  });

  it('sends a NonRetryableError to the DLQ at once', async () => {
    const ns = uniqueToken();
    const durable = `nr-${ns}`;
    const c = await client(server.url);
    let calls = 0;
    await c.subscribe(
      `vector.${ns}.*`,
      () => {
        calls += 1;
        throw new NonRetryableError('unknown customer');
      },
      durable,
    );
    await c.publish(testEvent(`vector.${ns}.job`));
    const [record] = await awaitDlqRecords(c, durable);
    expect(record!.data).toMatchObject({ reason: 'non-retryable', failureCount: 1, errorClass: 'NonRetryableError' });
    expect(calls).toBe(1);
  });

  it('fails an attempt that exceeds handlerTimeoutMs and dead-letters it as handler-timeout', async () => {
    const ns = uniqueToken();
    const durable = `to-${ns}`;
    const c = await client(server.url);
    let sawAbort = false;
    await c.subscribe(
      `vector.${ns}.*`,
      (_e, ctx) =>
        new Promise<void>((resolve) => {
          ctx.signal.addEventListener('abort', () => {
            sawAbort = true;
            resolve();
          });
        }),
      durable,
      { handlerTimeoutMs: 200, maxDeliverAttempts: 2 },
    );
    await c.publish(testEvent(`vector.${ns}.hang`));
    const [record] = await awaitDlqRecords(c, durable);
    expect(record!.data).toMatchObject({ reason: 'handler-timeout', failureCount: 2, errorClass: 'HandlerTimeoutError' });
    expect(sawAbort).toBe(true);
  });
});

describe('bad input never blocks the events behind it', () => {
  it('dead-letters malformed JSON (raw bytes kept) and an event failing its schema, and handles the next event', async () => {
    const executionId = uniqueToken('exec');
    const durable = `bad-${executionId}`;
    const c = await client(server.url);
    const handled = new Collector<DomainEvent>();
    await c.subscribe(EventSubjects.EXECUTION_STARTED, (e) => handled.push(e), durable, { concurrency: 1, deliverPolicy: 'new' });
    await publishRaw(c, EventSubjects.EXECUTION_STARTED, '{not json', uniqueToken());
    const invalid = testEvent(EventSubjects.EXECUTION_STARTED, { executionId: 'has.dot', workflowId: 'w' });
    await publishRaw(c, EventSubjects.EXECUTION_STARTED, JSON.stringify(invalid), invalid.eventId);
    const good = await c.publish({ eventType: EventSubjects.EXECUTION_STARTED, data: { executionId, workflowId: 'w', userId: 'u' } });
    const [first] = await handled.waitFor(1);
    expect(first!.eventId).toBe(good.eventId);
    const records = await awaitDlqRecords(c, durable, 2);
    const byReason = Object.fromEntries(records.map((r) => [r.data.reason, r.data]));
    expect(Buffer.from(byReason.decode!.rawPayloadBase64!, 'base64').toString()).toBe('{not json');
    expect(byReason.decode!.failureCount).toBe(1);
    expect(byReason.validation!.originalEvent).toMatchObject({ eventId: invalid.eventId });
    expect(byReason.validation!.errorMessage).toMatch(/executionId/);
  });
});

describe('DLQ subscription and replay', () => {
  it("delivers DLQ records to the guide's subscribe('dlq.*') and replays a record exactly once", async () => {
    const ns = uniqueToken();
    const durable = `rp-${ns}`;
    const c = await client(server.url, 'replayer');
    const seenDlq = new Collector<DomainEvent>();
    await c.subscribe('dlq.*', (dlqEvent) => {
      if (dlqEvent.eventType === `dlq.${durable}`) seenDlq.push(dlqEvent);
    }, `dlq-monitor-${ns}`);
    let failing = true;
    const handled = new Collector<DomainEvent>();
    await c.subscribe(
      `vector.${ns}.*`,
      (e) => {
        if (failing) throw new NonRetryableError('downstream offline');
        handled.push(e);
      },
      durable,
    );
    const original = await c.publish(testEvent(`vector.${ns}.job`, { n: 1 }));
    await seenDlq.waitFor(1);
    const [stored] = await c.deadLetters.list(durable);
    failing = false;
    const first = await c.deadLetters.replay(stored!.dlqSequence);
    const second = await c.deadLetters.replay(stored!.dlqSequence);
    expect(first).toMatchObject({ status: 'replayed', subject: `vector.${ns}.job` });
    expect(second).toMatchObject({ status: 'already-replayed', eventId: first.eventId });
    const [replayed] = await handled.waitFor(1);
    expect(replayed!.eventId).toBe(first.eventId);
    expect(replayed!.eventId).not.toBe(original.eventId);
    expect(replayed!.causationId).toBe(original.eventId);
    expect(replayed!.data).toEqual({ n: 1 });
    const all = await c.deadLetters.replayAll(durable);
    expect(all.map((r) => r.status)).toEqual(['already-replayed']);
    const streamInfo = await c.jetstream.jsm.streams.info(StreamNames.EVENTS, { subjects_filter: `vector.${ns}.>` });
    expect(streamInfo.state.subjects?.[`vector.${ns}.job`]).toBe(2);
  });
});

describe('crash-looping poison event', () => {
  it('is dead-lettered by the client as crashed-handler after maxAttempts runs of its own, and the events behind it are handled', async () => {
    const ns = uniqueToken();
    const subject = `vector.${ns}.*`;
    const durable = `crash-${ns}`;
    const dir = mkdtempSync(join(tmpdir(), 'crash-'));
    const outFile = join(dir, 'handled.txt');
    const producer = await client(server.url, undefined, {}, { deadLetterWatcher: false });
    const poison = await producer.publish(testEvent(`vector.${ns}.job`, { poison: true }));
    const good: string[] = [];
    for (let i = 0; i < 5; i++) good.push((await producer.publish(testEvent(`vector.${ns}.job`, { i }))).eventId);
    const worker = fileURLToPath(new URL('./fixtures/crash-worker.ts', import.meta.url));
    const handledIds = (): string[] => (existsSync(outFile) ? readFileSync(outFile, 'utf8').trim().split('\n').filter(Boolean) : []);
    let crashes = 0;
    try {
      // Restart the worker like a supervisor would, until every good event behind the poison is handled.
      while (handledIds().length < good.length) {
        expect(crashes).toBeLessThan(6);
        const child = spawn(process.execPath, ['--import', 'tsx', worker], {
          env: { ...process.env, NATS_URL: server.url, SUBJECT: subject, DURABLE: durable, OUT_FILE: outFile },
          stdio: 'ignore',
        });
        const exitCode = await new Promise<number | null>((resolve) => {
          child.on('exit', (code) => resolve(code));
          const poll = setInterval(() => {
            if (handledIds().length >= good.length) {
              clearInterval(poll);
              child.kill('SIGTERM');
            }
          }, 50);
          child.on('exit', () => clearInterval(poll));
        });
        if (exitCode === 1) crashes += 1;
      }
      expect(crashes).toBe(3);
      expect(handledIds().sort()).toEqual([...good].sort());
      const records = await awaitDlqRecords(producer, durable);
      expect(records).toHaveLength(1);
      expect(records[0]!.data).toMatchObject({
        reason: 'crashed-handler',
        errorClass: 'ProcessDied',
        failureCount: 3,
        consumer: durable,
        service: 'crash-worker',
        streamSequence: poison.seq,
        originalEvent: { eventId: poison.eventId },
      });
      // Dead-lettered by the client (term), so the server never reached max_deliver.
      const state = await producer.jetstream.jsm.consumers.info(StreamNames.EVENTS, durable);
      expect(state.config.max_deliver).toBeGreaterThan(3);
      expect(state.num_ack_pending).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 90_000);

  it("the MAX_DELIVERIES advisory backstop writes exactly one DLQ record (with the attempt ledger's count and first failure), also when no watcher ran as it fired", async () => {
    const ns = uniqueToken();
    const durable = `raw-${ns}`;
    const producer = await client(server.url, undefined, {}, { deadLetterWatcher: false });
    const { jsm, js } = producer.jetstream;
    // A consumer whose process never acks (no client pipeline to count attempts): only the server's limit ends it.
    await jsm.consumers.add(StreamNames.EVENTS, {
      durable_name: durable,
      ack_policy: AckPolicy.Explicit,
      ack_wait: nanos(300),
      max_deliver: 2,
      filter_subject: `vector.${ns}.job`,
      description: 'service=raw-worker',
    });
    const poison = await producer.publish(testEvent(`vector.${ns}.job`, { poison: true }));
    // What a pipeline that counted one attempt before losing track of the event left in the ledger.
    const ledger = new AttemptLedger(js, 1);
    const firstFailureAt = '2026-01-01T00:00:00.000Z';
    await ledger.put(durable, poison.seq!, { attempts: 1, firstFailureAt });
    const raw = await js.consumers.get(StreamNames.EVENTS, durable);
    for (let delivery = 1; delivery <= 2; delivery++) {
      const msg = await waitFor(async () => (await raw.next({ expires: 1000 })) ?? undefined, 10_000, `delivery ${delivery}`);
      expect(msg.info.deliveryCount).toBe(delivery);
    }
    // The server gives up (and advises) when it would deliver a third time: nothing comes.
    expect(await raw.next({ expires: 1500 })).toBeNull();
    const watcher = await client(server.url, 'late-watcher');
    const records = await awaitDlqRecords(watcher, durable);
    expect(records).toHaveLength(1);
    expect(records[0]!.data).toMatchObject({
      reason: 'max-deliveries',
      failureCount: 1,
      firstFailureAt,
      consumer: durable,
      service: 'raw-worker',
      originalEvent: { eventId: poison.eventId },
    });
    await waitFor(async () => (await ledger.get(durable, poison.seq!)) === undefined, 5000, 'the ledger record dropped');
    // A second watcher does not write the record again.
    await client(server.url, 'second-watcher');
    await waitFor(async () => (await jsm.consumers.info(StreamNames.ADVISORIES, 'dlq-advisory-watcher')).num_ack_pending === 0, 10_000, 'advisories settled');
    expect((await jsm.consumers.info(StreamNames.ADVISORIES, 'dlq-advisory-watcher')).num_pending).toBe(0);
    expect(await dlqRecords(watcher, durable)).toHaveLength(1);
  }, 30_000);
});

describe('crash isolation', () => {
  it('runs an event left unacked by a dead process alone, then goes back to full batches by itself', async () => {
    const ns = uniqueToken();
    const durable = `careful-${ns}`;
    const subject = `vector.${ns}.job`;
    const ackWaitMs = 1000;
    const c = await client(server.url, undefined, { ackWaitMs, concurrency: 8 });
    // Create the durable with the client's settings, then play a process that died holding one event.
    await (await c.subscribe(subject, () => undefined, durable)).stop();
    const orphan = await c.publish(testEvent(subject, { orphan: true }));
    const raw = await c.jetstream.js.consumers.get(StreamNames.EVENTS, durable);
    const held = await raw.next({ expires: 5000 });
    expect(held?.info.streamSequence).toBe(orphan.seq);

    let running = 0;
    const runs: { eventId: string; attempt: number; alongside: number }[] = [];
    let maxRunning = 0;
    const done = new Collector<string>();
    const sub = (await c.subscribe(
      subject,
      async (e, ctx) => {
        running += 1;
        maxRunning = Math.max(maxRunning, running);
        runs.push({ eventId: e.eventId, attempt: ctx.attempt, alongside: running - 1 });
        await new Promise((resolve) => setTimeout(resolve, 150));
        running -= 1;
        done.push(e.eventId);
      },
      durable,
    )) as unknown as { isCareful: boolean };
    // Unacked messages at startup: the subscription starts careful.
    expect(sub.isCareful).toBe(true);
    await done.waitFor(1, 10_000);
    // The orphan is a crash suspect: it ran alone, and its attempt counts runs, not deliveries.
    expect(runs).toEqual([{ eventId: orphan.eventId, attempt: 2, alongside: 0 }]);
    for (let i = 0; i < 16; i++) await c.publish(testEvent(subject, { i }));
    await done.waitFor(17, 20_000);
    // Careful mode ended at the first clean message: the fresh events ran 8 at a time.
    expect(sub.isCareful).toBe(false);
    expect(maxRunning).toBe(8);
    expect(runs.slice(1).every((r) => r.attempt === 1)).toBe(true);
    const state = await waitFor(async () => {
      const info = await c.jetstream.jsm.consumers.info(StreamNames.EVENTS, durable);
      return info.num_ack_pending === 0 ? info : undefined;
    }, 10_000, 'every ack in');
    // 1 + 16 events, plus the orphan's redelivery: nothing else was delivered twice.
    expect(state.delivered.consumer_seq).toBe(18);
  }, 30_000);
});
