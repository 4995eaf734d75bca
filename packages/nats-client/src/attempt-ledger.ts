/**
 * The attempt ledger: how many times the handler really ran for an event that failed or was
 * held by a process that died, and when its trouble started, shared by every instance and
 * surviving crashes. The server's delivery count cannot say this: a delivery burned by a
 * neighbour's crash, or handed back without running, counts there too. Only failures and
 * crash suspects are written, so an event handled at its first delivery costs nothing here.
 */
import { Kvm } from '@nats-io/kv';
import type { KV } from '@nats-io/kv';
import type { JetStreamClient } from '@nats-io/jetstream';

/** What the ledger knows about one stored event for one consumer. */
export interface AttemptRecord {
  /** Handler runs so far (a run whose process died counts). */
  attempts: number;
  /** ISO time of the first failure, whichever instance saw it. */
  firstFailureAt: string;
  /** The delivery this consumer nak'd after a failure: its next delivery is an expected retry, not a crash. */
  nakedDelivery?: number;
}

/** The bucket every client's subscriptions share. */
export const ATTEMPT_LEDGER_BUCKET = 'DELIVERY_ATTEMPTS';
// Longer than the EVENTS stream keeps an event: a record never expires while its event can come back.
const RECORD_TTL_MS = 8 * 24 * 3600 * 1000;
const SAFE_TOKEN = /^[-_=a-zA-Z0-9]+$/;

/** Per-(consumer, stream sequence) attempt records in a JetStream KV bucket, opened on first use. */
export class AttemptLedger {
  private bucket: Promise<KV> | undefined;

  constructor(
    private readonly js: JetStreamClient,
    private readonly replicas: number,
  ) {}

  /** The record, or undefined when the event never failed here. */
  async get(consumer: string, streamSequence: number): Promise<AttemptRecord | undefined> {
    const entry = await (await this.open()).get(ledgerKey(consumer, streamSequence));
    return entry === null || entry.operation !== 'PUT' ? undefined : entry.json<AttemptRecord>();
  }

  async put(consumer: string, streamSequence: number, record: AttemptRecord): Promise<void> {
    await (await this.open()).put(ledgerKey(consumer, streamSequence), JSON.stringify(record));
  }

  /** Forgets the event once it is acked or dead-lettered. */
  async delete(consumer: string, streamSequence: number): Promise<void> {
    await (await this.open()).delete(ledgerKey(consumer, streamSequence));
  }

  private open(): Promise<KV> {
    this.bucket ??= openAttemptLedgerBucket(this.js, this.replicas).catch((err: unknown) => {
      // Not cached: the next call tries again (a cluster may still be forming).
      this.bucket = undefined;
      throw err;
    });
    return this.bucket;
  }
}

/** Opens the ledger's bucket, creating it when missing. */
export function openAttemptLedgerBucket(js: JetStreamClient, replicas: number): Promise<KV> {
  return new Kvm(js).create(ATTEMPT_LEDGER_BUCKET, { ttl: RECORD_TTL_MS, history: 1, replicas });
}

function ledgerKey(consumer: string, streamSequence: number): string {
  const token = SAFE_TOKEN.test(consumer) ? consumer : `x${Buffer.from(consumer).toString('hex')}`;
  return `${token}.${streamSequence}`;
}
