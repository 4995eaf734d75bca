/**
 * Workload 7 (full run only): memory of a long-lived subscription. Pre-fills EVENTS with
 * `BENCH_MEMORY_EVENTS` events (default 1,000,000; untimed, raw publishes), then drains them
 * through ONE durable subscription guarded by an in-memory idempotency store bounded to
 * 100,000 entries, sampling the process RSS and the store's size every 100 ms.
 *
 * Pass conditions: the store never holds more than its bound, and RSS and the V8 heap in use stop
 * growing once the store is full: split what is drained after the store first reaches its bound
 * into halves; the peak of the second half is at most 20% above the peak of the first (growth
 * there would be a leak: nothing the client should keep grows any more). The store's cost per
 * key is the heap still in use after the drain (collected) above the heap before it, divided by
 * the keys the store holds.
 */
import { MemoryIdempotencyStore, StreamNames } from '@multi-agent/nats-client';
import { Countdown, absolute, collectGarbage, windowed, within } from '../harness.js';
import type { BenchContext, ResultRow } from '../harness.js';
import { eventData, eventSubject, openClient, rawEnvelope, token, waitForAcked, withServer } from '../fixtures.js';
import { CONCURRENCY } from './consume.js';

const MAX_ENTRIES = 100_000;
const MB = 1024 * 1024;

/** Events to push through the subscription: `BENCH_MEMORY_EVENTS`, default 1,000,000 (at most the stream's 1,000,000 limit; at least 300,000 so the run goes well past the store's bound). */
export function memoryEventCount(): number {
  const raw = process.env.BENCH_MEMORY_EVENTS;
  const n = raw === undefined || raw.trim() === '' ? 1_000_000 : Number(raw);
  if (!Number.isInteger(n) || n < 300_000 || n > 1_000_000) {
    throw new Error(`BENCH_MEMORY_EVENTS must be an integer between 300000 and 1000000, got "${raw}"`);
  }
  return n;
}

interface Probe {
  /** Fraction of the drain done when sampled. */
  progress: number;
  rss: number;
  heapUsed: number;
  storeSize: number;
}

export async function memoryWorkload(ctx: BenchContext): Promise<ResultRow[]> {
  const count = memoryEventCount();
  ctx.log(`7 memory: ${count.toLocaleString('en-US')} events through one subscription, memory store bound ${MAX_ENTRIES.toLocaleString('en-US')}`);

  return withServer(async (server) => {
    const store = new MemoryIdempotencyStore({ ttlMs: 60 * 60_000, maxEntries: MAX_ENTRIES });
    const client = await openClient(server, {}, { idempotencyStore: store });
    try {
      const { js, jsm } = client.jetstream;
      const subject = eventSubject(ctx.runId, 'mem');
      const durable = `bench-${token(ctx.runId, 'mem')}`;

      let filled = 0;
      const fillStarted = performance.now();
      await windowed(count, 1024, async (i) => {
        const { id, body } = rawEnvelope(subject, eventData(i));
        await js.publish(subject, body, { msgID: id });
        if (++filled % 100_000 === 0) ctx.log(`  memory pre-fill ${filled.toLocaleString('en-US')}`);
      });
      ctx.log(`  memory pre-fill done in ${((performance.now() - fillStarted) / 1000).toFixed(1)} s`);

      const handled = new Countdown(count);
      const probes: Probe[] = [];
      const probe = (): Probe => {
        const m = process.memoryUsage();
        const taken = { progress: handled.ticks / count, rss: m.rss, heapUsed: m.heapUsed, storeSize: store.size };
        probes.push(taken);
        return taken;
      };
      collectGarbage();
      const before = probe();
      const rssBefore = before.rss;
      const sampler = setInterval(probe, 100);
      const reporter = setInterval(() => ctx.log(`  memory ${handled.ticks.toLocaleString('en-US')} handled, rss ${(process.memoryUsage().rss / MB).toFixed(0)} MB, store ${store.size}`), 10_000);
      const started = performance.now();
      const sub = await client.subscribe(subject, async () => handled.tick(), durable, { concurrency: CONCURRENCY });
      try {
        await within(30 * 60_000, 'the memory drain', handled.done);
        await waitForAcked(jsm, StreamNames.EVENTS, durable);
      } finally {
        clearInterval(sampler);
        clearInterval(reporter);
        await sub.stop();
      }
      collectGarbage();
      const after = probe();
      const seconds = (performance.now() - started) / 1000;
      await jsm.streams.purge(StreamNames.EVENTS, { filter: subject });

      const peak = (from: number, to: number, of: 'rss' | 'heapUsed' = 'rss'): number =>
        Math.max(...probes.filter((p) => p.progress >= from && p.progress <= to).map((p) => p[of]));
      const peakRss = Math.max(...probes.map((p) => p.rss));
      const full = probes.find((p) => p.storeSize >= MAX_ENTRIES)?.progress ?? MAX_ENTRIES / count;
      const middle = (full + 1) / 2;
      const early = peak(full, middle);
      const late = peak(middle, 1);
      const pct = (f: number): string => `${(f * 100).toFixed(0)}%`;
      const maxStore = Math.max(...probes.map((p) => p.storeSize));
      const heapEarly = peak(full, middle, 'heapUsed');
      const heapLate = peak(middle, 1, 'heapUsed');
      const bytesPerKey = (after.heapUsed - before.heapUsed) / Math.max(1, after.storeSize);
      const n = count.toLocaleString('en-US');
      return [
        absolute({
          workload: '7 memory',
          metric: `peak RSS, ${n} events through one subscription`,
          unit: 'MB',
          better: 'lower',
          ours: { label: 'one subscription, memory store', samples: [peakRss / MB] },
          pass: late <= early * 1.2,
          note: `RSS ${(rssBefore / MB).toFixed(0)} MB before; store full at ${pct(full)}; peak ${(early / MB).toFixed(0)} MB at ${pct(full)}-${pct(middle)}, ${(late / MB).toFixed(0)} MB at ${pct(middle)}-100% (x${(late / early).toFixed(2)}, bound x1.20); ${(count / seconds).toFixed(0)} events/s`,
        }),
        absolute({
          workload: '7 memory',
          metric: `peak heap used, ${n} events through one subscription`,
          unit: 'MB',
          better: 'lower',
          ours: { label: 'one subscription, memory store', samples: [Math.max(...probes.map((p) => p.heapUsed)) / MB] },
          pass: heapLate <= heapEarly * 1.2,
          note: `heap used ${(before.heapUsed / MB).toFixed(0)} MB before; peak ${(heapEarly / MB).toFixed(0)} MB at ${pct(full)}-${pct(middle)}, ${(heapLate / MB).toFixed(0)} MB at ${pct(middle)}-100% (x${(heapLate / heapEarly).toFixed(2)}, bound x1.20); ${(after.heapUsed / MB).toFixed(0)} MB after the drain, collected`,
        }),
        absolute({
          workload: '7 memory',
          metric: 'idempotency store, heap bytes per key held',
          unit: 'B/key',
          better: 'lower',
          ours: { label: `MemoryIdempotencyStore, ${after.storeSize.toLocaleString('en-US')} keys`, samples: [bytesPerKey] },
          note: 'heap in use after the drain (collected) above the heap before it, divided by the keys the store holds',
        }),
        absolute({
          workload: '7 memory',
          metric: `idempotency store size, max over the drain`,
          unit: 'keys',
          better: 'lower',
          ours: { label: `MemoryIdempotencyStore maxEntries ${MAX_ENTRIES}`, samples: [maxStore] },
          pass: maxStore <= MAX_ENTRIES,
          note: `bound ${MAX_ENTRIES.toLocaleString('en-US')}; ${store.size.toLocaleString('en-US')} at the end`,
        }),
      ];
    } finally {
      await client.close();
    }
  });
}
