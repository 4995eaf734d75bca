/**
 * Awaiting what a test expects instead of sleeping: poll a condition with a deadline, or
 * collect items as they arrive and await a count.
 */

/**
 * Polls `check` until it returns a truthy value and resolves with it; fails after `timeoutMs`
 * naming `what` (and the last error `check` threw, if any).
 */
export async function waitFor<T>(
  check: () => T | Promise<T>,
  timeoutMs = 10_000,
  what = 'condition',
  intervalMs = 25,
): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined && value !== null && value !== false) return value;
      lastError = undefined;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > deadline) {
      const why = lastError instanceof Error ? ` (last error: ${lastError.message})` : '';
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${why}`);
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/** Collects items (e.g. events a handler receives) and lets a test await a count. */
export class Collector<T> {
  readonly items: T[] = [];
  private waiters: { count: number; resolve: () => void }[] = [];

  /** Adds an item; pass it as a handler: `subscribe(subject, collector.push)`. */
  readonly push = (item: T): void => {
    this.items.push(item);
    this.waiters = this.waiters.filter((w) => {
      if (this.items.length < w.count) return true;
      w.resolve();
      return false;
    });
  };

  /** Resolves with the items once `count` arrived; rejects after `timeoutMs`. */
  waitFor(count: number, timeoutMs = 10_000): Promise<T[]> {
    if (this.items.length >= count) return Promise.resolve(this.items);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out with ${this.items.length}/${count} items`)), timeoutMs);
      this.waiters.push({
        count,
        resolve: () => {
          clearTimeout(timer);
          resolve(this.items);
        },
      });
    });
  }
}

/** Resolves with the error `call` rejects with; fails (naming `what`) when it resolves instead. */
export async function rejectionOf(call: () => Promise<unknown>, what = 'the call to be refused'): Promise<unknown> {
  try {
    await call();
  } catch (err) {
    return err;
  }
  throw new Error(`expected ${what}, but it succeeded`);
}
