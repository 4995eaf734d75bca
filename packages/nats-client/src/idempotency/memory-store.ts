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

/** A stored record; a completion also carries its place in the completion log. */
interface Entry extends KeyRecord {
  /** Index of its completion in the log (`-1` for a lease): an older completion of the key is stale there. */
  completedAt: number;
}

/** The default store: bounded memory, exact within one process. */
export class MemoryIdempotencyStore implements IdempotencyStore {
  private readonly entries = new Map<string, Entry>();
  // Completions in order, oldest first from `head` (two parallel arrays: no object per entry).
  // Eviction pops from the front; iterating the Map from its start instead would walk over the
  // slots its deletes leave there, a cost that grows until V8 rehashes the table. Leases are not
  // logged: each one ends in `complete` or `release`, or with the process and this store.
  private logKeys: string[] = [];
  private logPositions: number[] = [];
  private head = 0;
  private logged = 0;
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
    this.entries.set(key, { state: 'lease', owner: lease.owner, expiresAt: now + leaseMs, completedAt: -1 });
    this.evict(now);
    return Promise.resolve({ status: 'claimed', lease });
  }

  extend(lease: Lease, leaseMs: number): Promise<boolean> {
    const existing = this.entries.get(lease.key);
    if (existing?.state !== 'lease' || existing.owner !== lease.owner) return Promise.resolve(false);
    existing.expiresAt = Date.now() + leaseMs;
    return Promise.resolve(true);
  }

  complete(lease: Lease): Promise<void> {
    const now = Date.now();
    const completedAt = this.logged++;
    this.entries.set(lease.key, { state: 'done', owner: lease.owner, expiresAt: now + this.ttlMs, completedAt });
    this.logKeys.push(lease.key);
    this.logPositions.push(completedAt);
    this.evict(now);
    return Promise.resolve();
  }

  release(lease: Lease): Promise<void> {
    const existing = this.entries.get(lease.key);
    if (existing?.state === 'lease' && existing.owner === lease.owner) this.entries.delete(lease.key);
    return Promise.resolve();
  }

  close(): Promise<void> {
    this.entries.clear();
    this.logKeys = [];
    this.logPositions = [];
    this.head = 0;
    return Promise.resolve();
  }

  /** Drops the oldest completions beyond the bound, and expired ones at the front of the log. */
  private evict(now: number): void {
    for (let key = this.logKeys[this.head]; key !== undefined; key = this.logKeys[this.head]) {
      const entry = this.entries.get(key);
      if (entry !== undefined && entry.completedAt === this.logPositions[this.head]) {
        if (this.entries.size <= this.maxEntries && entry.expiresAt > now) break;
        this.entries.delete(key);
      }
      this.head += 1; // a completion rewritten since, a key claimed again after expiry, or the key just evicted
    }
    // Keep the log proportional to the keys held.
    if (this.head > 1024 && this.head * 2 > this.logKeys.length) {
      this.logKeys = this.logKeys.slice(this.head);
      this.logPositions = this.logPositions.slice(this.head);
      this.head = 0;
    }
  }
}
