/**
 * The bench verdict: per-round ratios, their bootstrap interval, and the three-way verdict.
 * Pure arithmetic on samples; the workloads themselves run only under `npm run bench`.
 */
import { describe, expect, it } from 'vitest';
import { bootstrapInterval, compare, pairedRatios, verdictOf } from './harness.js';

describe('bench ratios', () => {
  it('pairs the samples of the same round, so a round-wide slowdown cancels out', () => {
    // The machine's speed moves a lot between rounds; ours is 0.92 of the baseline in each.
    const baseline = [30_000, 14_000, 22_000, 29_000, 13_500, 25_000, 18_000];
    const ours = baseline.map((v) => v * 0.92);
    const row = compare({
      workload: 'publish',
      metric: 'events/s',
      unit: 'events/s',
      better: 'higher',
      ours: { label: 'ours', samples: ours },
      baseline: { label: 'raw', samples: baseline },
      target: { min: 0.9 },
    });
    expect(row.roundRatios).toHaveLength(7);
    expect(row.ratio).toBeCloseTo(0.92, 10);
    expect(row.interval!.low).toBeCloseTo(0.92, 10);
    expect(row.interval!.high).toBeCloseTo(0.92, 10);
    expect(row.verdict).toBe('PASS');
  });

  it('refuses samples of different round counts', () => {
    expect(() => pairedRatios([1, 2, 3], [1, 2])).toThrow(/pair 3 samples with 2/);
  });

  it('gives a reproducible interval around the median that widens with the spread', () => {
    const tight = [0.9, 0.91, 0.92, 0.9, 0.91, 0.92, 0.91];
    const wide = [0.7, 0.8, 0.9, 1.0, 1.1, 0.85, 0.95];
    expect(bootstrapInterval(wide)).toEqual(bootstrapInterval(wide));
    const t = bootstrapInterval(tight);
    const w = bootstrapInterval(wide);
    expect(t.low).toBeLessThanOrEqual(0.91);
    expect(t.high).toBeGreaterThanOrEqual(0.91);
    expect(w.high - w.low).toBeGreaterThan(t.high - t.low);
    expect(w.low).toBeGreaterThanOrEqual(Math.min(...wide));
    expect(w.high).toBeLessThanOrEqual(Math.max(...wide));
  });

  it('decides on the whole interval: PASS, MISS, or UNSURE when it straddles the target', () => {
    expect(verdictOf({ low: 0.91, high: 0.95 }, { min: 0.9 })).toBe('PASS');
    expect(verdictOf({ low: 0.8, high: 0.89 }, { min: 0.9 })).toBe('MISS');
    expect(verdictOf({ low: 0.88, high: 0.93 }, { min: 0.9 })).toBe('UNSURE');
    expect(verdictOf({ low: 1.0, high: 1.09 }, { max: 1.1 })).toBe('PASS');
    expect(verdictOf({ low: 1.2, high: 1.4 }, { max: 1.1 })).toBe('MISS');
    expect(verdictOf({ low: 1.05, high: 1.2 }, { max: 1.1 })).toBe('UNSURE');
    expect(verdictOf({ low: 0.5, high: 0.6 }, undefined)).toBe('info');
    expect(verdictOf({ low: Number.NaN, high: Number.NaN }, { min: 0.9 })).toBe('MISS');
  });
});
