/**
 * Idempotency in a JetStream KV bucket: a write expecting the key's last revision is the atomic
 * claim (revision 0, or the delete marker's, creates), and the same compare-and-set takes over an
 * expired lease. Needs no server beyond NATS.
 *
 * Reads and writes go through the client's {@link ReplyMux} rather than nats.js's KV handle,
 * which settles every request through a stack-trace `Error` (see reply-mux.ts); the bucket itself
 * is created with nats.js (`Kvm`), so its configuration is the library's.
 */
import { Kvm } from '@nats-io/kv';
import type { KV } from '@nats-io/kv';
import { JetStreamApiCodes, JetStreamApiError, jetstream } from '@nats-io/jetstream';
import type { JetStreamClient } from '@nats-io/jetstream';
import { headers } from '@nats-io/nats-core';
import type { Msg, MsgHdrs, NatsConnection } from '@nats-io/nats-core';
import { withApiRetry } from '../jetstream-api.js';
import { ReplyMux } from '../reply-mux.js';
import { lastMessageOf, publishToStream } from '../stream-publish.js';
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

/** The bucket the services share unless told otherwise. */
const DEFAULT_BUCKET = 'IDEMPOTENCY';
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

function leaseRecord(owner: string, leaseMs: number): string {
  return encode({ state: 'lease', owner, expiresAt: Date.now() + leaseMs });
}

function claimed(key: string, owner: string, revision: number): ClaimResult {
  return { status: 'claimed', lease: { key, owner, revision } };
}

/** A key as read back: its revision, and its record unless it was deleted (a delete marker). */
interface KeyEntry {
  revision: number;
  record: KeyRecord | undefined;
}

const decoder = new TextDecoder();

/** Shared across instances and processes through JetStream. */
export class KvIdempotencyStore implements IdempotencyStore {
  private readonly stream: string;
  private readonly subjectPrefix: string;

  private constructor(
    private readonly mux: ReplyMux,
    bucket: string,
    private readonly timeoutMs: number,
  ) {
    this.stream = `KV_${bucket}`;
    this.subjectPrefix = `$KV.${bucket}.`;
  }

  /**
   * Creates the bucket when missing (what `multi-agent provision` does). Instances starting
   * together on a cluster race to create it; the server leaves some of them unanswered while
   * the bucket's group forms, so the call is retried until `openTimeoutMs` (default 30 s).
   */
  static createBucket(js: JetStreamClient, options: KvStoreOptions & { openTimeoutMs?: number }): Promise<KV> {
    const bucket = options.bucket ?? DEFAULT_BUCKET;
    return withApiRetry(`open KV bucket ${bucket}`, options.openTimeoutMs ?? 30_000, () =>
      new Kvm(js).create(bucket, { ttl: options.ttlMs, history: 1, replicas: options.replicas ?? 1 }),
    );
  }

  /**
   * Opens the store on `nc` (creating the bucket when missing, see {@link createBucket}).
   *
   * @param options.inboxPrefix - the connection's inbox prefix, where NATS permissions let replies in
   * @param options.requestTimeoutMs - how long one read or write may take (default 5 s, the client passes its publish timeout)
   */
  static async open(
    nc: NatsConnection,
    options: KvStoreOptions & { openTimeoutMs?: number; inboxPrefix?: string; requestTimeoutMs?: number },
  ): Promise<KvIdempotencyStore> {
    await KvIdempotencyStore.createBucket(jetstream(nc), options);
    return new KvIdempotencyStore(new ReplyMux(nc, options.inboxPrefix), options.bucket ?? DEFAULT_BUCKET, options.requestTimeoutMs ?? 5000);
  }

  async claim(key: string, leaseMs: number): Promise<ClaimResult> {
    const k = kvKey(key);
    const owner = newOwner();
    const created = await casWrite(() => this.write(k, leaseRecord(owner, leaseMs), 0));
    if (created !== undefined) return claimed(k, owner, created);
    // The key exists: look at who holds it (or at the delete marker a released lease left).
    const entry = await this.read(k);
    if (entry?.record !== undefined) return this.claimHeld(k, owner, leaseMs, entry.record, entry.revision);
    const retried = await casWrite(() => this.write(k, leaseRecord(owner, leaseMs), entry?.revision ?? 0));
    return retried === undefined ? { status: 'busy' } : claimed(k, owner, retried);
  }

  async extend(lease: Lease, leaseMs: number): Promise<boolean> {
    const revision = await casWrite(() => this.write(lease.key, leaseRecord(lease.owner, leaseMs), lease.revision ?? 0));
    if (revision === undefined) return false;
    lease.revision = revision;
    return true;
  }

  async complete(lease: Lease): Promise<void> {
    await this.write(lease.key, encode({ state: 'done', owner: lease.owner, expiresAt: Number.MAX_SAFE_INTEGER }));
  }

  async release(lease: Lease): Promise<void> {
    // A lost compare-and-set means someone else took the key over: nothing of ours to release.
    await casWrite(() => this.write(lease.key, '', lease.revision, 'DEL'));
  }

  close(): Promise<void> {
    this.mux.close();
    return Promise.resolve();
  }

  /** Claims a key that holds a record: a completion, a live lease (busy), or an expired lease to take over. */
  private async claimHeld(k: string, owner: string, leaseMs: number, record: KeyRecord, revision: number): Promise<ClaimResult> {
    if (record.state === 'done') return { status: 'completed' };
    if (record.expiresAt > Date.now()) return { status: 'busy' };
    const takenOver = await casWrite(() => this.write(k, leaseRecord(owner, leaseMs), revision));
    return takenOver === undefined ? { status: 'busy' } : claimed(k, owner, takenOver);
  }

  /** The key's last entry, or `undefined` when it was never written (or the bucket's TTL removed it). */
  private async read(k: string): Promise<KeyEntry | undefined> {
    const msg = await lastMessageOf(this.mux, this.stream, this.subjectPrefix + k, this.timeoutMs);
    if (msg === null) return undefined;
    const revision = Number(msg.headers?.get('Nats-Sequence'));
    return isMarker(msg) ? { revision, record: undefined } : { revision, record: JSON.parse(decoder.decode(msg.data)) as KeyRecord };
  }

  /**
   * Writes the key; with `expectedRevision`, only if that is still its last revision (0: the
   * subject has no message). Resolves with the new revision.
   */
  private async write(k: string, value: string, expectedRevision?: number, operation?: 'DEL'): Promise<number> {
    let h: MsgHdrs | undefined;
    if (expectedRevision !== undefined || operation !== undefined) {
      h = headers();
      if (expectedRevision !== undefined) h.set('Nats-Expected-Last-Subject-Sequence', String(expectedRevision));
      if (operation !== undefined) h.set('KV-Operation', operation);
    }
    return (await publishToStream(this.mux, this.subjectPrefix + k, value, h, this.timeoutMs)).seq;
  }
}

/** A delete or purge marker: the key is absent, but its revision is what a create must expect. */
function isMarker(msg: Msg): boolean {
  const operation = msg.headers?.get('KV-Operation');
  return operation === 'DEL' || operation === 'PURGE';
}
