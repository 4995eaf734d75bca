/**
 * The writer of the correlation index (correlation-index.ts): the durable consumer
 * `correlation-indexer` on the whole EVENTS stream. For each event it adds the event's stream
 * sequence to its flow's index message and only then acknowledges it, so the consumer's ack
 * floor is a promise readers rely on: every event at or below it is in the index.
 *
 * Index messages are rewritten with compare-and-set (`Nats-Expected-Last-Subject-Sequence`),
 * so instances sharing the durable never lose each other's entries; events of one flow that
 * arrive while its message is being written go into the next write together. A failed write
 * is retried by redelivery (never given up), and a redelivered event already in the index
 * costs no write.
 */
import { JetStreamApiError } from '@nats-io/jetstream';
import type { JetStreamClient, JetStreamManager, JsMsg } from '@nats-io/jetstream';
import { CORRELATION_INDEXER, correlationIndexSubject, flowKeyOf, loadIndexEntry } from './correlation-index.js';
import type { IndexEntry } from './correlation-index.js';
import { JetStreamSubscription } from './jetstream-subscription.js';
import type { ConsumerSpec } from './jetstream-subscription.js';
import type { Logger } from './logger.js';
import { StreamNames } from './topology.js';

/** Options of {@link startCorrelationIndexer}. */
export interface CorrelationIndexerOptions {
  /** Events being indexed at once (default 256). */
  concurrency?: number;
  /** How long `stop()` waits for writes in flight (ms, default 10 000). */
  stopTimeoutMs?: number;
}

/** A running indexer. */
export interface CorrelationIndexer {
  /** Stops fetching and waits (bounded) for the writes in flight. */
  stop(): Promise<void>;
}

/** Events being indexed at once by default. */
const DEFAULT_CONCURRENCY = 256;

/**
 * The indexer's durable consumer, as the indexer runs it and `multi-agent provision` creates
 * it: one consumer of the whole EVENTS stream (filter `>`), every event retried until indexed.
 */
export function correlationIndexerConsumer(serviceName: string, concurrency = DEFAULT_CONCURRENCY): ConsumerSpec & { durableName: string } {
  return {
    stream: StreamNames.EVENTS,
    durableName: CORRELATION_INDEXER,
    filterSubject: '>',
    ackWaitMs: 30_000,
    // An event must never be left out of the index: retry until the write succeeds.
    maxDeliver: -1,
    deliverPolicy: 'all',
    description: `service=${serviceName} correlation indexer`,
    concurrency,
  };
}

/** "wrong last sequence": another writer changed the index message since it was read. */
const WRONG_LAST_SEQUENCE = 10071;
/** Index messages remembered between writes, so a busy flow is not read back before each one. */
const CACHED_ENTRIES = 10_000;
/** Pause before a failed write's event is delivered again. */
const RETRY_DELAY_MS = 1000;

/** Waiters for one flow's next write. */
interface PendingWrite {
  seqs: number[];
  settle: ((err?: Error) => void)[];
}

/** Writes index messages, at most one per flow at a time. */
class IndexWriter {
  private readonly cache = new Map<string, IndexEntry>();
  private readonly writing = new Set<string>();
  private readonly pending = new Map<string, PendingWrite>();

  constructor(
    private readonly js: JetStreamClient,
    private readonly jsm: JetStreamManager,
  ) {}

  /** Resolves once `seq` is in the index message `subject`. */
  add(subject: string, seq: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const next = this.pending.get(subject) ?? { seqs: [], settle: [] };
      next.seqs.push(seq);
      next.settle.push((err) => (err === undefined ? resolve() : reject(err)));
      this.pending.set(subject, next);
      if (!this.writing.has(subject)) void this.drain(subject);
    });
  }

  private async drain(subject: string): Promise<void> {
    this.writing.add(subject);
    for (let batch = this.pending.get(subject); batch !== undefined; batch = this.pending.get(subject)) {
      this.pending.delete(subject);
      let failure: Error | undefined;
      try {
        await this.write(subject, batch.seqs);
      } catch (err) {
        failure = err instanceof Error ? err : new Error(String(err));
      }
      for (const settle of batch.settle) settle(failure);
    }
    this.writing.delete(subject);
  }

  private async write(subject: string, seqs: number[]): Promise<void> {
    for (;;) {
      const entry = this.cache.get(subject) ?? (await loadIndexEntry(this.jsm, subject));
      const known = new Set(entry.seqs);
      const added = seqs.filter((s) => !known.has(s));
      if (added.length === 0) return;
      const merged = [...entry.seqs, ...added].sort((a, b) => a - b);
      try {
        const ack = await this.js.publish(subject, JSON.stringify({ seqs: merged }), { expect: { lastSubjectSequence: entry.revision } });
        this.remember(subject, { seqs: merged, revision: ack.seq });
        return;
      } catch (err) {
        this.cache.delete(subject);
        if (!(err instanceof JetStreamApiError && err.code === WRONG_LAST_SEQUENCE)) throw err;
        // Another instance wrote first: read its version and merge again.
      }
    }
  }

  private remember(subject: string, entry: IndexEntry): void {
    this.cache.delete(subject);
    if (this.cache.size >= CACHED_ENTRIES) {
      const oldest = this.cache.keys().next();
      if (oldest.done !== true) this.cache.delete(oldest.value);
    }
    this.cache.set(subject, entry);
  }
}

/**
 * Starts indexing EVENTS on the shared durable `correlation-indexer`, created when missing
 * (from the stream's first event, so an existing stream is indexed back) unless `lookupOnly`
 * says it is provisioned by an admin: then a missing one fails with `NotProvisionedError`.
 */
export async function startCorrelationIndexer(
  js: JetStreamClient,
  jsm: JetStreamManager,
  runner: { serviceName: string; logger: Logger; lookupOnly: boolean },
  options: CorrelationIndexerOptions = {},
): Promise<CorrelationIndexer> {
  const { logger } = runner;
  const writer = new IndexWriter(js, jsm);
  const process = async (msg: JsMsg): Promise<void> => {
    const key = flowKeyOf(msg.headers);
    try {
      // A message without event headers belongs to no flow: nothing to index.
      if (key !== undefined) await writer.add(correlationIndexSubject(key), msg.seq);
      msg.ack();
    } catch (err) {
      logger.warn({ err, seq: msg.seq }, 'correlation index write failed; the event will be indexed on redelivery');
      msg.nak(RETRY_DELAY_MS);
    }
  };
  const subscription = new JetStreamSubscription(
    js,
    jsm,
    { ...correlationIndexerConsumer(runner.serviceName, options.concurrency), lookupOnly: runner.lookupOnly },
    process,
    { stopTimeoutMs: options.stopTimeoutMs ?? 10_000, logger, subject: StreamNames.EVENTS },
  );
  await subscription.start();
  return { stop: () => subscription.stop() };
}
