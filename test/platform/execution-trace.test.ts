/**
 * End-to-end tracing: one workflow execution (split-bill: two tool nodes, then an agent that
 * calls the model) through the five services in this process, with spans exported to memory.
 * The gateway's request starts one trace that every publish and every consume of the
 * execution joins, each consume span a child of the publish span of the event it consumed,
 * and the trace id is what the API reports for the execution.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { SpanKind } from '@opentelemetry/api';
import { InMemorySpanExporter } from '@opentelemetry/sdk-trace-base';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { registerTracing } from '@multi-agent/service-kit';
import type { Tracing } from '@multi-agent/service-kit';
import { NatsServer } from '@multi-agent/testing';
import { startInProcess } from './support/in-process.js';
import type { InProcessPlatform } from './support/in-process.js';
import { waitFor, waitForEnd } from './support/platform.js';

let server: NatsServer;
let platform: InProcessPlatform;
let tracing: Tracing;
const exporter = new InMemorySpanExporter();

beforeAll(async () => {
  server = await NatsServer.start();
  tracing = registerTracing({ service: 'platform-test', exporter, immediate: true });
  platform = await startInProcess(server.url);
});

afterAll(async () => {
  await platform?.stop();
  await tracing?.shutdown();
  await server?.stop();
});

const attr = (span: ReadableSpan, name: string): unknown => span.attributes[name];
const named = (spans: ReadableSpan[], kind: SpanKind, name: string): ReadableSpan[] => spans.filter((s) => s.kind === kind && s.name === name);

it('one trace spans gateway, orchestration, tool, agent and model, each consume span a child of its event\'s publish span', async () => {
  const started = await fetch(`${platform.gatewayUrl}/api/workflows/split-bill/executions`, { method: 'POST', headers: platform.authHeaders });
  expect(started.status).toBe(202);
  const { executionId, traceId } = (await started.json()) as { executionId: string; traceId: string };
  expect(traceId).toMatch(/^[0-9a-f]{32}$/);
  expect((await waitForEnd(platform.store, executionId)).status).toBe('completed');
  const api = (await (await fetch(`${platform.gatewayUrl}/api/executions/${executionId}`, { headers: platform.authHeaders })).json()) as { traceId?: string };
  expect(api.traceId).toBe(traceId);
  // Probes and scrapes make no traces.
  expect((await fetch(`${platform.gatewayUrl}/readyz`)).status).toBe(200);
  expect((await fetch(`${platform.gatewayUrl}/metrics`)).status).toBe(200);

  // The model ends the token stream on execution.completed: the last consume of the execution.
  const spans = await waitFor(() => {
    const inTrace = exporter.getFinishedSpans().filter((s) => s.spanContext().traceId === traceId);
    return named(inTrace, SpanKind.CONSUMER, 'process execution.completed').length > 0 ? inTrace : undefined;
  }, 15_000, 'the execution.completed consume span');

  // Every span of the execution is in this trace: nothing tagged with the execution is elsewhere.
  const ofExecution = exporter.getFinishedSpans().filter((s) => attr(s, 'messaging.message.conversation_id') === executionId);
  expect(ofExecution.length).toBeGreaterThan(10);
  expect(new Set(ofExecution.map((s) => s.spanContext().traceId))).toEqual(new Set([traceId]));

  // The gateway's request is the root; every other span's parent is in the trace.
  const byId = new Map(spans.map((s) => [s.spanContext().spanId, s]));
  expect(exporter.getFinishedSpans().filter((s) => s.kind === SpanKind.SERVER && /readyz|metrics/.test(s.name))).toEqual([]);
  const [root, ...others] = named(spans, SpanKind.SERVER, 'POST /api/workflows/:workflowId/executions');
  expect(others).toEqual([]);
  expect(root!.parentSpanContext).toBeUndefined();
  expect(attr(root!, 'http.response.status_code')).toBe(202);
  for (const span of spans) {
    if (span === root) continue;
    expect(byId.has(span.parentSpanContext?.spanId ?? ''), `${span.name}: parent in the trace`).toBe(true);
  }

  // Each consume span's parent is the publish span of the event it consumed.
  const consumes = spans.filter((s) => s.kind === SpanKind.CONSUMER);
  for (const consume of consumes) {
    const parent = byId.get(consume.parentSpanContext!.spanId)!;
    expect(parent.kind, consume.name).toBe(SpanKind.PRODUCER);
    expect(attr(parent, 'messaging.message.id'), consume.name).toBe(attr(consume, 'messaging.message.id'));
    expect(attr(parent, 'messaging.destination.name'), consume.name).toBe(attr(consume, 'messaging.destination.name'));
    expect(attr(consume, 'messaging.system')).toBe('nats');
    expect(attr(consume, 'messaging.operation')).toBe('process');
  }
  // ... and what a handler publishes is a child of its consume span (the gateway's publishes, the
  // request and its audit record, are children of the HTTP request's span).
  const publishes = spans.filter((s) => s.kind === SpanKind.PRODUCER);
  for (const publish of publishes) {
    const parent = byId.get(publish.parentSpanContext!.spanId)!;
    const subject = attr(publish, 'messaging.destination.name');
    const expected = subject === 'workflow.execution.requested' || subject === 'audit.execution.started' ? SpanKind.SERVER : SpanKind.CONSUMER;
    expect(parent.kind, publish.name).toBe(expected);
  }

  // Every node's work is there, in the consumer group of the service that did it.
  const groups = (subject: string): unknown[] => named(spans, SpanKind.CONSUMER, `process ${subject}`).map((s) => attr(s, 'messaging.consumer.group.name'));
  expect(groups('workflow.execution.requested')).toEqual([expect.stringMatching(/^orchestration-/)]);
  expect(groups('tool.execution.requested')).toEqual([expect.stringMatching(/^tool-/), expect.stringMatching(/^tool-/)]);
  expect(groups('agent.execution.requested')).toEqual([expect.stringMatching(/^agent-/)]);
  expect(groups('model.inference.requested')).toEqual([expect.stringMatching(/^model-/)]);
  expect(groups('tool.execution.completed')).toHaveLength(2);
  expect(groups('agent.execution.completed')).toEqual([expect.stringMatching(/^orchestration-/)]);
  expect(named(spans, SpanKind.PRODUCER, 'publish model.inference.completed')).toHaveLength(1);
});
