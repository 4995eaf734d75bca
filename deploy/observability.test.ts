/**
 * The dashboard and the alert rules query only series that exist: every metric of ours is
 * registered by the services (their registries are instantiated here, on real clients
 * against a real nats-server) with the labels the queries match on, and every other metric
 * is on an explicit allow-list of what the NATS exporter sidecar and kube-state-metrics
 * export. Each alert has a runbook entry in the README.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { Histogram } from 'prom-client';
import { NatsServer } from '@multi-agent/testing';
import { NatsClient } from '@multi-agent/nats-client';
import { loadWorkflows, serviceNatsConfig, defaultWorkflowsDir } from '@multi-agent/service-kit';
import { startGateway } from '@multi-agent/gateway-service';
import { startOrchestration } from '@multi-agent/orchestration-service';
import { startAgentService } from '@multi-agent/agent-service';
import { startToolService } from '@multi-agent/tool-service';
import { LocalModelProvider, startModelService } from '@multi-agent/model-service';
import { repoRoot } from './image/assemble.js';
import { overlayDir, podSpec, render } from './k8s/render.js';
import { selectors } from './observability/promql.js';
import { SERVICES } from './code-facts.js';

/**
 * Metrics from outside our code, by the exporter flag or component that produces them.
 * prometheus-nats-exporter (the sidecar in deploy/k8s/base/nats.yaml): `-varz` gives
 * `gnatsd_varz_*` (default prefix), `-jsz=all` gives `jetstream_server_*`, `jetstream_stream_*`
 * and `jetstream_consumer_*` (labels server_name, stream_name, consumer_name,
 * is_stream_leader, is_consumer_leader, ...). kube-state-metrics gives `kube_*`.
 */
const EXTERNAL_METRICS: Record<string, string[]> = {
  '-varz': ['gnatsd_varz_connections', 'gnatsd_varz_in_msgs', 'gnatsd_varz_out_msgs', 'gnatsd_varz_mem', 'gnatsd_varz_slow_consumers'],
  '-jsz=all': [
    'jetstream_server_total_message_bytes',
    'jetstream_server_max_storage',
    'jetstream_stream_total_messages',
    'jetstream_consumer_num_pending',
    'jetstream_consumer_num_ack_pending',
  ],
  'kube-state-metrics': ['kube_deployment_status_replicas_available', 'kube_statefulset_status_replicas_ready'],
};

/** Labels every scraped series of ours carries besides its own: the registry's default label and the scrape target's. */
const TARGET_LABELS = ['service', 'namespace', 'pod', 'job', 'instance'];

/** The alerts the platform must have (the list), by name. */
const REQUIRED_ALERTS = ['ConsumerLagGrowing', 'DeadLettersWritten', 'HighRedeliveryRate', 'NoReadyReplica', 'JetStreamStorageHigh', 'ExecutionFailureRatioHigh'];

interface Rule {
  alert: string;
  expr: string;
  for?: string;
  labels: { severity: string };
  annotations: { summary: string; runbook: string };
}

const rules = (parse(readFileSync(join(repoRoot, 'deploy/observability/alerts.yaml'), 'utf8')) as { groups: { rules: Rule[] }[] }).groups.flatMap((g) => g.rules);
const dashboard = JSON.parse(readFileSync(join(repoRoot, 'deploy/observability/dashboard.json'), 'utf8')) as {
  uid: string;
  panels: { id: number; type: string; title: string; gridPos: { x: number; w: number }; targets?: { expr: string; refId: string }[] }[];
};
const queries = [
  ...rules.map((r) => ({ where: `alert ${r.alert}`, expr: r.expr })),
  ...dashboard.panels.flatMap((p) => (p.targets ?? []).map((t) => ({ where: `panel "${p.title}"`, expr: t.expr }))),
];

/** Metric name -> label names, of every registry the five services register metrics on. */
async function serviceMetrics(server: NatsServer): Promise<Map<string, string[]>> {
  const workflows = await loadWorkflows(defaultWorkflowsDir());
  const starters: Record<string, (client: NatsClient) => Promise<() => Promise<void>>> = {
    gateway: (client) => startGateway(client, { workflows, port: 0 }),
    orchestration: (client) => startOrchestration(client, { workflows }),
    agent: (client) => startAgentService(client, { workflows }),
    tool: (client) => startToolService(client, {}),
    model: (client) => startModelService(client, { provider: new LocalModelProvider() }),
  };
  const metrics = new Map<string, string[]>();
  for (const service of SERVICES) {
    const client = new NatsClient(serviceNatsConfig({ NATS_URL: server.url }), service);
    await client.connect();
    const stop = await starters[service]!(client);
    try {
      for (const metric of client.metrics.registry.getMetricsAsArray()) {
        const { name, labelNames } = metric as unknown as { name: string; labelNames: string[] };
        metrics.set(name, labelNames);
        if (metric instanceof Histogram) {
          metrics.set(`${name}_bucket`, [...labelNames, 'le']);
          metrics.set(`${name}_sum`, labelNames);
          metrics.set(`${name}_count`, labelNames);
        }
      }
    } finally {
      await stop();
      await client.close();
    }
  }
  return metrics;
}

describe('dashboard and alert rules', () => {
  let server: NatsServer;
  let ours: Map<string, string[]>;

  beforeAll(async () => {
    server = await NatsServer.start();
    ours = await serviceMetrics(server);
  });

  afterAll(async () => {
    await server?.stop();
  });

  it('the services register the metrics this test knows them by', () => {
    for (const name of ['eventbus_consumed_total', 'eventbus_dead_lettered_total', 'gateway_http_requests_total', 'orchestration_executions_total', 'model_tokens_total']) {
      expect([...ours.keys()]).toContain(name);
    }
  });

  it('every query selects a metric the services export (with labels they have) or an allow-listed external one', () => {
    const external = new Set(Object.values(EXTERNAL_METRICS).flat());
    expect(queries.length).toBeGreaterThan(20);
    for (const { where, expr } of queries) {
      const found = selectors(expr);
      expect(found.length, where).toBeGreaterThan(0);
      for (const { metric, labels } of found) {
        if (external.has(metric)) continue;
        const known = ours.get(metric);
        expect(known, `${where}: ${metric} is exported by no service and is not allow-listed`).toBeDefined();
        for (const label of labels) expect([...known!, ...TARGET_LABELS], `${where}: ${metric}{${label}}`).toContain(label);
      }
    }
  });

  it('the NATS exporter sidecar runs with the flags the allow-listed NATS metrics need', () => {
    const nats = render(overlayDir('prod')).find((o) => o.kind === 'StatefulSet' && o.metadata.name === 'nats')!;
    const exporter = podSpec(nats)!.containers.find((c) => c.name === 'exporter') as { args: string[] } | undefined;
    for (const flag of Object.keys(EXTERNAL_METRICS).filter((f) => f.startsWith('-'))) expect(exporter?.args).toContain(flag);
  });

  it('has the alerts the platform needs, each with a severity, a summary and a runbook entry in the README', () => {
    expect(rules.map((r) => r.alert)).toEqual(expect.arrayContaining(REQUIRED_ALERTS));
    const readme = readFileSync(join(repoRoot, 'README.md'), 'utf8');
    const deploying = readme.slice(readme.indexOf('## Deploying'), readme.indexOf('\n## ', readme.indexOf('## Deploying') + 1));
    for (const rule of rules) {
      expect(['warning', 'critical'], rule.alert).toContain(rule.labels.severity);
      expect(rule.annotations.summary, rule.alert).toBeTruthy();
      expect(rule.annotations.runbook).toBe('README.md#deploying');
      expect(deploying, `README "Deploying" explains ${rule.alert}`).toContain(`\`${rule.alert}\``);
    }
  });

  it('the dashboard has unique panel ids and a layout inside the 24-column grid', () => {
    const ids = dashboard.panels.map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const panel of dashboard.panels) {
      expect(panel.gridPos.x + panel.gridPos.w, panel.title).toBeLessThanOrEqual(24);
      const refIds = (panel.targets ?? []).map((t) => t.refId);
      expect(new Set(refIds).size, panel.title).toBe(refIds.length);
    }
  });
});
