/**
 * Provisioning, an admin act: creating ahead of the services what their clients would create
 * on connect and subscribe (the streams, the client's own KV buckets, durable consumers), with
 * the same configuration, and saying where the server drifted from it. Services whose identity
 * may not create them only look them up (`NatsConfig.provision` false).
 */
import { JetStreamApiCodes, JetStreamApiError } from '@nats-io/jetstream';
import type { ConsumerInfo, JetStreamClient, JetStreamManager } from '@nats-io/jetstream';
import type { KV } from '@nats-io/kv';
import { ATTEMPT_LEDGER_BUCKET, openAttemptLedgerBucket } from './attempt-ledger.js';
import type { NatsConfig } from './config.js';
import { correlationIndexerConsumer } from './correlation-indexer.js';
import { serverMaxDeliver } from './delivery.js';
import { KvIdempotencyStore } from './idempotency/kv-store.js';
import { consumerConfig } from './jetstream-subscription.js';
import type { ConsumerSpec } from './jetstream-subscription.js';
import { openReplayMarkers, REPLAY_BUCKET } from './replay.js';
import { ensureStreams } from './streams.js';
import { DEAD_LETTER_WATCHER_SPEC } from './subscriber.js';
import { platformStreams } from './topology.js';

/** A durable consumer to provision, as the declaration of its service names it. */
export interface DurableConsumerSpec {
  stream: string;
  durable: string;
  filterSubject: string;
  deliverPolicy: 'all' | 'new';
  /** The service whose replicas share it (recorded as `service=<name>`, which the DLQ watcher reads). */
  service: string;
}

/** What provisioning did to one stream, bucket or durable consumer. */
export interface ProvisionResult {
  kind: 'stream' | 'bucket' | 'object-store' | 'durable';
  name: string;
  action: 'created' | 'updated' | 'unchanged' | 'drift-not-updated';
  /** Fields that differed from the topology. */
  drift: string[];
  /** Why drift was left as it is. */
  error?: string;
}

/** The bucket of the `kv` idempotency store. */
const IDEMPOTENCY_BUCKET = 'IDEMPOTENCY';

function isNotFound(err: unknown): boolean {
  return err instanceof JetStreamApiError && (err.code === JetStreamApiCodes.StreamNotFound || err.code === JetStreamApiCodes.ConsumerNotFound);
}

/** Runs `open` (which creates when missing) and says whether the bucket's stream existed before. */
async function bucket(jsm: JetStreamManager, kind: 'bucket' | 'object-store', name: string, stream: string, open: () => Promise<unknown>): Promise<ProvisionResult> {
  const existed = await jsm.streams.info(stream).then(
    () => true,
    (err: unknown) => {
      if (isNotFound(err)) return false;
      throw err;
    },
  );
  await open();
  return { kind, name, action: existed ? 'unchanged' : 'created', drift: [] };
}

/** How long provisioning retries calls a forming cluster leaves unanswered (ms). */
const SETUP_TIMEOUT_MS = 30_000;

/** Creates the platform streams, or updates those that drifted. */
export async function provisionStreams(jsm: JetStreamManager, config: NatsConfig): Promise<ProvisionResult[]> {
  const results = await ensureStreams(jsm, platformStreams(config), SETUP_TIMEOUT_MS);
  return results.map((r) => ({ kind: 'stream', name: r.stream, action: r.action, drift: r.drift, ...(r.error === undefined ? {} : { error: r.error }) }));
}

/** Creates the KV buckets every bus client uses: idempotency, attempt ledger, DLQ replay markers. */
export async function provisionClientBuckets(js: JetStreamClient, jsm: JetStreamManager, config: NatsConfig): Promise<ProvisionResult[]> {
  const { ttlMs } = config.idempotency;
  const buckets: [string, () => Promise<KV>][] = [
    [IDEMPOTENCY_BUCKET, () => KvIdempotencyStore.createBucket(js, { bucket: IDEMPOTENCY_BUCKET, ttlMs, replicas: config.replicas })],
    [ATTEMPT_LEDGER_BUCKET, () => openAttemptLedgerBucket(js, config.replicas)],
    [REPLAY_BUCKET, () => openReplayMarkers(js, config.replicas)],
  ];
  const results: ProvisionResult[] = [];
  for (const [name, open] of buckets) results.push(await bucket(jsm, 'bucket', name, `KV_${name}`, open));
  return results;
}

/** Creates a bucket of a service's own (opened by `open`, which creates it when missing). */
export function provisionBucket(jsm: JetStreamManager, kind: 'bucket' | 'object-store', name: string, open: () => Promise<unknown>): Promise<ProvisionResult> {
  return bucket(jsm, kind, name, kind === 'bucket' ? `KV_${name}` : `OBJ_${name}`, open);
}

/** The consumer a service's `subscribe()` would create for this durable with `config`. */
function serviceConsumer(config: NatsConfig, spec: DurableConsumerSpec): ConsumerSpec {
  return {
    stream: spec.stream,
    durableName: spec.durable,
    filterSubject: spec.filterSubject,
    ackWaitMs: config.ackWaitMs,
    maxDeliver: serverMaxDeliver(config.maxDeliverAttempts),
    deliverPolicy: spec.deliverPolicy,
    description: `service=${spec.service}`,
    concurrency: config.concurrency,
  };
}

/** Fields of a live consumer the server cannot change in place. */
const FIXED_FIELDS = ['filter_subject', 'deliver_policy'] as const;
/** Fields provisioning brings back to the topology. */
const UPDATABLE_FIELDS = ['ack_wait', 'max_deliver', 'description'] as const;

async function provisionConsumer(jsm: JetStreamManager, spec: ConsumerSpec & { durableName: string }): Promise<ProvisionResult> {
  const want = consumerConfig(spec);
  const name = `${spec.stream}/${spec.durableName}`;
  const live: ConsumerInfo | undefined = await jsm.consumers.info(spec.stream, spec.durableName).catch((err: unknown) => {
    if (isNotFound(err)) return undefined;
    throw err;
  });
  if (live === undefined) {
    await jsm.consumers.add(spec.stream, { ...want, durable_name: spec.durableName });
    return { kind: 'durable', name, action: 'created', drift: [] };
  }
  const fixed = FIXED_FIELDS.filter((f) => live.config[f] !== want[f]);
  const updatable = UPDATABLE_FIELDS.filter((f) => live.config[f] !== want[f]);
  const drift = [...fixed, ...updatable];
  if (fixed.length > 0) {
    return { kind: 'durable', name, action: 'drift-not-updated', drift, error: `${fixed.join(', ')} cannot change on a live consumer: delete it and provision again` };
  }
  if (updatable.length === 0) return { kind: 'durable', name, action: 'unchanged', drift };
  await jsm.consumers.update(spec.stream, spec.durableName, Object.fromEntries(updatable.map((f) => [f, want[f]])));
  return { kind: 'durable', name, action: 'updated', drift };
}

/** Creates a service's durable as its `subscribe()` would, or brings a drifted one back. */
export function provisionDurable(jsm: JetStreamManager, config: NatsConfig, spec: DurableConsumerSpec): Promise<ProvisionResult> {
  return provisionConsumer(jsm, { ...serviceConsumer(config, spec), durableName: spec.durable });
}

/** Creates the durable of the DLQ watcher every client runs. */
export function provisionDeadLetterWatcher(jsm: JetStreamManager): Promise<ProvisionResult> {
  return provisionConsumer(jsm, { ...DEAD_LETTER_WATCHER_SPEC, durableName: DEAD_LETTER_WATCHER_SPEC.durableName ?? '' });
}

/** Creates the correlation indexer's durable as `service` (the one that runs it) would. */
export function provisionCorrelationIndexer(jsm: JetStreamManager, service: string): Promise<ProvisionResult> {
  return provisionConsumer(jsm, correlationIndexerConsumer(service));
}
