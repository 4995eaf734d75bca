import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EventSubjects } from '@multi-agent/events';
import { NatsServer } from '@multi-agent/testing';
import { startInProcess } from './support/in-process.js';
import type { InProcessPlatform } from './support/in-process.js';
import { waitFor } from './support/platform.js';
import { readSse, tokenText } from './support/sse.js';

let server: NatsServer;
let platform: InProcessPlatform;
let base: string;

beforeAll(async () => {
  server = await NatsServer.start();
  platform = await startInProcess(server.url);
  base = platform.gatewayUrl;
});

afterAll(async () => {
  await platform?.stop();
  await server.stop();
});

interface ApiEvent {
  seq: number;
  eventId: string;
  eventType: string;
  correlationId?: string;
  causationId?: string;
  data: Record<string, unknown>;
}

async function call(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(`${base}${path}`, {
    method,
    headers: { ...platform.authHeaders, ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
    ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

async function start(workflowId: string, input?: Record<string, unknown>): Promise<string> {
  const { status, body } = await call('POST', `/api/workflows/${workflowId}/executions`, input === undefined ? undefined : { input });
  expect(status).toBe(202);
  expect(body).toMatchObject({ workflowId, status: 'requested', links: { tokens: `/api/executions/${body.executionId as string}/tokens` } });
  return body.executionId as string;
}

async function finished(executionId: string): Promise<Record<string, unknown>> {
  return waitFor(async () => {
    const { body } = await call('GET', `/api/executions/${executionId}`);
    return (body.status === 'completed' || body.status === 'failed') && body.pendingEvents === 0 ? body : undefined;
  }, 30_000, `execution ${executionId} to finish`);
}

async function events(executionId: string): Promise<ApiEvent[]> {
  const { status, body } = await call('GET', `/api/executions/${executionId}/events`);
  expect(status).toBe(200);
  return body.events as ApiEvent[];
}

/** Every event but the first is caused by an event of the same execution: the timeline is one tree. */
function expectOneCausationTree(list: ApiEvent[], executionId: string): void {
  const ids = new Set(list.map((e) => e.eventId));
  expect(list[0]!.eventType).toBe(EventSubjects.WORKFLOW_EXECUTION_REQUESTED);
  expect(list[0]!.causationId).toBeUndefined();
  for (const event of list) expect(event.correlationId).toBe(executionId);
  for (const event of list.slice(1)) expect(ids.has(event.causationId!)).toBe(true);
  expect(list.map((e) => e.seq)).toEqual([...list.map((e) => e.seq)].sort((a, b) => a - b));
}

describe('gateway API: requests and validation', () => {
  it('lists the workflows with their inputs and nodes', async () => {
    const { status, body } = await call('GET', '/api/workflows');
    expect(status).toBe(200);
    const list = body.workflows as { id: string; input: Record<string, unknown>; nodes: { id: string; dependsOn: string[] }[] }[];
    expect(list.map((w) => w.id).sort()).toEqual(['perspectives', 'research-summary', 'split-bill']);
    expect(list.find((w) => w.id === 'perspectives')!.nodes.find((n) => n.id === 'verdict')!.dependsOn).toEqual(['optimist', 'sceptic']);
    expect((await call('GET', '/api/workflows/split-bill')).body).toMatchObject({ id: 'split-bill', nodes: [{ id: 'total' }, { id: 'share' }, { id: 'message' }] });
  });

  it('answers an unknown workflow with 404 and a message naming the known ones', async () => {
    const { status, body } = await call('POST', '/api/workflows/does-not-exist/executions', { input: {} });
    expect(status).toBe(404);
    expect(body).toEqual({ error: 'WORKFLOW_NOT_FOUND', message: 'workflow "does-not-exist" does not exist (available: perspectives, research-summary, split-bill)' });
    expect((await call('GET', '/api/workflows/does-not-exist')).status).toBe(404);
  });

  it('rejects bad input with 400 and says what is wrong', async () => {
    const wrongType = await call('POST', '/api/workflows/split-bill/executions', { input: { people: 'four', colour: 'red' } });
    expect(wrongType.status).toBe(400);
    expect(wrongType.body).toMatchObject({ error: 'INVALID_INPUT', issues: ['input "colour" is not declared by workflow "split-bill" (declared: receipt, people, tip_percent)', 'input "people" must be a number'] });
    expect((await call('POST', '/api/workflows/split-bill/executions', { input: 5 })).body).toMatchObject({ error: 'INVALID_REQUEST', message: 'body/input must be object' });
    expect((await call('POST', '/api/workflows/split-bill/executions', { input: {}, extra: 1 })).status).toBe(400);
    expect((await call('POST', '/api/workflows/split-bill/executions', '{not json')).status).toBe(400);
    expect((await call('POST', '/api/workflows/bad.id/executions', {})).body).toMatchObject({ error: 'INVALID_REQUEST' });
    expect((await call('GET', '/api/executions/x.>')).status).toBe(400);
    expect((await call('GET', '/api/executions/00000000-0000-0000-0000-000000000000')).body).toEqual({
      error: 'EXECUTION_NOT_FOUND',
      message: 'execution "00000000-0000-0000-0000-000000000000" does not exist',
    });
    expect((await call('GET', '/api/executions/00000000-0000-0000-0000-000000000000/tokens')).status).toBe(404);
    expect((await call('GET', '/nope')).status).toBe(404);
  });

  it('serves health, readiness and metrics', async () => {
    expect(await call('GET', '/healthz')).toMatchObject({ status: 200, body: { service: 'gateway', status: 'ok' } });
    expect(await call('GET', '/readyz')).toMatchObject({ status: 200, body: { status: 'ok', nats: { connected: true } } });
    const metrics = await (await fetch(`${base}/metrics`)).text();
    expect(metrics).toMatch(/gateway_http_requests_total\{method="GET",route="\/healthz",status="200",service="gateway"\} \d+/);
    expect(metrics).toContain('eventbus_published_total');
  });
});

describe('gateway API: executions end to end', () => {
  it('runs the linear research-then-summarise chain: state, events as one causation tree, tokens over SSE', async () => {
    const executionId = await start('research-summary', { topic: 'stream processing' });
    const state = await finished(executionId);
    expect(state).toMatchObject({ status: 'completed', workflowId: 'research-summary', correlationId: executionId, input: { topic: 'stream processing', audience: 'platform engineers' } });
    const nodes = state.nodes as Record<string, { status: string; output: { text: string; tokenCount: number; tools?: { today: { date: string } } } }>;
    expect(Object.values(nodes).map((n) => n.status)).toEqual(['completed', 'completed']);
    expect(nodes.research!.output.tools!.today.date).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    expect(nodes.research!.output.text).toContain('stream processing');
    expect(state.output).toEqual(nodes.summarise!.output);

    const list = await events(executionId);
    expectOneCausationTree(list, executionId);
    expect(list.map((e) => e.eventType)).toEqual([
      'workflow.execution.requested',
      'execution.started',
      'execution.node.started',
      'agent.execution.requested',
      'agent.execution.started',
      'model.inference.requested',
      'model.inference.completed',
      'agent.execution.completed',
      'execution.node.completed',
      'execution.node.started',
      'agent.execution.requested',
      'agent.execution.started',
      'model.inference.requested',
      'model.inference.completed',
      'agent.execution.completed',
      'execution.node.completed',
      'execution.completed',
    ]);

    const sse = await readSse(`${base}/api/executions/${executionId}/tokens`, { headers: platform.authHeaders });
    const tokens = sse.events.filter((e) => e.event === 'message');
    expect(tokens.map((e) => Number(e.id))).toEqual(tokens.map((_, i) => i + 1));
    // Each token names its node: the nodes' texts, one after the other (they ran in sequence).
    expect(tokenText(sse.events, 'research')).toBe(nodes.research!.output.text);
    expect(tokenText(sse.events, 'summarise')).toBe(nodes.summarise!.output.text);
    expect(tokenText(sse.events)).toBe(`${nodes.research!.output.text}${nodes.summarise!.output.text}`);
    expect(sse.events.at(-1)).toMatchObject({ event: 'end', id: String(tokens.length + 1) });

    // Resuming after token k (header or query) gives exactly k+1..N, then the end.
    for (const resume of [{ headers: { 'last-event-id': '7' } }, { query: '?lastEventId=7' }]) {
      const again = await readSse(`${base}/api/executions/${executionId}/tokens${resume.query ?? ''}`, { headers: { ...platform.authHeaders, ...resume.headers } });
      const rest = again.events.filter((e) => e.event === 'message');
      expect(rest.map((e) => Number(e.id))).toEqual(tokens.slice(7).map((e) => Number(e.id)));
      expect(tokenText(tokens.slice(0, 7)) + tokenText(rest)).toBe(tokenText(tokens));
    }
    expect((await call('GET', `/api/executions/${executionId}/tokens`, undefined, { 'last-event-id': 'abc' })).body).toMatchObject({ error: 'INVALID_LAST_EVENT_ID' });
  });

  it('runs the fan-out/fan-in workflow: both perspectives before the verdict, which gets both', async () => {
    const executionId = await start('perspectives');
    const state = await finished(executionId);
    expect(state.status).toBe('completed');
    const list = await events(executionId);
    expectOneCausationTree(list, executionId);
    const seqOf = (type: string, nodeId: string): number => list.find((e) => e.eventType === type && e.data.nodeId === nodeId)!.seq;
    const verdictStart = seqOf(EventSubjects.EXECUTION_NODE_STARTED, 'verdict');
    expect(seqOf(EventSubjects.EXECUTION_NODE_COMPLETED, 'optimist')).toBeLessThan(verdictStart);
    expect(seqOf(EventSubjects.EXECUTION_NODE_COMPLETED, 'sceptic')).toBeLessThan(verdictStart);
    // Both branches were dispatched before either finished: they ran in parallel.
    expect(seqOf(EventSubjects.AGENT_EXECUTION_REQUESTED, 'sceptic')).toBeLessThan(seqOf(EventSubjects.EXECUTION_NODE_COMPLETED, 'optimist'));
    const verdictInput = list.find((e) => e.eventType === EventSubjects.AGENT_EXECUTION_REQUESTED && e.data.nodeId === 'verdict')!.data.input as {
      parents: Record<string, { text: string }>;
    };
    const nodes = state.nodes as Record<string, { output: { text: string } }>;
    expect(verdictInput.parents).toEqual({ optimist: nodes.optimist!.output, sceptic: nodes.sceptic!.output });
    expect(state.output).toEqual(nodes.verdict!.output);
    // The branches streamed at once into one token stream; each token names its node, so each text reads whole.
    const sse = await readSse(`${base}/api/executions/${executionId}/tokens`, { headers: platform.authHeaders });
    for (const nodeId of ['optimist', 'sceptic', 'verdict']) expect(tokenText(sse.events, nodeId)).toBe(nodes[nodeId]!.output.text);
  });

  it('a failing tool fails its node, then the execution, and the reason is visible in the API', async () => {
    const executionId = await start('split-bill', { people: 0 });
    const state = await finished(executionId);
    expect(state).toMatchObject({
      status: 'failed',
      error: { code: 'DIVISION_BY_ZERO', nodeId: 'share', message: 'division by zero in "round(120 * (1 + 10 / 100) / 0, 2)"' },
      nodes: {
        total: { status: 'completed', output: { value: 120 } },
        share: { status: 'failed', error: { code: 'DIVISION_BY_ZERO' } },
        message: { status: 'skipped' },
      },
    });
    const list = await events(executionId);
    expectOneCausationTree(list, executionId);
    expect(list.map((e) => e.eventType).slice(-4)).toEqual(['tool.execution.requested', 'tool.execution.failed', 'execution.node.failed', 'execution.failed']);
    expect(list.at(-1)!.data).toMatchObject({ nodeId: 'share', error: { code: 'DIVISION_BY_ZERO' } });
    // No model ran, and the token stream still ends (the model service completes it on execution.failed).
    const sse = await readSse(`${base}/api/executions/${executionId}/tokens`, { headers: platform.authHeaders });
    expect(sse.events.map((e) => e.event)).toEqual(['end']);
  });

  it('keeps an SSE answer open while the browser listens, and releases it when the browser goes away', async () => {
    const executionId = randomUUID();
    const now = new Date().toISOString();
    // A record with no events yet: its token stream stays silent.
    await platform.store.create({ executionId, workflowId: 'split-bill', userId: 'u', correlationId: executionId, status: 'requested', input: {}, requestedAt: now, nodes: {}, outbox: [], version: 1, updatedAt: now });
    const sseCount = async (direction: string): Promise<number> => {
      const text = await (await fetch(`${base}/metrics`)).text();
      return Number(new RegExp(`gateway_sse_connections_total\\{direction="${direction}",service="gateway"\\} (\\d+)`).exec(text)?.[1] ?? 0);
    };
    const closedBefore = await sseCount('closed');
    const abort = new AbortController();
    const response = await fetch(`${base}/api/executions/${executionId}/tokens`, { headers: platform.authHeaders, signal: abort.signal });
    expect(response.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    const reader = response.body!.getReader();
    expect(new TextDecoder().decode((await reader.read()).value as Uint8Array)).toBe('retry: 1000\n\n');
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(await sseCount('closed')).toBe(closedBefore);
    abort.abort();
    await waitFor(async () => (await sseCount('closed')) === closedBefore + 1, 5000, 'the SSE answer to be released');
  });

  it('starts a workflow with its default input when the POST has no body', async () => {
    const executionId = await start('split-bill');
    const state = await finished(executionId);
    expect(state).toMatchObject({ status: 'completed', input: { people: 4, tip_percent: 10 }, nodes: { share: { output: { value: 33 } } } });
    expect((state.output as { text: string }).text).toContain('chez nous');
  });
});
