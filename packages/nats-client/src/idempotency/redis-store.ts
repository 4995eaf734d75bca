/**
 * Idempotency in Redis: `SET NX PX` claims, the key's own expiry ends a crashed holder's
 * lease, and small Lua scripts make extend/release owner-checked. `ioredis` is loaded only
 * when this store is chosen.
 */
import type { Redis } from 'ioredis';
import { newOwner } from './store.js';
import type { ClaimResult, IdempotencyStore, Lease } from './store.js';

/** Options of {@link RedisIdempotencyStore}. */
export interface RedisStoreOptions {
  url: string;
  /** How long a completed key is remembered (ms). */
  ttlMs: number;
  /** Key prefix, so several platforms can share one Redis. */
  prefix?: string;
}

const DONE = 'done';
const EXTEND_IF_OWNER = "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) else return 0 end";
const DELETE_IF_OWNER = "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) else return 0 end";

/** Shared across instances and processes through Redis. */
export class RedisIdempotencyStore implements IdempotencyStore {
  private constructor(
    private readonly redis: Redis,
    private readonly ttlMs: number,
    private readonly prefix: string,
  ) {}

  /** Connects to Redis; fails with the driver's error when it does not answer. */
  static async open(options: RedisStoreOptions): Promise<RedisIdempotencyStore> {
    const { Redis } = await import('ioredis');
    const redis = new Redis(options.url, { lazyConnect: true, maxRetriesPerRequest: 3 });
    await redis.connect();
    return new RedisIdempotencyStore(redis, options.ttlMs, options.prefix ?? 'idem:');
  }

  async claim(key: string, leaseMs: number): Promise<ClaimResult> {
    const k = this.prefix + key;
    const owner = newOwner();
    for (let attempt = 0; attempt < 2; attempt++) {
      if ((await this.redis.set(k, owner, 'PX', leaseMs, 'NX')) === 'OK') {
        return { status: 'claimed', lease: { key: k, owner } };
      }
      const current = await this.redis.get(k);
      if (current === DONE) return { status: 'completed' };
      if (current !== null) return { status: 'busy' };
      // The lease expired between SET and GET: claim again.
    }
    return { status: 'busy' };
  }

  async extend(lease: Lease, leaseMs: number): Promise<boolean> {
    return (await this.redis.eval(EXTEND_IF_OWNER, 1, lease.key, lease.owner, leaseMs)) === 1;
  }

  async complete(lease: Lease): Promise<void> {
    await this.redis.set(lease.key, DONE, 'PX', this.ttlMs);
  }

  async release(lease: Lease): Promise<void> {
    await this.redis.eval(DELETE_IF_OWNER, 1, lease.key, lease.owner);
  }

  async close(): Promise<void> {
    await this.redis.quit();
  }
}
