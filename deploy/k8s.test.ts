/**
 * The Kubernetes manifests, rendered offline from the overlays (deploy/k8s/render.ts), agree
 * with the API schemas and with the code: probes hit paths and ports the ops servers serve,
 * every variable set is one the code reads, the NATS config is accepted by nats-server, and
 * the platform is closed by default (no public NATS, default-deny network policies, secrets
 * referenced and never committed).
 */
import { describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { makePki, natsServerBinary } from '@multi-agent/testing';
import { inboxPrefixOf } from '@multi-agent/service-kit';
import type { BusIdentity } from '@multi-agent/service-kit';
import { envVariablesRead, opsEndpoint, SERVICES } from './code-facts.js';
import { PROVISION_JOB_ARGS } from './image/assemble.js';
import { overlayDir, podSpec, render, type ContainerSpec, type K8sObject } from './k8s/render.js';
import { validateObject } from './k8s/validate.js';

const run = promisify(execFile);

interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: { secretKeyRef?: { name: string; key: string; optional?: boolean }; fieldRef?: unknown };
}
interface Probe {
  httpGet?: { path: string; port: string | number };
}
interface Container extends ContainerSpec {
  args?: string[];
  env?: EnvVar[];
  envFrom?: { configMapRef?: { name: string }; secretRef?: { name: string } }[];
  ports?: { name?: string; containerPort: number }[];
  securityContext?: Record<string, unknown>;
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  volumeMounts?: { name: string; mountPath: string }[];
  startupProbe?: Probe;
  livenessProbe?: Probe;
  readinessProbe?: Probe;
  lifecycle?: { preStop?: { sleep?: { seconds: number }; exec?: { command: string[] } } };
}
interface PortSpec {
  name?: string;
  port: number | string;
  protocol?: string;
  targetPort?: number | string;
}
interface NetworkPolicyRule {
  from?: Peer[];
  to?: Peer[];
  ports?: PortSpec[];
}
interface Peer {
  podSelector?: { matchLabels?: Record<string, string> };
  namespaceSelector?: { matchLabels?: Record<string, string> };
  ipBlock?: { cidr: string; except?: string[] };
}

const OVERLAYS = ['dev', 'prod'] as const;
const rendered = Object.fromEntries(OVERLAYS.map((o) => [o, render(overlayDir(o))])) as Record<(typeof OVERLAYS)[number], K8sObject[]>;

const ofKind = (objects: K8sObject[], kind: string): K8sObject[] => objects.filter((o) => o.kind === kind);
const named = (objects: K8sObject[], kind: string, name: string): K8sObject => {
  const found = objects.find((o) => o.kind === kind && o.metadata.name === name);
  if (found === undefined) throw new Error(`no ${kind}/${name}`);
  return found;
};
const containersOf = (o: K8sObject): Container[] => podSpec(o)?.containers ?? [];
const templateLabels = (o: K8sObject): Record<string, string> =>
  ((o.spec as { template: { metadata: { labels: Record<string, string> } } }).template.metadata.labels);
const selects = (selector: Record<string, string> | undefined, labels: Record<string, string>): boolean =>
  selector !== undefined && Object.entries(selector).every(([k, v]) => labels[k] === v);

/** The value a container sees for `name`: its own env first, then the ConfigMaps it loads. */
function envValue(objects: K8sObject[], container: Container, name: string): string | undefined {
  const own = container.env?.find((e) => e.name === name);
  if (own !== undefined) return own.value;
  for (const source of container.envFrom ?? []) {
    if (source.configMapRef === undefined) continue;
    const data = named(objects, 'ConfigMap', source.configMapRef.name).data as Record<string, string>;
    if (name in data) return data[name];
  }
  return undefined;
}

/** `nats-server -t` on `main` of the NATS ConfigMap's files, written side by side (one may include another). */
async function natsConfigCheck(files: Record<string, string>, main = 'nats.conf'): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'natsconf-'));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  const file = join(dir, main);
  // The values the StatefulSet gives the server (placeholders for the Secret-held passwords).
  const env: NodeJS.ProcessEnv = { ...process.env, POD_NAME: 'nats-0' };
  for (const [, name] of Object.values(files).join('\n').matchAll(/\$(NATS_PASSWORD_\w+)/g)) env[name!] = `placeholder-${name!.toLowerCase()}`;
  const { stdout, stderr } = await run(natsServerBinary(), ['-t', '-c', file], { env });
  return stdout + stderr;
}

/** Bytes of a Kubernetes quantity (`10Gi`) or a NATS size (`9G`, binary units). */
function bytes(size: string): number {
  const match = /^(\d+)\s*([KMGT])?i?B?$/i.exec(size.trim());
  if (match === null) throw new Error(`not a size: ${size}`);
  return Number(match[1]) * 1024 ** ' KMGT'.indexOf((match[2] ?? ' ').toUpperCase());
}

describe.each(OVERLAYS)('overlay %s', (overlay) => {
  const objects = rendered[overlay];
  const deployments = ofKind(objects, 'Deployment');
  const services = deployments.filter((d) => d.metadata.labels?.['app.kubernetes.io/component'] === 'service');
  const nats = named(objects, 'StatefulSet', 'nats');

  it('renders every object valid against the Kubernetes (and KEDA) schemas, in the namespace, with no Secret values', () => {
    expect(objects.length).toBeGreaterThan(20);
    for (const object of objects) {
      validateObject(object);
      if (object.kind !== 'Namespace') expect(object.metadata.namespace, `${object.kind}/${object.metadata.name}`).toBe('multi-agent');
    }
    expect(ofKind(objects, 'Secret')).toEqual([]);
  });

  it('has one Deployment per service', () => {
    expect(services.map((d) => d.metadata.name).sort()).toEqual([...SERVICES].sort());
  });

  it('every Service selects a pod template and targets ports it declares; the Ingress targets a Service port', () => {
    const workloads = [...deployments, ...ofKind(objects, 'StatefulSet')];
    for (const service of ofKind(objects, 'Service')) {
      const spec = service.spec as { selector: Record<string, string>; ports: PortSpec[] };
      const targets = workloads.filter((w) => selects(spec.selector, templateLabels(w)));
      expect(targets.length, `Service/${service.metadata.name}`).toBeGreaterThan(0);
      const declared = targets.flatMap((w) => containersOf(w).flatMap((c) => c.ports ?? []));
      for (const port of spec.ports) {
        const target = port.targetPort ?? port.port;
        expect(declared.some((p) => p.name === target || p.containerPort === target), `Service/${service.metadata.name} port ${port.name}`).toBe(true);
      }
    }
    for (const ingress of ofKind(objects, 'Ingress')) {
      const rules = (ingress.spec as { rules: { http: { paths: { backend: { service: { name: string; port: { name: string } } } }[] } }[] }).rules;
      for (const { backend } of rules.flatMap((r) => r.http.paths)) {
        const ports = (named(objects, 'Service', backend.service.name).spec as { ports: PortSpec[] }).ports;
        expect(ports.map((p) => p.name)).toContain(backend.service.port.name);
      }
    }
  });

  it.each(SERVICES)('%s: probes hit the ops server where the code serves it, on an address the kubelet reaches', (name) => {
    const ops = opsEndpoint(name);
    const deployment = named(objects, 'Deployment', name);
    const [container] = containersOf(deployment);
    expect(envValue(objects, container!, 'SERVICE')).toBe(name);
    const port = Number(envValue(objects, container!, ops.portVariable) ?? ops.defaultPort);
    expect(envValue(objects, container!, ops.hostVariable)).toBe('0.0.0.0');
    for (const [probe, path] of [['startupProbe', '/healthz'], ['livenessProbe', '/healthz'], ['readinessProbe', '/readyz']] as const) {
      const httpGet = container![probe]?.httpGet;
      expect(httpGet?.path, probe).toBe(path);
      expect(ops.paths).toContain(httpGet!.path);
      const resolved = typeof httpGet!.port === 'number' ? httpGet!.port : container!.ports?.find((p) => p.name === httpGet!.port)?.containerPort;
      expect(resolved, `${probe} port`).toBe(port);
    }
  });

  it.each(SERVICES)('%s: hardened, bounded, /tmp on an emptyDir, and given longer to stop than its drain', (name) => {
    const deployment = named(objects, 'Deployment', name);
    const pod = podSpec(deployment) as unknown as {
      securityContext: Record<string, unknown>;
      terminationGracePeriodSeconds: number;
      volumes: { name: string; emptyDir?: unknown }[];
    };
    const [container] = containersOf(deployment);
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } });
    expect(container!.securityContext).toMatchObject({
      runAsNonRoot: true,
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
      capabilities: { drop: ['ALL'] },
      seccompProfile: { type: 'RuntimeDefault' },
    });
    expect(Object.keys(container!.resources?.requests ?? {}).sort()).toEqual(['cpu', 'memory']);
    expect(container!.resources?.limits?.memory).toBeDefined();
    const tmp = container!.volumeMounts?.find((m) => m.mountPath === '/tmp');
    expect(pod.volumes.find((v) => v.name === tmp?.name)?.emptyDir).toBeDefined();
    // SERVICE_STOP_TIMEOUT_MS is the drain budget; the code's default applies when unset.
    const stopMs = Number(envValue(objects, container!, 'SERVICE_STOP_TIMEOUT_MS') ?? 15_000);
    const preStopSeconds = container!.lifecycle?.preStop?.sleep?.seconds ?? 0;
    expect(pod.terminationGracePeriodSeconds).toBeGreaterThan(stopMs / 1000 + preStopSeconds);
  });

  it('every variable a manifest sets for a service is one the code reads; credentials come from Secrets', () => {
    const read = envVariablesRead();
    for (const deployment of services) {
      const [container] = containersOf(deployment);
      const names = [
        ...(container!.env ?? []).map((e) => e.name),
        ...(container!.envFrom ?? []).flatMap((s) =>
          s.configMapRef === undefined ? [] : Object.keys(named(objects, 'ConfigMap', s.configMapRef.name).data as object),
        ),
      ];
      for (const variable of names) expect(read, `${deployment.metadata.name} sets ${variable}`).toContain(variable);
      for (const e of container!.env ?? []) {
        if (/PASSWORD|TOKEN|_KEYS?$|SEED|SECRET/.test(e.name)) expect(e.valueFrom?.secretKeyRef, e.name).toBeDefined();
      }
      expect(container!.env?.find((e) => e.name === 'NATS_PASSWORD')?.valueFrom?.secretKeyRef?.name).toBe(`nats-identity-${deployment.metadata.name}`);
      // Services only look their streams and durables up, and get replies on their own inbox prefix.
      expect(envValue(objects, container!, 'NATS_PROVISION'), deployment.metadata.name).toBe('false');
      expect(envValue(objects, container!, 'NATS_INBOX_PREFIX')).toBe(inboxPrefixOf(deployment.metadata.name as BusIdentity));
    }
    expect(containersOf(named(objects, 'Deployment', 'model'))[0]!.env?.find((e) => e.name === 'MODEL_API_KEY')?.valueFrom?.secretKeyRef).toBeDefined();
    // The gateway's API keys: hashes from a Secret that may be missing (the gateway then refuses every call).
    const apiKeys = containersOf(named(objects, 'Deployment', 'gateway'))[0]!.env?.find((e) => e.name === 'GATEWAY_API_KEYS');
    expect(apiKeys?.valueFrom?.secretKeyRef).toEqual({ name: 'gateway-api-keys', key: 'keys', optional: true });
  });

  it('the provisioning Job runs the CLI\'s provision as admin, hardened, with only variables the code reads', () => {
    const job = named(objects, 'Job', 'provision');
    const [container] = containersOf(job);
    expect(container!.image).toBe(containersOf(services[0]!)[0]!.image);
    expect(container!.args).toEqual(PROVISION_JOB_ARGS);
    expect(envValue(objects, container!, 'NATS_USER')).toBe('admin');
    expect(container!.env?.find((e) => e.name === 'NATS_PASSWORD')?.valueFrom?.secretKeyRef).toEqual({ name: 'nats-identity-admin', key: 'password' });
    expect(envValue(objects, container!, 'NATS_INBOX_PREFIX')).toBe(inboxPrefixOf('admin'));
    expect(envValue(objects, container!, 'NATS_URL')).toBe(envValue(objects, containersOf(services[0]!)[0]!, 'NATS_URL'));
    expect(envValue(objects, container!, 'NATS_STREAM_REPLICAS')).toBe(envValue(objects, containersOf(services[0]!)[0]!, 'NATS_STREAM_REPLICAS'));
    const read = envVariablesRead();
    for (const { name } of container!.env ?? []) expect(read, name).toContain(name);
    const pod = podSpec(job) as unknown as { securityContext: Record<string, unknown>; restartPolicy: string; volumes: { name: string; emptyDir?: unknown }[] };
    expect(pod.restartPolicy).not.toBe('Always');
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } });
    expect(container!.securityContext).toMatchObject({ readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } });
    const tmp = container!.volumeMounts?.find((m) => m.mountPath === '/tmp');
    expect(pod.volumes.find((v) => v.name === tmp?.name)?.emptyDir).toBeDefined();
  });

  it('a disruption budget covers every service, and NATS never goes below quorum', () => {
    const budgets = ofKind(objects, 'PodDisruptionBudget');
    for (const workload of [...services, nats]) {
      const covering = budgets.filter((b) => selects((b.spec as { selector: { matchLabels: Record<string, string> } }).selector.matchLabels, templateLabels(workload)));
      expect(covering, workload.metadata.name).toHaveLength(1);
    }
    const natsBudget = budgets.find((b) => b.metadata.name === 'nats')!.spec as { minAvailable: number };
    const replicas = (nats.spec as { replicas: number }).replicas;
    expect(replicas).toBe(3);
    expect(natsBudget.minAvailable).toBe(Math.floor(replicas / 2) + 1);
  });

  it('the NATS config passes nats-server -t, lame duck can be signalled through its pid file, and the store fits the volume', async () => {
    const config = (named(objects, 'ConfigMap', 'nats-config').data as Record<string, string>)['nats.conf']!;
    expect(await natsConfigCheck({ 'nats.conf': config })).toMatch(/is valid/);
    const [server] = containersOf(nats);
    const pidFile = /^\s*pid_file:\s*"?([^"\s]+)"?/m.exec(config)?.[1];
    expect(pidFile).toBeDefined();
    expect(server!.lifecycle?.preStop?.exec?.command).toEqual(['nats-server', '--signal', `ldm=${pidFile}`]);
    expect(server!.volumeMounts?.some((m) => pidFile!.startsWith(`${m.mountPath}/`))).toBe(true);
    const grace = podSpec(nats)?.terminationGracePeriodSeconds as number;
    expect(grace).toBeGreaterThan(Number(/lame_duck_duration:\s*(\d+)s/.exec(config)?.[1]));
    const store = bytes(/max_file_store:\s*(\S+)/.exec(config)![1]!);
    const claims = (nats.spec as { volumeClaimTemplates: { spec: { resources: { requests: { storage: string } } } }[] }).volumeClaimTemplates;
    const volume = bytes(claims[0]!.spec.resources.requests.storage);
    expect(store).toBeLessThan(volume);
    expect(store).toBeGreaterThanOrEqual(0.8 * volume);
    // Every variable the server container gets is one its config reads.
    for (const { name } of server!.env ?? []) expect(config, name).toMatch(new RegExp(`\\$${name}\\b`));
    // Every identity the services and the provisioning Job use exists in the server's config.
    for (const name of [...SERVICES, 'admin']) expect(config).toMatch(new RegExp(`user: ${name}, password: \\$NATS_PASSWORD_${name.toUpperCase()}\\b`));
  });

  it('publishes neither NATS client nor monitoring port outside the cluster', () => {
    for (const service of ofKind(objects, 'Service')) {
      const spec = service.spec as { type?: string; ports: PortSpec[] };
      const ports = spec.ports.map((p) => p.port);
      expect(ports, `Service/${service.metadata.name}`).not.toContain(8222);
      if (spec.type === 'LoadBalancer' || spec.type === 'NodePort') expect(ports).not.toContain(4222);
    }
    expect((named(objects, 'Service', 'nats').spec as { type: string }).type).toBe('ClusterIP');
  });

  it('network policies deny by default and admit only the platform paths', () => {
    const policies = ofKind(objects, 'NetworkPolicy').map((p) => p.spec as {
      podSelector: { matchLabels?: Record<string, string> };
      policyTypes: string[];
      ingress?: NetworkPolicyRule[];
      egress?: NetworkPolicyRule[];
    });
    expect(policies).toContainEqual({ podSelector: {}, policyTypes: ['Ingress', 'Egress'] });
    const applying = (labels: Record<string, string>) =>
      policies.filter((p) => p.podSelector.matchLabels === undefined || selects(p.podSelector.matchLabels, labels));
    const isDns = (r: NetworkPolicyRule): boolean => (r.ports ?? []).every((p) => p.port === 53) && (r.ports ?? []).length > 0;
    const natsLabels = templateLabels(nats);
    for (const service of services) {
      const labels = templateLabels(service);
      const egress = applying(labels).flatMap((p) => p.egress ?? []);
      for (const rule of egress.filter((r) => !isDns(r))) {
        if (rule.to?.some((peer) => peer.ipBlock !== undefined)) {
          // Only the model service calls out: HTTPS to a provider, never into the cluster's ranges.
          expect(service.metadata.name).toBe('model');
          expect(rule.ports).toEqual([{ protocol: 'TCP', port: 443 }]);
          continue;
        }
        expect(rule.ports, service.metadata.name).toEqual([{ protocol: 'TCP', port: 4222 }]);
        expect(rule.to!.every((peer) => selects(peer.podSelector?.matchLabels, natsLabels) && peer.namespaceSelector === undefined)).toBe(true);
      }
      const ingress = applying(labels).flatMap((p) => p.ingress ?? []);
      expect(ingress.some((r) => r.from?.some((f) => f.namespaceSelector?.matchLabels?.['kubernetes.io/metadata.name'] === 'monitoring'))).toBe(true);
    }
    // The provisioning Job reaches NATS on 4222 only, and the NATS servers admit it there.
    const jobLabels = templateLabels(named(objects, 'Job', 'provision'));
    const jobEgress = applying(jobLabels).flatMap((p) => p.egress ?? []).filter((r) => !isDns(r));
    expect(jobEgress.length).toBeGreaterThan(0);
    for (const rule of jobEgress) {
      expect(rule.ports).toEqual([{ protocol: 'TCP', port: 4222 }]);
      expect(rule.to!.every((peer) => selects(peer.podSelector?.matchLabels, natsLabels) && peer.namespaceSelector === undefined)).toBe(true);
    }
    expect(applying(jobLabels).flatMap((p) => p.ingress ?? [])).toEqual([]);
    const admitted = (labels: Record<string, string>): boolean =>
      applying(natsLabels)
        .flatMap((p) => p.ingress ?? [])
        .some((r) => r.ports?.some((p) => p.port === 4222) && r.from?.some((f) => f.namespaceSelector === undefined && selects(f.podSelector?.matchLabels, labels)));
    expect(admitted(jobLabels)).toBe(true);
    for (const service of services) expect(admitted(templateLabels(service)), service.metadata.name).toBe(true);
    const gatewayIngress = applying(templateLabels(named(objects, 'Deployment', 'gateway'))).flatMap((p) => p.ingress ?? []);
    expect(gatewayIngress.some((r) => r.from?.some((f) => f.namespaceSelector?.matchLabels?.['kubernetes.io/metadata.name'] === 'ingress-nginx'))).toBe(true);
    const natsIngress = applying(natsLabels).flatMap((p) => p.ingress ?? []);
    const monitorRules = natsIngress.filter((r) => r.ports?.some((p) => p.port === 8222));
    for (const rule of monitorRules) expect(rule.from).toEqual([{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'keda' } } }]);
  });

  it('leaves the replica count of every autoscaled Deployment to its autoscaler', () => {
    for (const deployment of services) expect((deployment.spec as { replicas?: number }).replicas, deployment.metadata.name).toBeUndefined();
  });

  it('autoscales the gateway on CPU and each consuming service exactly once', () => {
    const hpas = ofKind(objects, 'HorizontalPodAutoscaler').map((h) => h.spec as { scaleTargetRef: { name: string }; maxReplicas: number });
    const scaled = ofKind(objects, 'ScaledObject').map((s) => s.spec as { scaleTargetRef: { name: string } });
    expect(hpas.map((h) => h.scaleTargetRef.name)).toContain('gateway');
    for (const name of SERVICES) {
      const count = [...hpas, ...scaled].filter((s) => s.scaleTargetRef.name === name).length;
      expect(count, name).toBe(1);
    }
  });
});

describe('the renderer', () => {
  /** A kustomization with one ConfigMap and `extra` appended, in a temp dir. */
  function kustomization(extra: string): string {
    const dir = mkdtempSync(join(tmpdir(), 'kustomize-'));
    writeFileSync(join(dir, 'cm.yaml'), 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\ndata:\n  A: "1"\n');
    writeFileSync(join(dir, 'kustomization.yaml'), `apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: [cm.yaml]\n${extra}`);
    return dir;
  }

  it('applies a JSON patch to the objects its target selects', () => {
    const dir = kustomization('patches:\n  - target: { kind: ConfigMap, name: cm }\n    patch: |-\n      - { op: replace, path: /data/A, value: "2" }\n');
    expect(render(dir)[0]!.data).toEqual({ A: '2' });
  });

  it('refuses what it does not implement instead of ignoring it', () => {
    expect(() => render(kustomization('configMapGenerator: [{ name: x, literals: [A=1] }]\n'))).toThrow(/configMapGenerator/);
    expect(() => render(kustomization('patches:\n  - target: { kind: ConfigMap }\n    patch: "data: { A: 2 }"\n'))).toThrow(/only JSON patches/);
    expect(() => render(kustomization('patches:\n  - target: { kind: Secret }\n    patch: "[]"\n'))).toThrow(/matches no object/);
  });
});

describe('prod overlay specifics', () => {
  const objects = rendered.prod;

  it('replicates streams three times, pins the image and serves the console over TLS', () => {
    expect((named(objects, 'ConfigMap', 'platform-env').data as Record<string, string>).NATS_STREAM_REPLICAS).toBe('3');
    for (const deployment of ofKind(objects, 'Deployment')) {
      expect(containersOf(deployment)[0]!.image).toMatch(/^[\w.-]+\/multi-agent-platform:\d+\.\d+\.\d+$/);
    }
    expect((named(objects, 'Ingress', 'gateway').spec as { tls?: unknown[] }).tls).toHaveLength(1);
  });

  it('scales each consuming service with KEDA on its durable consumers, through the NATS monitoring port of the headless Service', () => {
    const scaled = ofKind(objects, 'ScaledObject');
    expect(scaled.map((s) => s.metadata.name).sort()).toEqual(['agent', 'model', 'orchestration', 'tool']);
    const natsPod = containersOf(named(objects, 'StatefulSet', 'nats'))[0]!;
    const monitorPort = natsPod.ports!.find((p) => p.name === 'monitor')!.containerPort;
    const headless = (named(objects, 'StatefulSet', 'nats').spec as { serviceName: string }).serviceName;
    for (const object of scaled) {
      const spec = object.spec as { scaleTargetRef: { name: string }; triggers: { metadata: Record<string, string> }[] };
      for (const { metadata } of spec.triggers) {
        expect(metadata.natsServerMonitoringEndpoint).toBe(`${headless}.multi-agent.svc.cluster.local:${monitorPort}`);
        expect(metadata.account).toBe('$G');
        expect(metadata.consumer!.startsWith(`${spec.scaleTargetRef.name}-`)).toBe(true);
      }
    }
  });
});

describe('NATS exposed outside the cluster (overlay prod-nats-exposed, component nats-expose-tls)', () => {
  const objects = render(overlayDir('prod-nats-exposed'));
  const nats = named(objects, 'StatefulSet', 'nats');
  const natsFiles = named(objects, 'ConfigMap', 'nats-config').data as Record<string, string>;
  const services = ofKind(objects, 'Deployment').filter((d) => d.metadata.labels?.['app.kubernetes.io/component'] === 'service');
  const isPublic = (o: K8sObject): boolean => ['LoadBalancer', 'NodePort'].includes((o.spec as { type?: string }).type ?? '');

  it('renders valid objects, and only this overlay has a public Service', () => {
    for (const object of objects) validateObject(object);
    expect(ofKind(objects, 'Secret')).toEqual([]);
    expect(ofKind(objects, 'Service').filter(isPublic).map((s) => s.metadata.name)).toEqual(['nats-external']);
    for (const overlay of OVERLAYS) expect(ofKind(rendered[overlay], 'Service').filter(isPublic), overlay).toEqual([]);
  });

  it('the LoadBalancer publishes the client port only, to the listed source ranges, which a network policy admits', () => {
    const spec = named(objects, 'Service', 'nats-external').spec as {
      ports: PortSpec[];
      selector: Record<string, string>;
      loadBalancerSourceRanges?: string[];
      externalTrafficPolicy?: string;
    };
    expect(spec.ports.map((p) => p.port)).toEqual([4222]);
    expect(selects(spec.selector, templateLabels(nats))).toBe(true);
    const ranges = spec.loadBalancerSourceRanges ?? [];
    expect(ranges.length).toBeGreaterThan(0);
    expect(ranges).not.toContain('0.0.0.0/0');
    // The policy sees the clients' own addresses only when the load balancer keeps them.
    expect(spec.externalTrafficPolicy).toBe('Local');
    const policy = named(objects, 'NetworkPolicy', 'external-clients-to-nats').spec as {
      podSelector: { matchLabels: Record<string, string> };
      ingress: NetworkPolicyRule[];
    };
    expect(selects(policy.podSelector.matchLabels, templateLabels(nats))).toBe(true);
    for (const rule of policy.ingress) {
      expect(rule.ports).toEqual([{ protocol: 'TCP', port: 4222 }]);
      expect(rule.from?.map((peer) => peer.ipBlock?.cidr)).toEqual(ranges);
    }
    // Monitoring stays inside: no Service publishes 8222, no rule admits an address range to it.
    for (const service of ofKind(objects, 'Service')) expect((service.spec as { ports: PortSpec[] }).ports.map((p) => p.port)).not.toContain(8222);
    const ipRules = ofKind(objects, 'NetworkPolicy').flatMap((p) => (p.spec as { ingress?: NetworkPolicyRule[] }).ingress ?? []).filter((r) => r.from?.some((f) => f.ipBlock));
    for (const rule of ipRules) expect(rule.ports?.map((p) => p.port)).toEqual([4222]);
  });

  it('the servers run a config that requires mutual TLS with the certificate from the Secret, and nats-server accepts it', async () => {
    const [server] = containersOf(nats);
    const main = server!.args?.[server!.args.indexOf('-c') + 1];
    expect(main).toBe('/etc/nats/nats-tls.conf');
    const config = natsFiles['nats-tls.conf']!;
    expect(config).toMatch(/^include \.\/nats\.conf$/m);
    const tls = /^tls \{([^}]*)\}/m.exec(config)?.[1] ?? '';
    expect(tls).toMatch(/^\s*verify: true$/m);
    const paths = Object.fromEntries([...tls.matchAll(/^\s*(cert_file|key_file|ca_file): (\S+)$/gm)].map((m) => [m[1] ?? '', m[2] ?? ''] as const));
    expect(Object.keys(paths).sort()).toEqual(['ca_file', 'cert_file', 'key_file']);
    // The files come from the Secret volume mounted where the config reads them.
    const mount = server!.volumeMounts?.find((m) => Object.values(paths).every((p) => p.startsWith(`${m.mountPath}/`)));
    expect(mount).toBeDefined();
    const volume = (podSpec(nats)?.volumes as { name: string; secret?: { secretName: string } }[]).find((v) => v.name === mount!.name);
    expect(volume?.secret?.secretName).toBe('nats-tls');

    const pki = await makePki(['nats']);
    try {
      const local = { cert_file: pki.serverCertFile, key_file: pki.serverKeyFile, ca_file: pki.caFile } as Record<string, string>;
      let runnable = config;
      for (const [key, path] of Object.entries(paths)) runnable = runnable.replace(path, local[key]!);
      expect(await natsConfigCheck({ 'nats.conf': natsFiles['nats.conf']!, 'nats-tls.conf': runnable }, 'nats-tls.conf')).toMatch(/is valid/);
    } finally {
      rmSync(pki.dir, { recursive: true, force: true });
    }
  });

  it('every service and the provisioning Job trust the CA and present the client certificate, from files the Secret volume holds', () => {
    for (const deployment of [...services, named(objects, 'Job', 'provision')]) {
      const [container] = containersOf(deployment);
      const value = (name: string): string | undefined => container!.env?.find((e) => e.name === name)?.value;
      const files = ['NATS_TLS_CA', 'NATS_TLS_CERT', 'NATS_TLS_KEY'].map((name) => value(name));
      for (const file of files) expect(file, deployment.metadata.name).toBeDefined();
      const mount = container!.volumeMounts?.find((m) => files.every((f) => f!.startsWith(`${m.mountPath}/`)));
      expect(mount, deployment.metadata.name).toBeDefined();
      const volume = (podSpec(deployment)?.volumes as { name: string; secret?: { secretName: string } }[]).find((v) => v.name === mount!.name);
      expect(volume?.secret?.secretName).toBe('nats-client-tls');
    }
    expect([...envVariablesRead()]).toEqual(expect.arrayContaining(['NATS_TLS_CA', 'NATS_TLS_CERT', 'NATS_TLS_KEY']));
  });
});
