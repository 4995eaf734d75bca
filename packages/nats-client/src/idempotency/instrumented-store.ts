/**
 * An idempotency store that times every call and counts the failed ones, by operation: the
 * store sits on the path of every delivery, so its latency and outages show up here first.
 */
import type { ClientMetrics } from '../metrics.js';
import type { ClaimResult, IdempotencyStore, Lease } from './store.js';

type Operation = 'claim' | 'extend' | 'complete' | 'release';

/** Wraps `store` so its calls are recorded in `metrics`. */
export function instrumentStore(store: IdempotencyStore, metrics: ClientMetrics): IdempotencyStore {
  // Children looked up once: label hashing on every delivery is measurable.
  const children = (operation: Operation) => ({
    seconds: metrics.idempotencyStoreSeconds.labels(operation),
    errors: metrics.idempotencyStoreErrors.labels(operation),
  });
  const timed = <T>(child: ReturnType<typeof children>, call: () => Promise<T>): Promise<T> => {
    const started = performance.now();
    return call().then(
      (result) => {
        child.seconds.observe((performance.now() - started) / 1000);
        return result;
      },
      (err: unknown) => {
        child.seconds.observe((performance.now() - started) / 1000);
        child.errors.inc();
        throw err;
      },
    );
  };
  const claim = children('claim');
  const extend = children('extend');
  const complete = children('complete');
  const release = children('release');
  return {
    claim: (key: string, leaseMs: number): Promise<ClaimResult> => timed(claim, () => store.claim(key, leaseMs)),
    extend: (lease: Lease, leaseMs: number): Promise<boolean> => timed(extend, () => store.extend(lease, leaseMs)),
    complete: (lease: Lease): Promise<void> => timed(complete, () => store.complete(lease)),
    release: (lease: Lease): Promise<void> => timed(release, () => store.release(lease)),
    close: () => store.close(),
  };
}
