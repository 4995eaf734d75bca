/** Opens the idempotency store that a client's config names. */
import type { JetStreamClient } from '@nats-io/jetstream';
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
  config: Pick<NatsConfig, 'idempotency' | 'replicas'>,
  js: JetStreamClient,
  openTimeoutMs: number,
): Promise<IdempotencyStore | undefined> {
  const { idempotency, replicas } = config;
  switch (idempotency.store) {
    case 'none':
      return undefined;
    case 'memory':
      return new MemoryIdempotencyStore({ ttlMs: idempotency.ttlMs, maxEntries: idempotency.maxEntries });
    case 'kv':
      return KvIdempotencyStore.open(js, { ttlMs: idempotency.ttlMs, replicas, openTimeoutMs });
    case 'redis':
      return RedisIdempotencyStore.open({ url: idempotency.redisUrl, ttlMs: idempotency.ttlMs });
  }
}
