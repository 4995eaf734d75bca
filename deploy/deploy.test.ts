/**
 * The deployment files stay valid: nats-server accepts both configs, and the Kubernetes
 * manifests declare what the guide promises (JetStream, 10Gi storage, services, health checks).
 */
import { describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { parse, parseAllDocuments } from 'yaml';
import { natsServerBinary } from '@multi-agent/testing';

const here = (path: string): string => fileURLToPath(new URL(path, import.meta.url));
const run = promisify(execFile);

interface K8sObject {
  kind: string;
  metadata: { name: string; namespace?: string };
  spec?: Record<string, unknown>;
  data?: Record<string, string>;
}

interface StatefulSet {
  spec: {
    replicas: number;
    template: { spec: { containers: Record<string, unknown>[] } };
    volumeClaimTemplates: { spec: { resources: { requests: { storage: string } } } }[];
  };
}

const manifests = parseAllDocuments(readFileSync(here('./k8s/nats/nats.yaml'), 'utf8')).map((d) => d.toJS() as K8sObject);
const byKind = (kind: string): K8sObject[] => manifests.filter((m) => m.kind === kind);

async function configIsValid(text: string): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'natsconf-'));
  const file = join(dir, 'nats.conf');
  writeFileSync(file, text);
  const { stdout, stderr } = await run(natsServerBinary(), ['-t', '-c', file], { env: { ...process.env, POD_NAME: 'nats-0' } });
  return stdout + stderr;
}

describe('deployment files', () => {
  it('local nats.conf is accepted by nats-server and enables JetStream', async () => {
    const text = readFileSync(here('./nats/nats.conf'), 'utf8');
    expect(await configIsValid(text)).toMatch(/is valid/);
    expect(text).toMatch(/jetstream \{/);
  });

  it('compose runs NATS with the local config, both ports and a health check', () => {
    const compose = parse(readFileSync(here('./compose.yaml'), 'utf8')) as { services: Record<string, Record<string, unknown>> };
    const nats = compose.services.nats!;
    expect(nats.ports).toEqual(['4222:4222', '8222:8222']);
    expect(JSON.stringify(nats.healthcheck)).toContain('/healthz');
  });

  it('the Kubernetes NATS is a 3-node JetStream StatefulSet with 10Gi volumes, services and probes', async () => {
    expect(manifests.every((m) => m.metadata.namespace === 'multi-agent')).toBe(true);
    const [config] = byKind('ConfigMap');
    expect(await configIsValid(config!.data!['nats.conf']!)).toMatch(/is valid/);
    const [sts] = byKind('StatefulSet') as unknown as StatefulSet[];
    expect(sts!.spec.replicas).toBe(3);
    expect(sts!.spec.volumeClaimTemplates[0]!.spec.resources.requests.storage).toBe('10Gi');
    const container = sts!.spec.template.spec.containers[0]!;
    for (const probe of ['startupProbe', 'livenessProbe', 'readinessProbe']) expect(container[probe]).toBeDefined();
    expect(byKind('Service').map((s) => s.metadata.name).sort()).toEqual(['nats', 'nats-external', 'nats-headless']);
    const namespace = parse(readFileSync(here('./k8s/namespace.yaml'), 'utf8')) as K8sObject;
    expect(namespace).toMatchObject({ kind: 'Namespace', metadata: { name: 'multi-agent' } });
  });
});
