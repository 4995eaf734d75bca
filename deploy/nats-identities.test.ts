/**
 * The NATS identities of the rendered manifests work end to end, with least privilege: the
 * servers' `authorization` block is the one the bus-access declaration renders, each service's
 * and the provisioning Job's password Secret reference is the one the servers read for that
 * user, and a server running the rendered block refuses an anonymous client, lets `admin`
 * provision with the Job's environment, admits each service with its Deployment's environment
 * (no provisioning), refuses each one what its declaration does not give it, and lets the
 * consuming services pull from the durables `admin` created. The streams land in account `$G`,
 * the account the KEDA scalers read.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { pino } from 'pino';
import { AuthorizationError } from '@nats-io/nats-core';
import { connect } from '@nats-io/transport-node';
import { main, provisionTopology } from '@multi-agent/cli';
import type { ProvisionReport } from '@multi-agent/cli';
import { asPermissionError, ClientErrorCodes, errorCode, loadNatsConfig, NatsClient } from '@multi-agent/nats-client';
import { startOrchestration } from '@multi-agent/orchestration-service';
import { declaredDurables, inboxPrefixOf, loadWorkflows, mayPublish } from '@multi-agent/service-kit';
import type { PlatformService } from '@multi-agent/service-kit';
import { NatsServer, rejectionOf, waitFor } from '@multi-agent/testing';
import { startToolService } from '@multi-agent/tool-service';
import { SERVICES } from './code-facts.js';
import { overlayDir, podSpec, render, type K8sObject } from './k8s/render.js';

interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: { secretKeyRef?: { name: string; key: string } };
}

const logger = pino({ level: process.env.TEST_LOG ?? 'silent' });
const objects = render(overlayDir('prod'));
const find = (kind: string, name: string): K8sObject => objects.find((o) => o.kind === kind && o.metadata.name === name)!;
const envOf = (workload: K8sObject): EnvVar[] => (podSpec(workload)!.containers[0]!.env ?? []) as EnvVar[];
const natsConfig = (find('ConfigMap', 'nats-config').data as Record<string, string>)['nats.conf']!;
const natsEnv = envOf(find('StatefulSet', 'nats'));
const platformEnv = find('ConfigMap', 'platform-env').data as Record<string, string>;
const job = find('Job', 'provision');

/**
 * The Secrets' contents, made up for the test the way deploy/README.md tells to make them
 * (`p` + random hex: nats-server parses a variable's value, and a leading digit would make it
 * a number), by `name/key`.
 */
const secrets = new Map<string, string>();
const secretValue = (ref: { name: string; key: string }): string => {
  const id = `${ref.name}/${ref.key}`;
  if (!secrets.has(id)) secrets.set(id, `p${randomBytes(24).toString('hex')}`);
  return secrets.get(id)!;
};

/** The variable the config reads the password of `user` from (`user: x, password: $VAR`). */
function passwordVariableOf(user: string): string {
  const match = new RegExp(`^\\s*user:\\s*${user},\\s*password:\\s*\\$(\\w+)\\s*$`, 'm').exec(natsConfig);
  if (match === null) throw new Error(`nats.conf has no user ${user}`);
  return match[1]!;
}

/** The generated part of the config: from its header comment to the end of the `authorization` block. */
const generatedBlock = (): string | undefined => /^# Written by `multi-agent auth generate --k8s`[\s\S]*?^authorization \{[\s\S]*?^\}$/m.exec(natsConfig)?.[0];

let server: NatsServer;
let admin: NatsClient;
let report: ProvisionReport;

/** What a workload's container sees (the platform-env ConfigMap, then its own env, Secrets made up), on the test's single server. */
function workloadEnv(workload: K8sObject): Record<string, string> {
  const env: Record<string, string> = { ...platformEnv };
  for (const { name, value, valueFrom } of envOf(workload)) env[name] = value ?? secretValue(valueFrom!.secretKeyRef!);
  return { ...env, NATS_URL: server.url, NATS_STREAM_REPLICAS: '1', NATS_STARTUP_TIMEOUT_MS: '5000' };
}

/** A client connected with the environment of `service`'s Deployment. */
async function connectAsDeployed(service: PlatformService): Promise<NatsClient> {
  const client = new NatsClient(loadNatsConfig(workloadEnv(find('Deployment', service))), service, { logger });
  await client.connect();
  return client;
}

describe('NATS identities of the prod overlay', () => {
  beforeAll(async () => {
    // The server container's environment, with the Secrets' made-up values.
    for (const variable of natsEnv) {
      const ref = variable.valueFrom?.secretKeyRef;
      if (ref !== undefined) process.env[variable.name] = secretValue(ref);
    }
    const authorization = generatedBlock();
    expect(authorization).toBeDefined();
    server = await NatsServer.start({ extraConfig: authorization! });
    // What the provisioning Job does: `multi-agent provision` as admin, with the Job's environment.
    admin = new NatsClient(loadNatsConfig(workloadEnv(job)), 'multi-agent-cli', { logger, deadLetterWatcher: false, setUpStreams: false });
    await admin.connect();
    report = await provisionTopology(admin);
  });

  afterAll(async () => {
    await admin?.close();
    await server?.stop();
  });

  it('runs the authorization block `multi-agent auth generate --k8s` renders from the declaration', async () => {
    const out: string[] = [];
    expect(await main(['auth', 'generate', '--k8s'], { out: (line) => out.push(line), err: () => undefined })).toBe(0);
    expect(generatedBlock()).toBe(out.join('\n'));
  });

  it('each service and the provisioning Job read their password from the Secret the servers read it from', () => {
    for (const workload of [...SERVICES.map((s) => find('Deployment', s)), job]) {
      const env = envOf(workload);
      const user = env.find((e) => e.name === 'NATS_USER')!.value!;
      const serverSide = natsEnv.find((e) => e.name === passwordVariableOf(user))?.valueFrom?.secretKeyRef;
      expect(serverSide, workload.metadata.name).toEqual({ name: `nats-identity-${user}`, key: 'password' });
      expect(env.find((e) => e.name === 'NATS_PASSWORD')?.valueFrom?.secretKeyRef, workload.metadata.name).toEqual(serverSide);
    }
    expect(envOf(job).find((e) => e.name === 'NATS_USER')?.value).toBe('admin');
  });

  it('refuses a client without an identity', async () => {
    await expect(connect({ servers: server.url, reconnect: false })).rejects.toBeInstanceOf(AuthorizationError);
  });

  it('admin provisions every declared durable with the Job\'s environment, into account $G', async () => {
    expect(admin.config.inboxPrefix).toBe(inboxPrefixOf('admin'));
    expect(report.results.filter((r) => r.action === 'drift-not-updated')).toEqual([]);
    for (const d of declaredDurables()) expect((await admin.jetstream.jsm.consumers.info(d.stream, d.durable)).name).toBe(d.durable);
    const jsz = (await (await fetch(`http://127.0.0.1:${server.monitorPort}/jsz?accounts=true&streams=true`)).json()) as {
      account_details: { name: string; stream_detail?: { name: string }[] }[];
    };
    expect(jsz.account_details.find((a) => a.name === '$G')?.stream_detail?.map((s) => s.name)).toContain('EVENTS');
  });

  it.each(SERVICES)('admits %s with its Deployment environment, without provisioning, and refuses it a stream delete and a publish outside its declaration', async (service) => {
    const client = await connectAsDeployed(service);
    try {
      expect(client.config).toMatchObject({ provision: false, inboxPrefix: inboxPrefixOf(service) });
      const del = asPermissionError(await rejectionOf(() => client.jetstream.jsm.streams.delete('EVENTS')));
      expect(del).toMatchObject({ code: ClientErrorCodes.PERMISSION_DENIED, subject: '$JS.API.STREAM.DELETE.EVENTS' });
      const subject = ['vector.denied.probe', 'workflow.execution.requested', 'model.token.stream.probe'].find((s) => !mayPublish(service, s))!;
      const publish = await rejectionOf(() => client.publish({ eventType: subject, data: {} }));
      expect(errorCode(publish)).toBe(ClientErrorCodes.PERMISSION_DENIED);
      expect(publish).toMatchObject({ operation: 'publish', subject });
      expect((await admin.jetstream.jsm.streams.info('EVENTS')).config.name).toBe('EVENTS');
    } finally {
      await client.close();
    }
  });

  it('the tool and the orchestration, connected as deployed, pull from the durables admin created', async () => {
    const tool = await connectAsDeployed('tool');
    const orchestration = await connectAsDeployed('orchestration');
    const stops = [await startToolService(tool), await startOrchestration(orchestration, { workflows: await loadWorkflows() })];
    try {
      for (const service of ['tool', 'orchestration'] as const) {
        for (const d of declaredDurables().filter((durable) => durable.service === service)) {
          // A waiting pull request on the durable: the service looked it up and is consuming.
          await waitFor(async () => (await admin.jetstream.jsm.consumers.info(d.stream, d.durable)).num_waiting > 0, 10_000, `a pull on ${d.durable}`);
        }
      }
    } finally {
      for (const stop of stops) await stop();
      await tool.close();
      await orchestration.close();
    }
  });
});
