/**
 * Crash isolation on real processes: a worker whose handler kills its process on one poison
 * event (process.exit(), as a native crash or an OOM would), restarted by a supervisor each time
 * it dies, must dead-letter only the poison event and handle every other event exactly once.
 * Outcomes are read back from the server (DLQ stream, consumer state) and from the effect file
 * every worker process appends to.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { NatsServer } from '@multi-agent/testing';
import type { DomainEvent } from '@multi-agent/events';
import { ClientPool, testEvent, uniqueToken, waitFor } from './support/env.js';
import { auditEvents, deadLettersOf, waitSettled } from './support/read-back.js';
import { Supervisor } from './support/supervisor.js';

const ACK_WAIT_MS = 2000;
const MAX_ATTEMPTS = 3;

let server: NatsServer;
let workDir: string;
const pool = new ClientPool();
const supervisors: Supervisor[] = [];

beforeAll(async () => {
  server = await NatsServer.start();
  workDir = await mkdtemp(join(tmpdir(), 'crash-isolation-'));
});

afterEach(async () => {
  await Promise.all(supervisors.splice(0).map((s) => s.stop()));
  await pool.closeAll();
});

afterAll(async () => {
  await server?.stop();
  if (workDir) await rm(workDir, { recursive: true, force: true });
});

async function effectLines(file: string): Promise<string[]> {
  return (await readFile(file, 'utf8')).split('\n').filter((l) => l !== '');
}

function countBy(values: string[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const v of values) counts.set(v, (counts.get(v) ?? 0) + 1);
  return counts;
}

interface Scenario {
  instances: number;
  store: 'memory' | 'kv';
  goodBefore: number;
  goodAfter: number;
}

async function runScenario({ instances, store, goodBefore, goodAfter }: Scenario): Promise<void> {
  const ns = uniqueToken('ci');
  // The subject of the issue, namespaced so scenarios sharing the server never meet.
  const subject = `agent.${ns}.execution.requested`;
  const durable = `crash-${ns}`;
  const effects = join(workDir, `${ns}.effects`);
  await writeFile(effects, '');
  const parent = await pool.open(server.url);
  const good = (i: number): DomainEvent => testEvent(subject, { i });
  const poison = testEvent(subject, { poison: true });
  const events = [...Array.from({ length: goodBefore }, (_, i) => good(i)), poison, ...Array.from({ length: goodAfter }, (_, i) => good(goodBefore + i))];
  const goods = events.filter((e) => e !== poison).map((e) => e.eventId);
  for (const e of events) await parent.publish(e);
  const publishedAt = Date.now();

  // The default configuration (memory store unless asked, concurrency 8, 3 attempts), short ack_wait.
  const env = {
    NATS_URL: server.url,
    NATS_IDEMPOTENCY_STORE: store,
    NATS_ACK_WAIT_MS: String(ACK_WAIT_MS),
    NATS_RETRY_BACKOFF_MS: '50',
    // Handlers do I/O: the good events sharing the poison's first batch are mid-handler when it
    // kills the process. (One whose effect completed in the very instant of the crash would be
    // handled again, crash or no poison: that boundary is F1b's.)
    WORKER_HANDLER_MS: '200',
    WORKER_SERVICE: `crashsvc-${ns}`,
    WORKER_SUBJECT: subject,
    WORKER_DURABLE: durable,
    WORKER_EFFECT_FILE: effects,
  };
  for (let i = 0; i < instances; i++) supervisors.push(new Supervisor(`w${i}`, env));

  const handled = (lines: string[]): Set<string> => new Set(lines.filter((l) => !l.startsWith('CRASH ')).map((l) => l.split(' ')[0]!));
  await waitFor(
    async () => {
      const lines = await effectLines(effects);
      const dead = await deadLettersOf(parent, durable);
      return dead.length > 0 && goods.every((id) => handled(lines).has(id)) ? true : undefined;
    },
    60_000,
    'the poison event in the DLQ and every good event handled',
    100,
  );
  const allGoodAfterMs = Date.now() - publishedAt;
  const state = await waitSettled(parent, durable, 20_000);
  const starts = supervisors.reduce((n, s) => n + s.starts, 0);
  await Promise.all(supervisors.splice(0).map((s) => s.stop()));

  // Exactly one DLQ record, for the poison event, saying the process died while holding it.
  const dead = await deadLettersOf(parent, durable);
  expect(dead.map((d) => (d.event.data.originalEvent as { eventId: string }).eventId)).toEqual([poison.eventId]);
  const lines = await effectLines(effects);
  const crashes = lines.filter((l) => l.startsWith(`CRASH ${poison.eventId} `));
  const story = `effects:\n${lines.join('\n')}`;
  expect(dead[0]!.event.data, story).toMatchObject({ reason: 'crashed-handler', errorClass: 'ProcessDied', failureCount: MAX_ATTEMPTS, consumer: durable });
  // Each crash the record counts is a run of the poison handler, and the handler saw it as such.
  expect(crashes, story).toHaveLength(MAX_ATTEMPTS);
  expect(crashes.map((l) => l.split('attempt=')[1]).slice(1), story).toEqual(['2', '3']);
  const first = new Date(dead[0]!.event.data.firstFailureAt).getTime();
  expect(first).toBeGreaterThanOrEqual(publishedAt - 1000);
  expect(first).toBeLessThanOrEqual(new Date(dead[0]!.event.data.lastFailureAt).getTime());

  // Every good event handled exactly once (counted per eventId across every process), none crashed.
  const effectsPerEvent = countBy(lines.filter((l) => !l.startsWith('CRASH ')).map((l) => l.split(' ')[0]!));
  expect(effectsPerEvent, story).toEqual(new Map(goods.map((id) => [id, 1])));
  expect(lines.filter((l) => l.startsWith('CRASH ') && !l.startsWith(`CRASH ${poison.eventId} `))).toEqual([]);
  // Nothing pending, nothing unacked; the stream holds each event once.
  expect(state.numPending).toBe(0);
  expect(state.numAckPending).toBe(0);
  const audit = await auditEvents(parent, subject);
  expect(audit.count).toBe(events.length);
  expect(audit.duplicates.size).toBe(0);
  // Within a few ack-wait periods per crash (each crash also costs a process restart).
  expect(allGoodAfterMs).toBeLessThan(MAX_ATTEMPTS * (ACK_WAIT_MS + 5000) + 10_000);
  console.info(
    `crash isolation (${instances} instance(s), ${store} store, ${goods.length} good): ${crashes.length} crashes, ${starts} process starts, ` +
      `all good events handled after ${allGoodAfterMs} ms, ${state.info.delivered.consumer_seq} deliveries for ${events.length} events`,
  );
}

describe('crash isolation: a poison event that kills its process takes nothing else to the DLQ', () => {
  it('C1 one worker, memory store: poison then one good event', () => runScenario({ instances: 1, store: 'memory', goodBefore: 0, goodAfter: 1 }), 90_000);

  it('C2 two workers on one durable, memory store: 10 good events around the poison one', () =>
    runScenario({ instances: 2, store: 'memory', goodBefore: 5, goodAfter: 5 }), 90_000);

  it('C3 two workers on one durable, KV store: 10 good events around the poison one', () =>
    runScenario({ instances: 2, store: 'kv', goodBefore: 5, goodAfter: 5 }), 90_000);
});
