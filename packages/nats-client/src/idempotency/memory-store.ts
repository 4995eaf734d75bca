/**
 * In-process idempotency store: a Map with a TTL and a size bound. Guards one process only:
 * use the KV or Redis store when several instances share a durable consumer.
 */
import { newOwner } from './store.js';
import type { ClaimResult, IdempotencyStore, KeyRecord, Lease } from './store.js';

/** Options of {@link MemoryIdempotencyStore}. */
export interface MemoryStoreOptions {
  /** How long a completed key is remembered (ms). */
  ttlMs: number;
  /** At most this many keys are kept; the oldest are evicted first. */
  maxEntries: number;
}

/** The default store: bounded memory, exact within one process. */
export class MemoryIdempotencyStore implements IdempotencyStore {
  private readonly entries = new Map<string, KeyRecord>();
  private readonly ttlMs: number;
  private readonly maxEntries: number;

  constructor(options: MemoryStoreOptions) {
    this.ttlMs = options.ttlMs;
    this.maxEntries = options.maxEntries;
  }

  /** Keys currently held (for tests and metrics). */
  get size(): number {
    return this.entries.size;
  }

  claim(key: string, leaseMs: number): Promise<ClaimResult> {
    const now = Date.now();
    const existing = this.entries.get(key);
    if (existing !== undefined && existing.expiresAt > now) {
      return Promise.resolve(existing.state === 'done' ? { status: 'completed' } : { status: 'busy' });
    }
    const lease: Lease = { key, owner: newOwner() };
    this.write(key, { state: 'lease', owner: lease.owner, expiresAt: now + leaseMs });
    return Promise.resolve({ status: 'claimed', lease });
  }

  extend(lease: Lease, leaseMs: number): Promise<boolean> {
    const existing = this.entries.get(lease.key);
    if (existing?.state !== 'lease' || existing.owner !== lease.owner) return Promise.resolve(false);
    existing.expiresAt = Date.now() + leaseMs;
    return Promise.resolve(true);
  }

  complete(lease: Lease): Promise<void> {
    this.write(lease.key, { state: 'done', owner: lease.owner, expiresAt: Date.now() + this.ttlMs });
    return Promise.resolve();
  }

  release(lease: Lease): Promise<void> {
    const existing = this.entries.get(lease.key);
    if (existing?.state === 'lease' && existing.owner === lease.owner) this.entries.delete(lease.key);
    return Promise.resolve();
  }

  close(): Promise<void> {
    this.entries.clear();
    return Promise.resolve();
  }

  private write(key: string, record: KeyRecord): void {
    // Re-inserting moves the key to the end, so Map order stays oldest-write first.
    this.entries.delete(key);
    this.entries.set(key, record);
    this.evict();
  }

  private evict(): void {
    const now = Date.now();
    for (const [key, record] of this.entries) {
      if (this.entries.size <= this.maxEntries && record.expiresAt > now) break;
      this.entries.delete(key);
    }
  }
}
