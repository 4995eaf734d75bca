/**
 * Creates the platform streams when missing and updates them when their config drifted, or, in
 * lookup-only mode (an identity that may not manage streams), only checks that they exist.
 * Never deletes a stream. Drift the server refuses to change (storage, retention) is reported.
 */
import { DiscardPolicy, JetStreamApiCodes, JetStreamApiError, RetentionPolicy, StorageType } from '@nats-io/jetstream';
import type { JetStreamManager, StreamConfig, StreamInfo } from '@nats-io/jetstream';
import { nanos } from '@nats-io/nats-core';
import { asPermissionError, NotProvisionedError, PROVISION_COMMAND } from './errors.js';
import { isAlreadyExists, withApiRetry } from './jetstream-api.js';
import type { StreamSpec } from './topology.js';

/** What `ensureStreams` did to one stream. */
export interface StreamReconcileResult {
  stream: string;
  action: 'created' | 'updated' | 'unchanged' | 'drift-not-updated';
  /** Fields that differed from the spec. */
  drift: string[];
  /** Why an update was refused, when it was. */
  error?: string;
}

function toConfig(spec: StreamSpec): Partial<StreamConfig> & { name: string } {
  return {
    name: spec.name,
    subjects: spec.subjects,
    retention: RetentionPolicy.Limits,
    storage: StorageType.File,
    discard: DiscardPolicy.Old,
    max_age: nanos(spec.maxAgeMs),
    max_msgs: spec.maxMsgs,
    max_bytes: spec.maxBytes,
    max_msgs_per_subject: spec.maxMsgsPerSubject ?? -1,
    duplicate_window: nanos(spec.duplicateWindowMs),
    num_replicas: spec.replicas,
  };
}

/** Fields of the live stream that differ from the spec. */
export function streamDrift(spec: StreamSpec, live: StreamConfig): string[] {
  const want = toConfig(spec);
  const drift: string[] = [];
  const sameSubjects =
    live.subjects.length === spec.subjects.length && spec.subjects.every((s) => live.subjects.includes(s));
  if (!sameSubjects) drift.push('subjects');
  for (const key of ['retention', 'storage', 'discard', 'max_age', 'max_msgs', 'max_bytes', 'max_msgs_per_subject', 'duplicate_window', 'num_replicas'] as const) {
    if (live[key] !== want[key]) drift.push(key);
  }
  return drift;
}

function isStreamNotFound(err: unknown): boolean {
  return err instanceof JetStreamApiError && err.code === JetStreamApiCodes.StreamNotFound;
}

/**
 * Creates or updates each stream (with `lookupOnly`, only looks each up); returns what happened
 * to each. Calls the server leaves unanswered (a replica group forming on a cluster) are retried
 * until `timeoutMs`.
 *
 * @throws NotProvisionedError when a stream is missing and this client may not (or must not) create it
 */
export async function ensureStreams(jsm: JetStreamManager, specs: readonly StreamSpec[], timeoutMs: number, lookupOnly = false): Promise<StreamReconcileResult[]> {
  const results: StreamReconcileResult[] = [];
  for (const spec of specs) {
    const info: StreamInfo | undefined = await withApiRetry(`stream info ${spec.name}`, timeoutMs, () =>
      jsm.streams.info(spec.name).catch((err: unknown) => {
        if (isStreamNotFound(err)) return undefined;
        throw err;
      }),
    );
    if (info === undefined) {
      if (lookupOnly) throw new NotProvisionedError(`stream ${spec.name}`);
      const created = await withApiRetry(`create stream ${spec.name}`, timeoutMs, () =>
        jsm.streams.add(toConfig(spec)).then(
          () => true,
          (err: unknown) => {
            if (isAlreadyExists(err)) return false;
            throw err;
          },
        ),
      ).catch((err: unknown) => {
        if (asPermissionError(err) !== undefined) throw new NotProvisionedError(`stream ${spec.name}`, { cause: err });
        throw err;
      });
      if (!created) {
        // Another instance created it meanwhile: reconcile against what it made.
        results.push(...(await ensureStreams(jsm, [spec], timeoutMs, lookupOnly)));
        continue;
      }
      results.push({ stream: spec.name, action: 'created', drift: [] });
      continue;
    }
    const drift = streamDrift(spec, info.config);
    if (drift.length === 0) {
      results.push({ stream: spec.name, action: 'unchanged', drift });
      continue;
    }
    if (lookupOnly) {
      results.push({ stream: spec.name, action: 'drift-not-updated', drift, error: `not updated by this client: run \`${PROVISION_COMMAND}\`` });
      continue;
    }
    try {
      // Storage and retention cannot change in place: update the rest.
      const { name: _name, storage: _storage, retention: _retention, ...updatable } = toConfig(spec);
      await jsm.streams.update(spec.name, updatable);
      const refused = drift.filter((f) => f === 'storage' || f === 'retention');
      results.push(
        refused.length === 0
          ? { stream: spec.name, action: 'updated', drift }
          : { stream: spec.name, action: 'drift-not-updated', drift, error: `${refused.join(', ')} cannot be changed on a live stream` },
      );
    } catch (err) {
      results.push({ stream: spec.name, action: 'drift-not-updated', drift, error: err instanceof Error ? err.message : String(err) });
    }
  }
  return results;
}
