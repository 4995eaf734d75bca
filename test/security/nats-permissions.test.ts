/**
 * The generated NATS permissions on a real server: a server runs the `auth generate` config,
 * `admin` provisions it, and every identity is refused what its declaration does not give it,
 * with a typed error from the client (never a silent drop or a hang); a workflow runs end to
 * end through all five services, each connected as itself.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { createUser } from '@nats-io/nkeys';
import { envFileOf, main, parseEnvFile, provisionTopology } from '@multi-agent/cli';
import { startAgentService } from '@multi-agent/agent-service';
import { createApiKey, parseApiKeys, startGateway } from '@multi-agent/gateway-service';
import { LocalModelProvider, startModelService } from '@multi-agent/model-service';
import { asPermissionError, ClientErrorCodes, CORRELATION_INDEXER, errorCode, loadNatsConfig, NatsClient, PROVISION_COMMAND } from '@multi-agent/nats-client';
import type { NatsConfigInput } from '@multi-agent/nats-client';
import { startOrchestration } from '@multi-agent/orchestration-service';
import { BUS_IDENTITIES, declaredDurables, loadWorkflows, mayPublish } from '@multi-agent/service-kit';
import type { BusIdentity, PlatformService } from '@multi-agent/service-kit';
import { NatsServer, rejectionOf } from '@multi-agent/testing';
import { startToolService } from '@multi-agent/tool-service';
import { readSse } from '../platform/support/sse.js';
import { Cleanup, connectService, testLogger, waitFor } from '../platform/support/platform.js';

const SERVICES: PlatformService[] = ['gateway', 'orchestration', 'agent', 'tool', 'model'];
const NOT_ADMIN = BUS_IDENTITIES.filter((i) => i !== 'admin');

let dir: string;
let server: NatsServer;
let admin: NatsClient;
let authConfig: string;
/** The execution the end-to-end run completed, for the CLI's read commands. */
let executionId = '';
const cleanup = new Cleanup();

/** The config an identity connects with: its generated env file, on the test's server. */
async function identityConfig(identity: BusIdentity, url = server.url): Promise<NatsConfigInput> {
  const env = parseEnvFile(await readFile(envFileOf(dir, identity), 'utf8'));
  return { ...loadNatsConfig({ ...env, NATS_URL: url, NATS_IDEMPOTENCY_STORE: 'kv' }), retryBackoffMs: [100], maxReconnectAttempts: 0 };
}

/** A connected client of `identity`, closed after the suite. */
async function connectAs(identity: BusIdentity): Promise<NatsClient> {
  const client = new NatsClient(await identityConfig(identity), `probe-${identity}`, { logger: testLogger, deadLetterWatcher: false });
  await client.connect();
  cleanup.add(() => client.close());
  return client;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'nats-permissions-'));
  expect(await main(['auth', 'generate', '--out', dir], { out: () => undefined, err: () => undefined })).toBe(0);
  // nats-server 2.9 resolves an include relative to the including file, so the account goes in as text.
  authConfig = await readFile(join(dir, 'auth.conf'), 'utf8');
  server = await NatsServer.start({ extraConfig: authConfig });
  admin = new NatsClient(await identityConfig('admin'), 'multi-agent-cli', { logger: testLogger, deadLetterWatcher: false, setUpStreams: false });
  await admin.connect();
  const report = await provisionTopology(admin);
  expect(report.results.filter((r) => r.action === 'drift-not-updated')).toEqual([]);
});

afterAll(async () => {
  await cleanup.run();
  await admin?.close();
  await server?.stop();
  await rm(dir, { recursive: true, force: true });
});

describe('connecting', () => {
  it('refuses a connection without a key, and one with an unknown key', async () => {
    const anonymous = new NatsClient({ servers: [server.url], maxReconnectAttempts: 0, connectTimeoutMs: 2000 }, 'anonymous', { logger: testLogger });
    expect(errorCode(await rejectionOf(() => anonymous.connect()))).toBe(ClientErrorCodes.AUTH_FAILED);
    const stranger = new NatsClient(
      { servers: [server.url], maxReconnectAttempts: 0, connectTimeoutMs: 2000, auth: { nkeySeed: new TextDecoder().decode(createUser().getSeed()) } },
      'stranger',
      { logger: testLogger },
    );
    const err = await rejectionOf(() => stranger.connect());
    expect(errorCode(err)).toBe(ClientErrorCodes.AUTH_FAILED);
    expect(String(err)).toMatch(/authorization/i);
  });

  it('fails a service on an unprovisioned server with an error naming the command to run', async () => {
    const bare = await NatsServer.start({ extraConfig: authConfig });
    try {
      for (const provision of [false, true]) {
        const tool = new NatsClient({ ...(await identityConfig('tool', bare.url)), provision }, 'tool', { logger: testLogger });
        const err = await rejectionOf(() => tool.connect());
        expect(errorCode(err)).toBe(ClientErrorCodes.NOT_PROVISIONED);
        expect((err as Error).message).toContain(PROVISION_COMMAND);
      }
      const info = await (await fetch(`http://127.0.0.1:${bare.monitorPort}/jsz?accounts=true`)).json() as { streams: number };
      expect(info.streams).toBe(0);
    } finally {
      await bare.stop();
    }
  });
});

describe.each(NOT_ADMIN)('%s', (identity) => {
  it('is refused a publish outside its declaration, with a PermissionError', async () => {
    const client = await connectAs(identity);
    const subject = ['vector.denied.probe', 'workflow.execution.requested', 'model.token.stream.probe'].find((s) => !mayPublish(identity, s));
    expect(subject).toBeDefined();
    const err = await rejectionOf(() => client.publish({ eventType: subject!, data: {} }));
    expect(errorCode(err)).toBe(ClientErrorCodes.PERMISSION_DENIED);
    expect(err).toMatchObject({ operation: 'publish', subject });
    // Nothing was stored.
    expect((await admin.jetstream.jsm.streams.info('EVENTS', { subjects_filter: subject! })).state.subjects ?? {}).toEqual({});
  });

  it('is refused a request and a subscription outside its declaration, with a PermissionError', async () => {
    const client = await connectAs(identity);
    const request = await rejectionOf(() => client.request('tool.execute.denied', { eventType: 'tool.execute.denied', data: {} }, 2000));
    expect(errorCode(request)).toBe(ClientErrorCodes.PERMISSION_DENIED);
    const subscribe = await rejectionOf(() => client.subscribe('tool.execute.denied', () => undefined));
    expect(errorCode(subscribe)).toBe(ClientErrorCodes.PERMISSION_DENIED);
    expect(subscribe).toMatchObject({ operation: 'subscribe', subject: 'tool.execute.denied' });
    // A reader of a stream subject it does not declare may not create the consumer (readonly reads every stream).
    const unread = ['vector.denied.probe', 'model.token.denied.probe'].find((s) => !mayPublish(identity, `$JS.API.CONSUMER.CREATE.${s.startsWith('vector') ? 'EVENTS' : 'TOKENS'}.probe.${s}`));
    expect(unread === undefined).toBe(identity === 'readonly');
    if (unread !== undefined) {
      const reader = await rejectionOf(() => client.subscribe(unread, () => undefined, undefined, { broadcast: true }));
      expect(errorCode(reader)).toBe(ClientErrorCodes.PERMISSION_DENIED);
    }
  });

  it('may not delete, purge or update a stream, nor delete another service\'s durable', async () => {
    const client = await connectAs(identity);
    const { jsm } = client.jetstream;
    const before = await admin.jetstream.jsm.streams.info('EVENTS');
    const attempts: [string, () => Promise<unknown>][] = [
      ['$JS.API.STREAM.DELETE.EVENTS', () => jsm.streams.delete('EVENTS')],
      ['$JS.API.STREAM.PURGE.EVENTS', () => jsm.streams.purge('EVENTS')],
      ['$JS.API.STREAM.UPDATE.EVENTS', () => jsm.streams.update('EVENTS', { max_msgs: 1 })],
      ['$JS.API.STREAM.DELETE.DLQ', () => jsm.streams.delete('DLQ')],
      ...declaredDurables()
        .filter((d) => d.service !== identity)
        .map((d): [string, () => Promise<unknown>] => [`$JS.API.CONSUMER.DELETE.${d.stream}.${d.durable}`, () => jsm.consumers.delete(d.stream, d.durable)]),
    ];
    for (const [subject, attempt] of attempts) {
      expect(asPermissionError(await rejectionOf(attempt))).toMatchObject({ code: ClientErrorCodes.PERMISSION_DENIED, subject });
    }
    const after = await admin.jetstream.jsm.streams.info('EVENTS');
    expect(after.config.max_msgs).toBe(before.config.max_msgs);
    for (const d of declaredDurables()) expect((await admin.jetstream.jsm.consumers.info(d.stream, d.durable)).name).toBe(d.durable);
  });
});

describe('admin', () => {
  it('provisions idempotently and may not delete a stream', async () => {
    const again = await provisionTopology(admin);
    expect(again.results.filter((r) => r.action !== 'unchanged')).toEqual([]);
    expect(asPermissionError(await rejectionOf(() => admin.jetstream.jsm.streams.delete('EVENTS')))?.subject).toBe('$JS.API.STREAM.DELETE.EVENTS');
  });
});

describe('a workflow with auth on', () => {
  it('runs end to end through all five services, each connected as itself', async () => {
    const workflows = await loadWorkflows();
    const services = new Map<PlatformService, NatsClient>();
    for (const service of SERVICES) {
      const client = await connectService(server.url, service, await identityConfig(service));
      cleanup.add(() => client.close());
      services.set(service, client);
    }
    cleanup.add(await startToolService(services.get('tool')!));
    cleanup.add(await startModelService(services.get('model')!, { provider: new LocalModelProvider({ tokenDelayMs: 1 }) }));
    cleanup.add(await startAgentService(services.get('agent')!, { workflows }));
    cleanup.add(await startOrchestration(services.get('orchestration')!, { workflows, sweepIntervalMs: 200 }));
    const operator = createApiKey('operator', 'admin');
    const gateway = await startGateway(services.get('gateway')!, { workflows, port: 0, sseHeartbeatMs: 1000, auth: { apiKeys: parseApiKeys(operator.entry) } });
    cleanup.add(gateway);
    const authorization = `Bearer ${operator.key}`;
    const fetch = (url: string, init: RequestInit = {}): Promise<Response> => globalThis.fetch(url, { ...init, headers: { ...(init.headers as Record<string, string>), authorization } });

    const response = await fetch(`${gateway.url}/api/workflows/research-summary/executions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ input: { topic: 'least privilege' } }),
    });
    expect(response.status).toBe(202);
    ({ executionId } = (await response.json()) as { executionId: string });
    const state = await waitFor(async () => {
      const body = (await (await fetch(`${gateway.url}/api/executions/${executionId}`)).json()) as { status: string };
      return body.status === 'completed' || body.status === 'failed' ? body : undefined;
    }, 30_000, 'the workflow to end');
    expect(state).toMatchObject({ status: 'completed' });
    const events = (await (await fetch(`${gateway.url}/api/executions/${executionId}/events`)).json()) as { events: { eventType: string }[] };
    expect(events.events.map((e) => e.eventType)).toEqual(expect.arrayContaining(['execution.completed', 'agent.execution.completed']));
    const tokens = await readSse(`${gateway.url}/api/executions/${executionId}/tokens`, { headers: { authorization } });
    expect(tokens.events.length).toBeGreaterThan(1);
    // Nothing was dead-lettered along the way (a refused call would have been).
    expect((await admin.jetstream.jsm.streams.info('DLQ')).state.messages).toBe(0);

    // The console's operator views and actions work as the gateway.
    const get = async (path: string): Promise<number> => (await fetch(`${gateway.url}${path}`)).status;
    expect(await get('/api/streams')).toBe(200);
    expect(await get('/api/executions')).toBe(200);
    expect(await get('/api/dead-letters')).toBe(200);
    const { seq } = await admin.jetstream.js.publish('dlq.probe', 'not a record');
    const purge = await fetch(`${gateway.url}/api/dead-letters/purge`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ sequences: [seq] }) });
    expect(await purge.json()).toEqual({ purged: [seq], notFound: [] });
    expect((await admin.jetstream.jsm.streams.info('DLQ')).state.messages).toBe(0);

    // A poison event is dead-lettered by the service that could not decode it, under its own permissions.
    await admin.jetstream.js.publish('tool.execution.requested', 'not an event');
    const records = await waitFor(async () => {
      const dlq = await admin.jetstream.jsm.streams.info('DLQ', { subjects_filter: 'dlq.*' });
      return dlq.state.subjects?.['dlq.tool-tool_execution_requested'];
    }, 15_000, 'the poison event in the DLQ');
    expect(records).toBe(1);
  });
});

describe('the correlation index', () => {
  it('is written by the gateway alone', async () => {
    for (const identity of BUS_IDENTITIES) expect(mayPublish(identity, 'index.correlation.probe'), identity).toBe(identity === 'gateway');
    for (const client of [await connectAs('orchestration'), await connectAs('readonly'), admin]) {
      const err = await rejectionOf(() => client.jetstream.js.publish('index.correlation.probe', JSON.stringify({ seqs: [1] })));
      expect(asPermissionError(err)).toMatchObject({ code: ClientErrorCodes.PERMISSION_DENIED, subject: 'index.correlation.probe' });
    }
    expect((await admin.jetstream.jsm.streams.info('EVENT_INDEX', { subjects_filter: 'index.correlation.probe' })).state.subjects ?? {}).toEqual({});
  });

  it('is read through by the gateway and readonly: the index, the events it lists, and the scan of the tail', async () => {
    expect(executionId).not.toBe('');
    const { jsm } = admin.jetstream;
    await waitFor(async () => {
      const info = await jsm.consumers.info('EVENTS', CORRELATION_INDEXER);
      return info.num_pending === 0 && info.num_ack_pending === 0 ? true : undefined;
    }, 15_000, 'the indexer to catch up');
    for (const identity of ['gateway', 'readonly'] as const) {
      const client = await connectAs(identity);
      const read = await client.readCorrelation(executionId);
      expect(read).toMatchObject({ scanned: 0, complete: true });
      expect(read.indexed).toBe(read.events.length);
      // The ordered consumer the catch-up scan uses finds the same flow.
      const scanned = [];
      for await (const stored of client.readEvents({ correlationId: executionId })) scanned.push(stored.seq);
      expect(read.events.map((e) => e.seq)).toEqual(scanned);
      expect(read.events.map((e) => e.event.eventType)).toEqual(expect.arrayContaining(['workflow.execution.requested', 'execution.completed']));
    }
  });
});

describe('the CLI as readonly', () => {
  const bin = fileURLToPath(new URL('../../packages/cli/bin/multi-agent.js', import.meta.url));

  async function cli(...argv: string[]): Promise<string> {
    const env = parseEnvFile(await readFile(envFileOf(dir, 'readonly'), 'utf8'));
    const { stdout } = await promisify(execFile)(process.execPath, [bin, ...argv, '--server', server.url], { env: { ...process.env, ...env, LOG_LEVEL: 'error' } });
    return stdout;
  }

  it('runs the read commands: streams with consumers, dead letters, a flow\'s trace, the audit trail', async () => {
    expect(executionId).not.toBe('');
    const streams = JSON.parse(await cli('streams', '--consumers', '--json')) as { consumers: { name: string }[] };
    expect(streams.consumers.map((c) => c.name)).toEqual(expect.arrayContaining(declaredDurables().map((d) => d.durable)));
    const deadLetters = JSON.parse(await cli('dlq', 'ls', '--json')) as unknown[];
    expect(deadLetters).toHaveLength(1);
    const trace = JSON.parse(await cli('trace', executionId, '--json')) as unknown;
    expect(JSON.stringify(trace)).toContain('execution.completed');
    // The audit trail says who started the workflow and who purged a dead letter.
    const audit = JSON.parse(await cli('audit', '--json')) as { action: string; userId: string; executionId?: string }[];
    expect(audit, JSON.stringify(audit)).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ action: 'execution.started', userId: 'operator', executionId }),
        expect.objectContaining({ action: 'dead-letters.purged', userId: 'operator' }),
      ]),
    );
  });
});
