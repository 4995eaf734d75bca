/**
 * The NATS identities of the rendered manifests work end to end: each service's password
 * Secret reference is the one the NATS servers read for that service's user, a server
 * running the rendered `authorization` block admits each service with the identity its
 * Deployment sets and refuses an anonymous client, and the streams land in account `$G`,
 * the account the KEDA scalers read.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { AuthorizationError } from '@nats-io/nats-core';
import { connect } from '@nats-io/transport-node';
import { NatsClient, loadNatsConfig } from '@multi-agent/nats-client';
import { NatsServer } from '@multi-agent/testing';
import { SERVICES } from './code-facts.js';
import { overlayDir, podSpec, render, type K8sObject } from './k8s/render.js';

interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: { secretKeyRef?: { name: string; key: string } };
}

const objects = render(overlayDir('prod'));
const find = (kind: string, name: string): K8sObject => objects.find((o) => o.kind === kind && o.metadata.name === name)!;
const envOf = (workload: K8sObject): EnvVar[] => (podSpec(workload)!.containers[0]!.env ?? []) as EnvVar[];
const natsConfig = (find('ConfigMap', 'nats-config').data as Record<string, string>)['nats.conf']!;
const natsEnv = envOf(find('StatefulSet', 'nats'));

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

/** The variable the config reads the password of `user` from (`{ user: x, password: $VAR }`). */
function passwordVariableOf(user: string): string {
  const match = new RegExp(`\\{\\s*user:\\s*${user},\\s*password:\\s*\\$(\\w+)\\s*\\}`).exec(natsConfig);
  if (match === null) throw new Error(`nats.conf has no user ${user}`);
  return match[1]!;
}

describe('NATS identities of the prod overlay', () => {
  let server: NatsServer;

  beforeAll(async () => {
    // The server container's environment, with the Secrets' made-up values.
    for (const variable of natsEnv) {
      const ref = variable.valueFrom?.secretKeyRef;
      if (ref !== undefined) process.env[variable.name] = secretValue(ref);
    }
    const authorization = /^authorization \{[\s\S]*?^\}/m.exec(natsConfig.replace(/^ {4}/gm, ''));
    expect(authorization).not.toBeNull();
    server = await NatsServer.start({ extraConfig: authorization![0] });
  });

  afterAll(async () => {
    await server?.stop();
  });

  it('each service reads its password from the Secret the servers read it from', () => {
    for (const service of SERVICES) {
      const env = envOf(find('Deployment', service));
      const user = env.find((e) => e.name === 'NATS_USER')!.value!;
      const serverSide = natsEnv.find((e) => e.name === passwordVariableOf(user))?.valueFrom?.secretKeyRef;
      expect(env.find((e) => e.name === 'NATS_PASSWORD')?.valueFrom?.secretKeyRef, service).toEqual(serverSide);
    }
  });

  it('refuses a client without an identity', async () => {
    await expect(connect({ servers: server.url, reconnect: false })).rejects.toBeInstanceOf(AuthorizationError);
  });

  it.each(SERVICES)('admits %s with its Deployment identity, and its streams live in account $G', async (service) => {
    const env = envOf(find('Deployment', service));
    const client = new NatsClient(
      loadNatsConfig({
        NATS_URL: server.url,
        NATS_USER: env.find((e) => e.name === 'NATS_USER')!.value,
        NATS_PASSWORD: secretValue(env.find((e) => e.name === 'NATS_PASSWORD')!.valueFrom!.secretKeyRef!),
      }),
      service,
    );
    await client.connect();
    await client.close();
    const jsz = (await (await fetch(`http://127.0.0.1:${server.monitorPort}/jsz?accounts=true&streams=true`)).json()) as {
      account_details: { name: string; stream_detail?: { name: string }[] }[];
    };
    const global = jsz.account_details.find((a) => a.name === '$G');
    expect(global?.stream_detail?.map((s) => s.name)).toContain('EVENTS');
  });
});
