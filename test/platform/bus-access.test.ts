/**
 * The bus-access declaration against what the services really do: each service runs
 * in-process behind its own NatsProxy, workflows run through the gateway's API, and every
 * subject a service published, called, served or read, and every KV bucket it opened, must be
 * in its declaration.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAgentService } from '@multi-agent/agent-service';
import { createApiKey, parseApiKeys, startGateway } from '@multi-agent/gateway-service';
import { LocalModelProvider, startModelService } from '@multi-agent/model-service';
import type { NatsClient } from '@multi-agent/nats-client';
import { startOrchestration } from '@multi-agent/orchestration-service';
import { busAccessOf, loadWorkflows, SERVICE_BUS_ACCESS, validateWorkflow } from '@multi-agent/service-kit';
import type { PlatformService, StopService } from '@multi-agent/service-kit';
import { NatsProxy, NatsServer } from '@multi-agent/testing';
import { startToolService } from '@multi-agent/tool-service';
import { readSse } from './support/sse.js';
import { emptyAccess, observe, undeclared } from './support/bus-observer.js';
import type { ObservedAccess } from './support/bus-observer.js';
import { Cleanup, connectService, waitFor } from './support/platform.js';

let server: NatsServer;
const cleanup = new Cleanup();
const observed = new Map<PlatformService, ObservedAccess>();
let gatewayUrl = '';
const apiKey = createApiKey('bus-access-test', 'admin');
const authHeaders = { authorization: `Bearer ${apiKey.key}` };

/** Connects `service` through its own proxy, recording what it sends, and starts it. */
async function run(service: PlatformService, start: (client: NatsClient) => Promise<StopService>): Promise<void> {
  const proxy = await NatsProxy.start({ port: server.port });
  cleanup.add(() => proxy.stop());
  const access = emptyAccess();
  observed.set(service, access);
  proxy.onClientOp((op) => observe(access, op));
  const client = await connectService(proxy.url, service);
  cleanup.add(() => client.close());
  cleanup.add(await start(client));
}

async function post(path: string, body: unknown): Promise<Record<string, unknown>> {
  const response = await fetch(`${gatewayUrl}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...authHeaders }, body: JSON.stringify(body) });
  expect(response.status).toBe(202);
  return (await response.json()) as Record<string, unknown>;
}

async function get(path: string): Promise<Record<string, unknown>> {
  return (await (await fetch(`${gatewayUrl}${path}`, { headers: authHeaders })).json()) as Record<string, unknown>;
}

/** Runs a workflow through the API to its end, then reads its events and tokens back. */
async function runWorkflow(workflowId: string, input: Record<string, unknown>): Promise<string> {
  const { executionId } = (await post(`/api/workflows/${workflowId}/executions`, { input })) as { executionId: string };
  const state = await waitFor(async () => {
    const body = await get(`/api/executions/${executionId}`);
    return (body.status === 'completed' || body.status === 'failed') && body.pendingEvents === 0 ? body : undefined;
  }, 30_000, `${workflowId} to end`);
  expect((await get(`/api/executions/${executionId}/events`)).events).not.toHaveLength(0);
  await readSse(`${gatewayUrl}/api/executions/${executionId}/tokens`, { headers: authHeaders });
  return state.status as string;
}

beforeAll(async () => {
  server = await NatsServer.start();
  // The shipped workflows, and one whose model chooses a tool (agent.tool.called).
  const toolUse = validateWorkflow({
    id: 'tool-use',
    name: 'Tool use',
    nodes: [{ id: 'ask', type: 'agent', agent: 'asker', prompt: 'What is calculator({"expression": "2 + 2"})?', modelTools: [{ tool: 'calculator' }] }],
  });
  const workflows = new Map([...(await loadWorkflows()), [toolUse.id, toolUse]]);
  await run('tool', (client) => startToolService(client));
  await run('model', (client) => startModelService(client, { provider: new LocalModelProvider({ tokenDelayMs: 1 }) }));
  await run('agent', (client) => startAgentService(client, { workflows }));
  await run('orchestration', (client) => startOrchestration(client, { workflows, sweepIntervalMs: 200 }));
  await run('gateway', async (client) => {
    const gateway = await startGateway(client, { workflows, port: 0, sseHeartbeatMs: 1000, auth: { apiKeys: parseApiKeys(apiKey.entry) } });
    gatewayUrl = gateway.url;
    return gateway;
  });
  // An agent with a tool call and tokens; tool nodes; a failing tool.
  expect(await runWorkflow('research-summary', { topic: 'contracts' })).toBe('completed');
  expect(await runWorkflow('split-bill', { people: 4 })).toBe('completed');
  expect(await runWorkflow('split-bill', { people: 0 })).toBe('failed');
  expect(await runWorkflow('tool-use', {})).toBe('completed');
  await cleanup.run();
});

afterAll(async () => {
  await cleanup.run();
  await server?.stop();
});

describe('bus access declaration', () => {
  const services = Object.keys(SERVICE_BUS_ACCESS) as PlatformService[];

  it.each(services)('%s uses only the subjects and buckets it declares', (service) => {
    const access = observed.get(service)!;
    expect(access.publishes.size).toBeGreaterThan(0);
    expect(undeclared(service, access, busAccessOf(service))).toEqual([]);
  });

  it.each(services)('%s creates every durable consumer and serves every subject it declares', (service) => {
    const access = observed.get(service)!;
    const durables = SERVICE_BUS_ACCESS[service].consumes.filter((c) => c.durable !== undefined);
    for (const { subject, durable } of durables) {
      // A durable without filter reads every subject of its stream, each declared on its own.
      expect(access.consumers.filter((c) => c.durable === durable).flatMap((c) => c.filters)).toContain(subject);
    }
    expect([...access.serves].sort()).toEqual([...SERVICE_BUS_ACCESS[service].serves].sort());
  });

  it('names what a declaration misses', () => {
    const agent = busAccessOf('agent');
    const withoutModelRequests = { ...agent, publishes: agent.publishes.filter((s) => s !== 'model.inference.requested' && s !== 'agent.tool.called'), calls: [] };
    expect(undeclared('agent', observed.get('agent')!, withoutModelRequests)).toEqual([
      'agent publishes model.inference.requested: not in publishes',
      'agent publishes agent.tool.called: not in publishes',
      'agent calls tool.execute.request: not in calls',
    ]);
  });
});
