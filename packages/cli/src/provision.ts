/**
 * Provisioning the platform on a server: the streams, every KV bucket and the object store,
 * and each durable consumer the bus-access declaration names, configured as the services'
 * clients would create them. Idempotent; says where the server drifted from the topology.
 */
import type { NatsClient, ProvisionResult } from '@multi-agent/nats-client';
import {
  CORRELATION_INDEXER,
  platformStreams,
  provisionBucket,
  provisionClientBuckets,
  provisionCorrelationIndexer,
  provisionDeadLetterWatcher,
  provisionDurable,
  provisionStreams,
} from '@multi-agent/nats-client';
import { CLAIM_CHECK_BUCKET, ClaimCheckStore, declaredDurables, EXECUTIONS_BUCKET, ExecutionStore } from '@multi-agent/service-kit';

/** What `provision` found and did. */
export interface ProvisionReport {
  results: ProvisionResult[];
  /** Durable consumers on a platform stream that no declaration names (left alone). */
  undeclared: { stream: string; durable: string }[];
}

/**
 * Creates what is missing and updates what drifted, on the server `client` is connected to
 * (by an identity allowed to manage streams and consumers, without a DLQ watcher).
 */
export async function provisionTopology(client: NatsClient): Promise<ProvisionReport> {
  const { js, jsm } = client.jetstream;
  const { replicas } = client.config;
  const results: ProvisionResult[] = await provisionStreams(jsm, client.config);
  results.push(...(await provisionClientBuckets(js, jsm, client.config)));
  results.push(await provisionBucket(jsm, 'bucket', EXECUTIONS_BUCKET, () => ExecutionStore.open(js, { replicas })));
  results.push(await provisionBucket(jsm, 'object-store', CLAIM_CHECK_BUCKET, () => ClaimCheckStore.open(js, { replicas })));
  const durables = declaredDurables(platformStreams(client.config));
  for (const d of durables) {
    // The shared watcher and the indexer carry settings of their own; the rest are handler durables.
    if (d.service === undefined) results.push(await provisionDeadLetterWatcher(jsm));
    else if (d.durable === CORRELATION_INDEXER) results.push(await provisionCorrelationIndexer(jsm, d.service));
    else results.push(await provisionDurable(jsm, client.config, { ...d, service: d.service }));
  }
  const declared = new Set(durables.map((d) => `${d.stream}/${d.durable}`));
  const undeclared: ProvisionReport['undeclared'] = [];
  for (const stream of platformStreams(client.config)) {
    for await (const c of jsm.consumers.list(stream.name)) {
      const durable = c.config.durable_name;
      if (durable !== undefined && !declared.has(`${stream.name}/${durable}`)) undeclared.push({ stream: stream.name, durable });
    }
  }
  return { results, undeclared };
}
