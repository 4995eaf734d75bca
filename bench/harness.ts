/**
 * The shared benchmark harness: run sides in alternating rounds, summarise samples (median,
 * percentiles), turn a comparison into a result row with its verdict, and the small timing
 * helpers every workload uses (a window of operations in flight, a fixed-rate pacer).
 * Reporting (Markdown table, JSON, SVG) lives in `report.ts`.
 */
import { setTimeout as sleep } from 'node:timers/promises';

export { sleep };

/** What every workload gets from the runner. */
export interface BenchContext {
  /** `--quick`: small counts and few rounds, a ~20-second smoke run. */
  quick: boolean;
  /** Unique per run: prefixes subjects, durable names, queue names and Redis keys. */
  runId: string;
  /** Progress on stderr (stdout carries only the result table). */
  log(message: string): void;
}

/** The metrics one side measured in one round, e.g. `{ rate: 21000 }` or `{ p50: 0.4, p99: 2.1 }`. */
export type Sample = Record<string, number>;

/** One contender of a comparison. `run` measures one round and returns its metrics. */
export interface Side {
  name: string;
  run(round: number): Promise<Sample>;
}

/** How many rounds to run, and how many unrecorded warm-up rounds before them. */
export interface RoundPlan {
  rounds: number;
  warmup: number;
}

/** `gc()` when node runs with `--expose-gc` (the `bench` script does), else nothing. */
export const collectGarbage = (globalThis as { gc?: () => void }).gc ?? ((): void => undefined);

/**
 * Runs every side once per round, rotating which side goes first so no side always gets the
 * warm (or the noisy) slot. Warm-up rounds run the same way but are not recorded. Before each
 * side runs, a full GC (with `--expose-gc`) clears what earlier sides and workloads left, so a
 * collection during a run is paid by the side that allocated for it.
 *
 * @returns the recorded samples of each side, by side name, in round order
 */
export async function alternate(ctx: BenchContext, label: string, sides: Side[], plan: RoundPlan): Promise<Map<string, Sample[]>> {
  const samples = new Map<string, Sample[]>(sides.map((s) => [s.name, []]));
  const total = plan.warmup + plan.rounds;
  for (let round = 0; round < total; round++) {
    const recorded = round >= plan.warmup;
    // Rotated left by `round`: side i runs at position (i - round) mod n.
    const shift = round % sides.length;
    const order = [...sides.slice(shift), ...sides.slice(0, shift)];
    for (const side of order) {
      collectGarbage();
      const sample = await side.run(round);
      if (recorded) {
        const recordedSamples = samples.get(side.name);
        if (recordedSamples === undefined) throw new Error(`no sample list for side "${side.name}"`);
        recordedSamples.push(sample);
      }
      ctx.log(`  ${label} ${recorded ? `round ${round - plan.warmup + 1}/${plan.rounds}` : 'warm-up'} ${side.name}: ${formatSample(sample)}`);
    }
  }
  return samples;
}

function formatSample(sample: Sample): string {
  return Object.entries(sample)
    .map(([k, v]) => `${k}=${formatNumber(v)}`)
    .join(' ');
}

/** One metric of every recorded round of one side. */
export function metric(samples: Map<string, Sample[]>, side: string, name: string): number[] {
  const list = samples.get(side);
  if (list === undefined) throw new Error(`no samples for side "${side}"`);
  return list.map((s) => {
    const v = s[name];
    if (v === undefined) throw new Error(`side "${side}" did not report "${name}"`);
    return v;
  });
}

/** The value at `index`; the callers compute indexes inside the array. */
function valueAt(values: readonly number[], index: number): number {
  const value = values[index];
  if (value === undefined) throw new RangeError(`index ${index} is outside the ${values.length} values`);
  return value;
}

/** Nearest-rank percentile (p in 0..100) of unsorted values. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * sorted.length);
  return valueAt(sorted, Math.min(sorted.length - 1, Math.max(0, rank - 1)));
}

/** Median (the mean of the two middle values for an even count). */
export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? valueAt(sorted, mid) : (valueAt(sorted, mid - 1) + valueAt(sorted, mid)) / 2;
}

/** p50 and p99 (ms) of a latency sample. */
export function latencySummary(latenciesMs: readonly number[]): { p50: number; p99: number } {
  return { p50: percentile(latenciesMs, 50), p99: percentile(latenciesMs, 99) };
}

/** A target on the ratio ours/baseline: `min` for higher-is-better metrics, `max` for lower-is-better. */
export type Target = { min: number } | { max: number };

/**
 * PASS: the whole interval of the ratio meets the target. MISS: none of it does. UNSURE: the
 * interval straddles the target, so this run cannot tell (more rounds or a quieter machine can).
 */
export type Verdict = 'PASS' | 'MISS' | 'UNSURE' | 'info';

/** Where the ratio of a comparison lies: a bootstrap 90% interval of the median per-round ratio. */
export interface RatioInterval {
  low: number;
  high: number;
}

/** One line of the result table. */
export interface ResultRow {
  /** e.g. `1 publish`. */
  workload: string;
  /** What is measured, e.g. `events/s (256 in flight)`. */
  metric: string;
  unit: string;
  better: 'higher' | 'lower';
  ours: { label: string; median: number; samples: number[] };
  /** Absent for an absolute measurement (the memory run). */
  baseline?: { label: string; median: number; samples: number[] };
  /** The median of the per-round ratios ours/baseline (each round runs both sides back to back). */
  ratio?: number;
  /** ours/baseline of each recorded round, in round order. */
  roundRatios?: number[];
  /** Bootstrap 90% interval of {@link ResultRow.ratio}; the verdict is decided on it. */
  interval?: RatioInterval;
  target?: Target | undefined;
  verdict: Verdict;
  note?: string | undefined;
}

/**
 * A comparison row. Each recorded round ran both sides back to back on the same server state,
 * so the ratio is taken per round (which cancels what the machine was doing during that round)
 * and summarised by its median and a bootstrap 90% interval; the verdict uses the interval.
 */
export function compare(input: {
  workload: string;
  metric: string;
  unit: string;
  better: 'higher' | 'lower';
  ours: { label: string; samples: number[] };
  baseline: { label: string; samples: number[] };
  target?: Target | undefined;
  note?: string | undefined;
}): ResultRow {
  const ours = { ...input.ours, median: median(input.ours.samples) };
  const baseline = { ...input.baseline, median: median(input.baseline.samples) };
  const roundRatios = pairedRatios(input.ours.samples, input.baseline.samples);
  const ratio = median(roundRatios);
  const interval = bootstrapInterval(roundRatios);
  return {
    workload: input.workload,
    metric: input.metric,
    unit: input.unit,
    better: input.better,
    ours,
    baseline,
    ratio,
    roundRatios,
    interval,
    target: input.target,
    verdict: verdictOf(interval, input.target),
    note: input.note,
  };
}

/** ours[i] / baseline[i]: both sides' samples are in round order, one per recorded round. */
export function pairedRatios(ours: readonly number[], baseline: readonly number[]): number[] {
  if (ours.length !== baseline.length) throw new Error(`cannot pair ${ours.length} samples with ${baseline.length}`);
  return ours.map((value, i) => value / valueAt(baseline, i));
}

const BOOTSTRAP_RESAMPLES = 4000;

/**
 * The 5th and 95th percentiles of the medians of {@link BOOTSTRAP_RESAMPLES} resamples (with
 * replacement) of `values`. The generator is seeded, so the same samples give the same
 * interval in the report and when it is recomputed from the JSON record.
 */
export function bootstrapInterval(values: readonly number[], seed = 1): RatioInterval {
  if (values.length === 0) return { low: Number.NaN, high: Number.NaN };
  const random = mulberry32(seed);
  const medians: number[] = [];
  const resample = new Array<number>(values.length);
  for (let r = 0; r < BOOTSTRAP_RESAMPLES; r++) {
    for (let i = 0; i < values.length; i++) resample[i] = valueAt(values, Math.floor(random() * values.length));
    medians.push(median(resample));
  }
  return { low: percentile(medians, 5), high: percentile(medians, 95) };
}

/** A small seeded PRNG (uniform in [0, 1)); Math.random cannot be seeded. */
function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** An absolute row (no baseline), with an optional pass condition already evaluated. */
export function absolute(input: {
  workload: string;
  metric: string;
  unit: string;
  better: 'higher' | 'lower';
  ours: { label: string; samples: number[] };
  pass?: boolean;
  note?: string | undefined;
}): ResultRow {
  return {
    workload: input.workload,
    metric: input.metric,
    unit: input.unit,
    better: input.better,
    ours: { ...input.ours, median: median(input.ours.samples) },
    verdict: input.pass === undefined ? 'info' : input.pass ? 'PASS' : 'MISS',
    note: input.note,
  };
}

/** The verdict of a ratio's interval against its target (see {@link Verdict}). */
export function verdictOf(interval: RatioInterval, target: Target | undefined): Verdict {
  if (target === undefined) return 'info';
  if (!Number.isFinite(interval.low) || !Number.isFinite(interval.high)) return 'MISS';
  const [meets, misses] =
    'min' in target ? [interval.low >= target.min, interval.high < target.min] : [interval.high <= target.max, interval.low > target.max];
  return meets ? 'PASS' : misses ? 'MISS' : 'UNSURE';
}

/** Runs `task(0..count-1)` keeping at most `window` of them in flight (each resolves before its slot takes the next). */
export async function windowed(count: number, window: number, task: (i: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < count) {
      const i = next++;
      await task(i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(window, count) }, lane));
}

/**
 * Calls `task(0..count-1)` at a fixed rate: the i-th call is due at start + i/rate. A task that
 * must not hold up the next one returns without awaiting its work. Resolves once all are called.
 */
export async function paced(count: number, perSecond: number, task: (i: number) => void | Promise<void>): Promise<void> {
  const start = performance.now();
  const interval = 1000 / perSecond;
  for (let i = 0; i < count; i++) {
    const wait = start + i * interval - performance.now();
    if (wait >= 1) await sleep(wait);
    await task(i);
  }
}

/** Resolves once `count` calls of the returned `tick` happened; `elapsed()` is the ms since `start()`. */
export class Countdown {
  private started = 0;
  private finished = 0;
  private seen = 0;
  private resolveDone: () => void = () => undefined;
  readonly done: Promise<void>;

  constructor(private readonly count: number) {
    this.done = new Promise((resolve) => (this.resolveDone = resolve));
  }

  start(): void {
    this.started = performance.now();
  }

  readonly tick = (): void => {
    this.seen += 1;
    if (this.seen === this.count) {
      this.finished = performance.now();
      this.resolveDone();
    }
  };

  get ticks(): number {
    return this.seen;
  }

  /** Ms from `start()` to the last tick (or to now while counting). */
  elapsed(): number {
    return (this.finished || performance.now()) - this.started;
  }
}

/** Rejects after `ms` with a message naming what did not finish (a stuck benchmark must fail, not hang). */
export async function within<T>(ms: number, what: string, work: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Compact number formatting for logs and tables: 3 significant digits, thousands separated. */
export function formatNumber(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  const abs = Math.abs(v);
  if (abs >= 1000) return Math.round(v).toLocaleString('en-US');
  if (abs >= 100) return v.toFixed(0);
  if (abs >= 10) return v.toFixed(1);
  if (abs >= 1) return v.toFixed(2);
  return v.toPrecision(2);
}
