/**
 * The services' own metrics, read after doing the thing on a real server: executions counted
 * with their duration by workflow and status, whichever path ends them (a node event, or the
 * sweeper's node timeout), and the gateway's HTTP metrics labelled by route pattern, never by
 * the raw URL.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { NatsClient } from '@multi-agent/nats-client';
import { startOrchestration } from '@multi-agent/orchestration-service';
import { loadWorkflows } from '@multi-agent/service-kit';
import type { StopService, WorkflowDefinition } from '@multi-agent/service-kit';
import { NatsServer } from '@multi-agent/testing';
import { defineTool } from '@multi-agent/tool-service';
import { z } from 'zod';
import { startInProcess } from './support/in-process.js';
import type { InProcessPlatform } from './support/in-process.js';
import { connectService, waitForEnd, workflowMap } from './support/platform.js';

/** A tool that answers only when told to (or aborted): its node outlives its timeout. */
let releaseStall!: () => void;
const stalled = new Promise<void>((resolve) => (releaseStall = resolve));
const stall = defineTool({ id: 'stall', description: 'waits until the test ends', inputSchema: z.object({}), run: () => stalled });

/** A tool node that times out: the sweeper fails the execution. */
const unanswered: WorkflowDefinition = {
  id: 'unanswered-tool',
  name: 'A tool that does not answer in time',
  nodes: [{ id: 'wait', type: 'tool', tool: 'stall', timeoutMs: 300 }],
};

let server: NatsServer;
let platform: InProcessPlatform;
let orchestration: NatsClient;
let stopOrchestration: StopService;

beforeAll(async () => {
  server = await NatsServer.start();
  const workflows = new Map([...(await loadWorkflows()), ...workflowMap(unanswered)]);
  orchestration = await connectService(server.url, 'orchestration');
  stopOrchestration = await startOrchestration(orchestration, { workflows, sweepIntervalMs: 100, startupGraceMs: 0 });
  platform = await startInProcess(server.url, { workflows, services: ['gateway', 'agent', 'tool', 'model'], tools: [stall] });
});

afterAll(async () => {
  releaseStall();
  await platform?.stop();
  await stopOrchestration?.();
  await orchestration?.close();
  await server?.stop();
});

/** The value of the series of `name` that has (at least) `labels`, in Prometheus text (0 when absent). */
function sample(text: string, name: string, labels: Record<string, string>): number {
  const pairs = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  const line = text.split('\n').find((l) => l.startsWith(`${name}{`) && pairs.every((p) => l.slice(0, l.indexOf('}')).split(/,|\{/).includes(p)));
  return line === undefined ? 0 : Number(line.slice(line.lastIndexOf(' ') + 1));
}

async function start(workflowId: string): Promise<string> {
  const response = await fetch(`${platform.gatewayUrl}/api/workflows/${workflowId}/executions`, { method: 'POST', headers: platform.authHeaders });
  expect(response.status).toBe(202);
  return ((await response.json()) as { executionId: string }).executionId;
}

it('counts ended executions by workflow and status, with their duration, a node timeout included', async () => {
  const completed = await waitForEnd(platform.store, await start('split-bill'));
  expect(completed.status).toBe('completed');
  const timedOut = await waitForEnd(platform.store, await start('unanswered-tool'));
  expect(timedOut.error?.code).toBe('NODE_TIMEOUT');

  const text = await orchestration.metrics.registry.metrics();
  expect(sample(text, 'orchestration_executions_total', { workflow: 'split-bill', status: 'completed' })).toBe(1);
  expect(sample(text, 'orchestration_executions_total', { workflow: 'unanswered-tool', status: 'failed' })).toBe(1);
  expect(sample(text, 'orchestration_execution_duration_seconds_count', { workflow: 'split-bill', status: 'completed' })).toBe(1);
  const seconds = sample(text, 'orchestration_execution_duration_seconds_sum', { workflow: 'split-bill', status: 'completed' });
  expect(seconds).toBeGreaterThan(0);
  expect(seconds).toBeLessThanOrEqual((Date.parse(completed.finishedAt!) - Date.parse(completed.requestedAt)) / 1000 + 0.001);
  // At least the node timeout, from the request.
  expect(sample(text, 'orchestration_execution_duration_seconds_sum', { workflow: 'unanswered-tool', status: 'failed' })).toBeGreaterThanOrEqual(0.3);
});

it('labels HTTP requests by method, route pattern and status', async () => {
  const missing = 'no-such-execution-4711';
  const headers = platform.authHeaders;
  expect((await fetch(`${platform.gatewayUrl}/api/executions/${missing}`, { headers })).status).toBe(404);
  expect((await fetch(`${platform.gatewayUrl}/api/executions/${missing}`, { headers })).status).toBe(404);
  expect((await fetch(`${platform.gatewayUrl}/no/such/path`, { headers })).status).toBe(404);
  const text = await (await fetch(`${platform.gatewayUrl}/metrics`)).text();
  expect(sample(text, 'gateway_http_requests_total', { method: 'GET', route: '/api/executions/:executionId', status: '404' })).toBe(2);
  expect(sample(text, 'gateway_http_requests_total', { method: 'POST', route: '/api/workflows/:workflowId/executions', status: '202' })).toBeGreaterThanOrEqual(1);
  expect(sample(text, 'gateway_http_requests_total', { method: 'GET', route: 'unmatched', status: '404' })).toBe(1);
  expect(sample(text, 'gateway_http_request_duration_seconds_count', { method: 'GET', route: '/api/executions/:executionId' })).toBe(2);
  expect(text).not.toContain(missing);
  expect(text).not.toContain('/no/such/path');
});
