/**
 * Workload 6: what a Node user would pick instead for retried job processing. The same N jobs
 * (the ~300-byte payload), a no-op handler, up to 3 attempts with backoff, C handlers at once:
 * - ours: `publish` (256 acks in flight) into EVENTS, then drain through a durable `subscribe`
 *   (memory idempotency store, the default) with `concurrency: C`;
 * - BullMQ on the local Redis: `queue.add` (256 in flight, `attempts: 3`, exponential backoff,
 *   `removeOnComplete`), then drain through a `Worker` with `concurrency: C`.
 * Enqueue and drain are timed separately. Every round uses a fresh queue name, obliterated after.
 */
import type { NatsClient } from '@multi-agent/nats-client';
import { Queue, Worker } from 'bullmq';
import type { ConnectionOptions } from 'bullmq';
import { Countdown, alternate, compare, metric, windowed, within } from '../harness.js';
import type { BenchContext, ResultRow, Sample } from '../harness.js';
import { REDIS_URL, eventData, eventSubject, openClient, token, withServer } from '../fixtures.js';
import { CONCURRENCY, drainOurs, prefill } from './consume.js';
import { WINDOW } from './publish.js';

function redisConnection(): ConnectionOptions {
  const url = new URL(REDIS_URL);
  // BullMQ workers need maxRetriesPerRequest: null (blocking commands).
  return { host: url.hostname, port: Number(url.port || 6379), maxRetriesPerRequest: null };
}

async function bullmqRound(queueName: string, count: number): Promise<Sample> {
  const connection = redisConnection();
  const queue = new Queue(queueName, { connection });
  try {
    let started = performance.now();
    await windowed(count, WINDOW, (i) =>
      queue.add('job', eventData(i), { attempts: 3, backoff: { type: 'exponential', delay: 1000 }, removeOnComplete: true }),
    );
    const enqueue = count / ((performance.now() - started) / 1000);

    const completed = new Countdown(count);
    started = performance.now();
    const worker = new Worker(queueName, async () => undefined, { connection, concurrency: CONCURRENCY });
    const failed = new Promise<never>((_, reject) => worker.on('failed', (_job, err) => reject(err)));
    worker.on('completed', completed.tick);
    try {
      await within(300_000, `draining BullMQ queue ${queueName}`, Promise.race([completed.done, failed]));
      const drain = count / ((performance.now() - started) / 1000);
      return { enqueue, drain };
    } finally {
      await worker.close();
    }
  } finally {
    await queue.obliterate({ force: true });
    await queue.close();
  }
}

async function oursRound(client: NatsClient, subject: string, durable: string, count: number): Promise<Sample> {
  const started = performance.now();
  await prefill(client, subject, count);
  const enqueue = count / ((performance.now() - started) / 1000);
  const drain = await drainOurs(client, subject, durable, count, {});
  await client.jetstream.jsm.streams.purge('EVENTS', { filter: subject });
  return { enqueue, drain };
}

export async function bullmqWorkload(ctx: BenchContext): Promise<ResultRow[]> {
  const count = ctx.quick ? 2000 : 20_000;
  const plan = ctx.quick ? { rounds: 1, warmup: 1 } : { rounds: 5, warmup: 1 };
  ctx.log(`6 vs BullMQ: ${count} jobs per round, concurrency ${CONCURRENCY}`);

  return withServer(async (server) => {
    const client = await openClient(server, { idempotency: { store: 'memory', maxEntries: 100_000, ttlMs: 60 * 60_000 } });
    try {
      const samples = await alternate(ctx, 'bullmq', [
        {
          name: 'ours',
          run: (round) =>
            oursRound(client, eventSubject(ctx.runId, `job${round}`), `bench-${token(ctx.runId, `job${round}`)}`, count),
        },
        { name: 'bullmq', run: (round) => bullmqRound(`bench-${ctx.runId}-${round}`, count) },
      ], plan);
      const row = (m: 'enqueue' | 'drain', what: string, ours: string, theirs: string, target?: number): ResultRow =>
        compare({
          workload: '6 vs BullMQ',
          metric: `${what} ${count.toLocaleString('en-US')} jobs`,
          unit: 'jobs/s',
          better: 'higher',
          ours: { label: ours, samples: metric(samples, 'ours', m) },
          baseline: { label: theirs, samples: metric(samples, 'bullmq', m) },
          target: target === undefined ? undefined : { min: target },
        });
      return [
        row('enqueue', `enqueue, ${WINDOW} in flight,`, 'publish', 'queue.add'),
        row('drain', `process (no-op, concurrency ${CONCURRENCY})`, 'durable subscribe', 'Worker', 2.5),
      ];
    } finally {
      await client.close();
    }
  });
}
