/**
 * Service metrics registered on the bus client's registry, so one `/metrics` shows both.
 * Getting an existing metric instead of registering it twice lets a service be started more
 * than once on one client (tests) without a "metric already registered" error.
 */
import { Counter, Histogram } from 'prom-client';
import type { Registry } from 'prom-client';

/** A counter on `registry`, reused when it exists already. */
export function counter<L extends string>(registry: Registry, name: string, help: string, labelNames: readonly L[]): Counter<L> {
  const existing = registry.getSingleMetric(name);
  if (existing instanceof Counter) return existing;
  return new Counter({ name, help, labelNames: [...labelNames], registers: [registry] });
}

/** A histogram (seconds) on `registry`, reused when it exists already. */
export function histogram<L extends string>(
  registry: Registry,
  name: string,
  help: string,
  labelNames: readonly L[],
  buckets: number[] = [0.005, 0.025, 0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120],
): Histogram<L> {
  const existing = registry.getSingleMetric(name);
  if (existing instanceof Histogram) return existing;
  return new Histogram({ name, help, labelNames: [...labelNames], buckets, registers: [registry] });
}
