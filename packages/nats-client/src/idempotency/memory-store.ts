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

/** A stored record, stamped with the write that made it. */
interface Entry extends KeyRecord {
  /** Position of its write in `writes`: an older write of the same key is stale there. */
  writeSeq: number;
}

/** The default store: bounded memory, exact within one process. */
export class MemoryIdempotencyStore implements IdempotencyStore {
  private readonly entries = new Map<string, Entry>();
  // Every write in order, oldest first from `head`; eviction pops from the front. (Iterating the
  // Map from its start would walk over the slots its deletes leave there, a cost that grows with
  // every eviction until V8 rehashes the table.)
  private writes: { key: string; writeSeq: number }[] = [];
  private head = 0;
  private nextWriteSeq = 0;
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
    this.writes = [];
    this.head = 0;
    return Promise.resolve();
  }

  private write(key: string, record: KeyRecord): void {
    const writeSeq = this.nextWriteSeq++;
    this.entries.set(key, { ...record, writeSeq });
    this.writes.push({ key, writeSeq });
    this.evict();
  }

  /** Drops the oldest-written keys beyond the bound, and expired ones at the front. */
  private evict(): void {
    const now = Date.now();
    for (let next = this.writes[this.head]; next !== undefined; next = this.writes[this.head]) {
      const { key, writeSeq } = next;
      const entry = this.entries.get(key);
      if (entry?.writeSeq === writeSeq) {
        if (this.entries.size <= this.maxEntries && entry.expiresAt > now) break;
        this.entries.delete(key);
      }
      this.head += 1; // a write rewritten or released since, or the key just evicted
    }
    // Keep the write log proportional to the keys held.
    if (this.head > 1024 && this.head * 2 > this.writes.length) {
      this.writes = this.writes.slice(this.head);
      this.head = 0;
    }
  }
}
