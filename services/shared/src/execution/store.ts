/**
 * The `EXECUTIONS` KV bucket: one JSON record per execution, changed only by compare-and-set
 * (`kv.create` for the first record, `kv.update(key, value, revision)` after). Two writers that
 * read the same revision cannot both win: the loser re-reads and re-decides, so two
 * orchestration replicas never advance the same node twice.
 */
import { DeliverPolicy, JetStreamApiCodes, JetStreamApiError } from '@nats-io/jetstream';
import type { JetStreamClient } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import type { KV, KvEntry } from '@nats-io/kv';
import { DeterministicError } from '../failure.js';
import { formatBytes } from './limits.js';
import type { ExecutionState } from './state.js';
import { summarise } from './summary.js';
import type { ExecutionSummary } from './summary.js';

/** Name of the bucket holding execution state. */
export const EXECUTIONS_BUCKET = 'EXECUTIONS';

/** A record and the KV revision it was read at (the CAS token). */
export interface StoredExecution {
  state: ExecutionState;
  revision: number;
}

/** Options of {@link ExecutionStore.open}. */
export interface ExecutionStoreOptions {
  bucket?: string;
  /** How long a record lives (bucket-level TTL, ms). Default 7 days, like the EVENTS stream. */
  ttlMs?: number;
  replicas?: number;
  /** CAS attempts before `mutate` gives up (default 50). */
  maxAttempts?: number;
  /**
   * Largest record written (bytes); a larger one is refused with
   * {@link ExecutionRecordTooLargeError} before it reaches the server. Pass the server's
   * `max_payload` less room for the KV headers; default unlimited (the server decides).
   */
  maxRecordBytes?: number;
}

/** `create` found a record already. */
export class ExecutionExistsError extends Error {
  readonly code = 'EXECUTION_EXISTS';
  constructor(readonly executionId: string) {
    super(`execution "${executionId}" already exists`);
    this.name = 'ExecutionExistsError';
  }
}

/** `mutate` lost the compare-and-set race too many times in a row. */
export class ExecutionContentionError extends Error {
  readonly code = 'EXECUTION_CONTENTION';
  constructor(readonly executionId: string, attempts: number) {
    super(`execution "${executionId}": ${attempts} compare-and-set attempts in a row lost to other writers`);
    this.name = 'ExecutionContentionError';
  }
}

/**
 * A record would be larger than the bus can carry. Deterministic for the transition that
 * produced it (a non-retryable error of the bus client).
 */
export class ExecutionRecordTooLargeError extends DeterministicError {
  constructor(readonly executionId: string, readonly bytes: number, readonly maxBytes: number) {
    super('EXECUTION_RECORD_TOO_LARGE', `execution record too large: ${formatBytes(bytes)}, limit ${formatBytes(maxBytes)}`);
    this.name = 'ExecutionRecordTooLargeError';
  }
}

const DAY_MS = 24 * 60 * 60 * 1000;
/** Records one pull of `summaries()` asks for. */
const SUMMARY_BATCH = 1000;

function isConflict(err: unknown): boolean {
  if (err instanceof JetStreamApiError) {
    return err.code === JetStreamApiCodes.StreamWrongLastSequence || err.code === JetStreamApiCodes.StreamWrongLastSequenceUnknown;
  }
  return /wrong last sequence/i.test(String(err));
}

function decode(entry: KvEntry | null): StoredExecution | undefined {
  if (entry === null || entry.operation !== 'PUT') return undefined;
  return { state: entry.json<ExecutionState>(), revision: entry.revision };
}

/** The execution records of the platform. */
export class ExecutionStore {
  private constructor(
    /** The underlying bucket (for watching). */
    readonly kv: KV,
    private readonly js: JetStreamClient,
    private readonly bucket: string,
    private readonly maxAttempts: number,
    private readonly maxRecordBytes: number,
  ) {}

  /** Opens the bucket, creating it when missing. */
  static async open(js: JetStreamClient, options: ExecutionStoreOptions = {}): Promise<ExecutionStore> {
    const bucket = options.bucket ?? EXECUTIONS_BUCKET;
    const kv = await new Kvm(js).create(bucket, {
      history: 5,
      ttl: options.ttlMs ?? 7 * DAY_MS,
      replicas: options.replicas ?? 1,
    });
    return new ExecutionStore(kv, js, bucket, options.maxAttempts ?? 50, options.maxRecordBytes ?? Number.POSITIVE_INFINITY);
  }

  /** The current record, or undefined. */
  async get(executionId: string): Promise<StoredExecution | undefined> {
    return decode(await this.kv.get(executionId));
  }

  /**
   * Every execution in the bucket, summarised, in one pass: an ordered consumer delivers the
   * last value of each key (no request per key), and each record is reduced to its summary as
   * it arrives, so a list never holds the full records (inputs, outputs). Unordered; sort with
   * `newestFirst`.
   */
  async summaries(): Promise<ExecutionSummary[]> {
    const found = new Map<string, ExecutionSummary>();
    if ((await this.kv.status()).values === 0) return [];
    const prefix = `$KV.${this.bucket}.`;
    const reader = await this.js.consumers.get(`KV_${this.bucket}`, { filter_subjects: `${prefix}>`, deliver_policy: DeliverPolicy.LastPerSubject });
    try {
      // In batches (one pull each), until the last record; a batch that brings nothing ends the
      // pass too (the records expired meanwhile).
      for (let more = true; more; ) {
        more = false;
        for await (const msg of await reader.fetch({ max_messages: SUMMARY_BATCH, expires: 1000 })) {
          const key = msg.subject.slice(prefix.length);
          const operation = msg.headers?.get('KV-Operation');
          if (operation === 'DEL' || operation === 'PURGE') {
            found.delete(key);
          } else {
            try {
              found.set(key, summarise(msg.json<ExecutionState>()));
            } catch {
              // An unreadable record is not an execution a list can show.
            }
          }
          more = msg.info.pending > 0;
          // The last one: do not wait for the rest of the batch to expire.
          if (!more) break;
        }
      }
    } finally {
      await reader.delete().catch(() => undefined);
    }
    return [...found.values()];
  }

  /**
   * Stores the first record of an execution.
   *
   * @throws ExecutionExistsError when a record exists already
   */
  async create(state: ExecutionState): Promise<StoredExecution> {
    try {
      const revision = await this.kv.create(state.executionId, this.encode(state));
      return { state, revision };
    } catch (err) {
      if (isConflict(err)) throw new ExecutionExistsError(state.executionId);
      throw err;
    }
  }

  /**
   * Read-decide-write with compare-and-set, retried on conflict. `decide` gets the current
   * state (undefined when there is none) and returns the next state, or undefined to leave it
   * as it is. It may run several times, so it must be pure.
   *
   * @returns the stored record after the call and whether this call changed it
   * @throws ExecutionContentionError after `maxAttempts` lost races
   */
  async mutate(
    executionId: string,
    decide: (current: ExecutionState | undefined) => ExecutionState | undefined,
  ): Promise<{ stored: StoredExecution | undefined; changed: boolean }> {
    for (let attempt = 1; attempt <= this.maxAttempts; attempt++) {
      const current = await this.get(executionId);
      const next = decide(current?.state);
      if (next === undefined) return { stored: current, changed: false };
      try {
        const value = this.encode(next);
        const revision =
          current === undefined ? await this.kv.create(executionId, value) : await this.kv.update(executionId, value, current.revision);
        return { stored: { state: next, revision }, changed: true };
      } catch (err) {
        if (!isConflict(err)) throw err;
        // Someone else wrote first: back off a little (jittered) and decide again on fresh state.
        await new Promise((resolve) => setTimeout(resolve, Math.random() * Math.min(50, attempt * 5)));
      }
    }
    throw new ExecutionContentionError(executionId, this.maxAttempts);
  }

  private encode(state: ExecutionState): string {
    const value = JSON.stringify(state);
    const size = Buffer.byteLength(value);
    if (size > this.maxRecordBytes) throw new ExecutionRecordTooLargeError(state.executionId, size, this.maxRecordBytes);
    return value;
  }
}
