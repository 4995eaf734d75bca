/** Opens the idempotency store that a client's config names. */
import type { NatsConnection } from '@nats-io/nats-core';
import type { NatsConfig } from '../config.js';
import { KvIdempotencyStore } from './kv-store.js';
import { MemoryIdempotencyStore } from './memory-store.js';
import { RedisIdempotencyStore } from './redis-store.js';
import type { IdempotencyStore } from './store.js';

/**
 * The store for `config.idempotency.store`, or `undefined` for `none`.
 *
 * @param openTimeoutMs - how long the KV store retries creating its bucket on a forming cluster
 */
export async function openIdempotencyStore(
  config: Pick<NatsConfig, 'idempotency' | 'replicas' | 'inboxPrefix' | 'publishTimeoutMs'>,
  nc: NatsConnection,
  openTimeoutMs: number,
): Promise<IdempotencyStore | undefined> {
  const { idempotency, replicas } = config;
  switch (idempotency.store) {
    case 'none':
      return undefined;
    case 'memory':
      return new MemoryIdempotencyStore({ ttlMs: idempotency.ttlMs, maxEntries: idempotency.maxEntries });
    case 'kv':
      return KvIdempotencyStore.open(nc, {
        ttlMs: idempotency.ttlMs,
        replicas,
        openTimeoutMs,
        requestTimeoutMs: config.publishTimeoutMs,
        ...(config.inboxPrefix === undefined ? {} : { inboxPrefix: config.inboxPrefix }),
      });
    case 'redis':
      return RedisIdempotencyStore.open({ url: idempotency.redisUrl, ttlMs: idempotency.ttlMs });
  }
}
