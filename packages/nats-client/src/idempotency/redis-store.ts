/**
 * Idempotency in Redis: `SET NX PX` claims, the key's own expiry ends a crashed holder's
 * lease, and small Lua scripts make the claim one round trip and extend/release owner-checked.
 * Commands issued in the same event-loop turn share one write (ioredis auto-pipelining), so 64
 * handlers in flight cost a few socket writes, not 64. `ioredis` is loaded only when this store
 * is chosen.
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
/** 1: claimed; 2: completed; 0: a live lease (busy). One atomic step, so no lease can expire between SET and GET. */
const CLAIM = `if redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2], 'NX') then return 1 end
if redis.call('GET', KEYS[1]) == '${DONE}' then return 2 end
return 0`;
const EXTEND_IF_OWNER = "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) else return 0 end";
const DELETE_IF_OWNER = "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) else return 0 end";

/** The store's scripts, run by SHA (ioredis loads them on first use). */
interface StoreCommands {
  idempotencyClaim(key: string, owner: string, leaseMs: number): Promise<number>;
  idempotencyExtend(key: string, owner: string, leaseMs: number): Promise<number>;
  idempotencyRelease(key: string, owner: string): Promise<number>;
}

/** Shared across instances and processes through Redis. */
export class RedisIdempotencyStore implements IdempotencyStore {
  private constructor(
    private readonly redis: Redis & StoreCommands,
    private readonly ttlMs: number,
    private readonly prefix: string,
  ) {}

  /** Connects to Redis; fails with the driver's error when it does not answer. */
  static async open(options: RedisStoreOptions): Promise<RedisIdempotencyStore> {
    const { Redis } = await import('ioredis');
    const redis = new Redis(options.url, { lazyConnect: true, maxRetriesPerRequest: 3, enableAutoPipelining: true });
    redis.defineCommand('idempotencyClaim', { numberOfKeys: 1, lua: CLAIM });
    redis.defineCommand('idempotencyExtend', { numberOfKeys: 1, lua: EXTEND_IF_OWNER });
    redis.defineCommand('idempotencyRelease', { numberOfKeys: 1, lua: DELETE_IF_OWNER });
    await redis.connect();
    return new RedisIdempotencyStore(redis as Redis & StoreCommands, options.ttlMs, options.prefix ?? 'idem:');
  }

  async claim(key: string, leaseMs: number): Promise<ClaimResult> {
    const k = this.prefix + key;
    const owner = newOwner();
    switch (await this.redis.idempotencyClaim(k, owner, leaseMs)) {
      case 1:
        return { status: 'claimed', lease: { key: k, owner } };
      case 2:
        return { status: 'completed' };
      default:
        return { status: 'busy' };
    }
  }

  async extend(lease: Lease, leaseMs: number): Promise<boolean> {
    return (await this.redis.idempotencyExtend(lease.key, lease.owner, leaseMs)) === 1;
  }

  async complete(lease: Lease): Promise<void> {
    await this.redis.set(lease.key, DONE, 'PX', this.ttlMs);
  }

  async release(lease: Lease): Promise<void> {
    await this.redis.idempotencyRelease(lease.key, lease.owner);
  }

  async close(): Promise<void> {
    await this.redis.quit();
  }
}
