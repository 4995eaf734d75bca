/**
 * Idempotency in a JetStream KV bucket: `create` is the atomic claim, `update(revision)` the
 * compare-and-set that takes over an expired lease. Needs no server beyond NATS.
 */
import { Kvm } from '@nats-io/kv';
import type { KV } from '@nats-io/kv';
import { JetStreamApiCodes, JetStreamApiError } from '@nats-io/jetstream';
import type { JetStreamClient } from '@nats-io/jetstream';
import { withApiRetry } from '../jetstream-api.js';
import { newOwner } from './store.js';
import type { ClaimResult, IdempotencyStore, KeyRecord, Lease } from './store.js';

/** Options of {@link KvIdempotencyStore}. */
export interface KvStoreOptions {
  /** Bucket name; created when missing. */
  bucket?: string;
  /** How long any key lives (bucket-level TTL, ms): the completed-key memory. */
  ttlMs: number;
  replicas?: number;
}

const SAFE_KEY = /^[-/_=.a-zA-Z0-9]+$/;

function kvKey(key: string): string {
  // KV keys allow a narrow alphabet: keep readable keys, hex-encode the rest.
  const dotted = key.replace(':', '.');
  return SAFE_KEY.test(dotted) && !dotted.startsWith('.') && !dotted.endsWith('.')
    ? dotted
    : `x.${Buffer.from(key).toString('hex')}`;
}

/**
 * The compare-and-set lost: the key exists (create) or moved on (update, delete). Anything
 * else (a timeout, a lost connection) is not an answer about the key and is thrown on, so the
 * delivery retries the event instead of mistaking an outage for a busy twin.
 */
function isCasConflict(err: unknown): boolean {
  return (
    err instanceof JetStreamApiError &&
    (err.code === JetStreamApiCodes.StreamWrongLastSequence || err.code === JetStreamApiCodes.StreamWrongLastSequenceUnknown)
  );
}

/** Runs a compare-and-set write; `undefined` when it lost. */
async function casWrite(write: () => Promise<number>): Promise<number | undefined> {
  try {
    return await write();
  } catch (err) {
    if (isCasConflict(err)) return undefined;
    throw err;
  }
}

function encode(record: KeyRecord): string {
  return JSON.stringify(record);
}

/** Shared across instances and processes through JetStream. */
export class KvIdempotencyStore implements IdempotencyStore {
  private constructor(private readonly kv: KV) {}

  /**
   * Opens (creating when missing) the bucket. Instances starting together on a cluster race to
   * create it; the server leaves some of them unanswered while the bucket's group forms, so the
   * call is retried until `openTimeoutMs` (default 30 s).
   */
  static async open(js: JetStreamClient, options: KvStoreOptions & { openTimeoutMs?: number }): Promise<KvIdempotencyStore> {
    const bucket = options.bucket ?? 'IDEMPOTENCY';
    const kv = await withApiRetry(`open KV bucket ${bucket}`, options.openTimeoutMs ?? 30_000, () =>
      new Kvm(js).create(bucket, { ttl: options.ttlMs, history: 1, replicas: options.replicas ?? 1 }),
    );
    return new KvIdempotencyStore(kv);
  }

  async claim(key: string, leaseMs: number): Promise<ClaimResult> {
    const k = kvKey(key);
    const owner = newOwner();
    const value = encode({ state: 'lease', owner, expiresAt: Date.now() + leaseMs });
    const claimed = (revision: number): ClaimResult => ({ status: 'claimed', lease: { key: k, owner, revision } });
    const created = await casWrite(() => this.kv.create(k, value));
    if (created !== undefined) return claimed(created);
    // The key exists: look at who holds it.
    const entry = await this.kv.get(k);
    if (entry === null || entry.operation !== 'PUT') {
      // Deleted between our create and get: one more atomic try, then report busy.
      const retried = await casWrite(() => this.kv.create(k, value));
      return retried === undefined ? { status: 'busy' } : claimed(retried);
    }
    const record = entry.json<KeyRecord>();
    if (record.state === 'done') return { status: 'completed' };
    if (record.expiresAt > Date.now()) return { status: 'busy' };
    const takenOver = await casWrite(() => this.kv.update(k, value, entry.revision));
    return takenOver === undefined ? { status: 'busy' } : claimed(takenOver);
  }

  async extend(lease: Lease, leaseMs: number): Promise<boolean> {
    const revision = await casWrite(() =>
      this.kv.update(lease.key, encode({ state: 'lease', owner: lease.owner, expiresAt: Date.now() + leaseMs }), lease.revision ?? 0),
    );
    if (revision === undefined) return false;
    lease.revision = revision;
    return true;
  }

  async complete(lease: Lease): Promise<void> {
    await this.kv.put(lease.key, encode({ state: 'done', owner: lease.owner, expiresAt: Number.MAX_SAFE_INTEGER }));
  }

  async release(lease: Lease): Promise<void> {
    // A lost compare-and-set means someone else took the key over: nothing of ours to release.
    await casWrite(async () => {
      await this.kv.delete(lease.key, lease.revision === undefined ? {} : { previousSeq: lease.revision });
      return 0;
    });
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}
