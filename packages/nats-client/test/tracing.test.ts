/**
 * Spans across the bus, read back from an in-memory exporter and from the stored messages:
 * nothing (no span, no `traceparent`) while no tracer provider is registered; once one is, a
 * PRODUCER span per publish whose id travels in the stored message, a CONSUMER span per
 * delivery (a failed attempt marked as an error) as its child, and CLIENT/SERVER spans for
 * request/reply.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { SpanKind, SpanStatusCode, context, propagation, trace } from '@opentelemetry/api';
import { InMemorySpanExporter, NodeTracerProvider, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-node';
import { NatsServer } from '@multi-agent/testing';
import { clientPool, testEvent, uniqueToken, waitFor } from './support.js';

let server: NatsServer;
const pool = clientPool();
const exporter = new InMemorySpanExporter();
const provider = new NodeTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });

beforeAll(async () => {
  server = await NatsServer.start();
});
afterAll(async () => {
  await pool.closeAll();
  await provider.shutdown();
  trace.disable();
  propagation.disable();
  context.disable();
  await server.stop();
});

it('makes no span and writes no traceparent while no tracer provider is registered', async () => {
  const client = await pool.client(server.url);
  const subject = `execution.${uniqueToken('off')}.step`;
  let active: unknown = 'not called';
  await client.subscribe(subject, () => void (active = trace.getActiveSpan()));
  const { seq } = await client.publish(testEvent(subject));
  await waitFor(() => active !== 'not called', 5000, 'the handler');
  expect(active).toBeUndefined();
  const stored = await client.jetstream.jsm.streams.getMessage('EVENTS', { seq: seq! });
  expect(stored?.header.get('traceparent') ?? '').toBe('');
  expect(exporter.getFinishedSpans()).toEqual([]);
});

it('publish and consume spans: the stored message carries the publish span, each attempt is its child', async () => {
  provider.register();
  const client = await pool.client(server.url);
  const subject = `execution.${uniqueToken('on')}.step`;
  const durable = uniqueToken('traced');
  const handled: string[] = [];
  await client.subscribe(
    subject,
    () => {
      handled.push(trace.getActiveSpan()!.spanContext().spanId);
      if (handled.length === 1) throw new Error('first attempt fails');
    },
    durable,
  );
  const event = testEvent(subject, {}, { correlationId: uniqueToken('flow') });
  const { seq } = await trace.getTracer('test').startActiveSpan('caller', async (caller) => {
    try {
      return await client.publish(event);
    } finally {
      caller.end();
    }
  });
  await waitFor(() => exporter.getFinishedSpans().filter((s) => s.kind === SpanKind.CONSUMER).length === 2, 10_000, 'two consume spans');

  const spans = exporter.getFinishedSpans();
  const caller = spans.find((s) => s.name === 'caller')!;
  const publish = spans.find((s) => s.kind === SpanKind.PRODUCER)!;
  expect(publish.name).toBe(`publish ${subject}`);
  expect(publish.parentSpanContext?.spanId).toBe(caller.spanContext().spanId);
  expect(publish.attributes).toMatchObject({
    'messaging.system': 'nats',
    'messaging.operation': 'publish',
    'messaging.destination.name': subject,
    'messaging.message.id': event.eventId,
    'messaging.message.conversation_id': event.correlationId,
  });
  const stored = await client.jetstream.jsm.streams.getMessage('EVENTS', { seq: seq! });
  expect(stored?.header.get('traceparent')).toBe(`00-${publish.spanContext().traceId}-${publish.spanContext().spanId}-01`);

  const consumes = spans.filter((s) => s.kind === SpanKind.CONSUMER);
  expect(consumes.map((s) => s.spanContext().spanId)).toEqual(handled);
  for (const consume of consumes) {
    expect(consume.name).toBe(`process ${subject}`);
    expect(consume.spanContext().traceId).toBe(publish.spanContext().traceId);
    expect(consume.parentSpanContext?.spanId).toBe(publish.spanContext().spanId);
    expect(consume.attributes).toMatchObject({ 'messaging.operation': 'process', 'messaging.message.id': event.eventId, 'messaging.consumer.group.name': durable });
  }
  expect(consumes.map((s) => s.status.code)).toEqual([SpanStatusCode.ERROR, SpanStatusCode.UNSET]);
});

it('request/reply: a CLIENT span around the request, the replier\'s SERVER span its child', async () => {
  const client = await pool.client(server.url);
  const subject = `tool.execute.${uniqueToken('rr')}`;
  await client.subscribe(subject, () => ({ ok: true }));
  exporter.reset();
  await client.request(subject, testEvent(subject));
  const spans = await waitFor(() => {
    const all = exporter.getFinishedSpans();
    return all.some((s) => s.kind === SpanKind.SERVER) && all.some((s) => s.kind === SpanKind.CLIENT) ? all : undefined;
  }, 5000, 'request spans');
  const clientSpan = spans.find((s) => s.kind === SpanKind.CLIENT)!;
  const serverSpan = spans.find((s) => s.kind === SpanKind.SERVER)!;
  expect(clientSpan.name).toBe(`request ${subject}`);
  expect(serverSpan.name).toBe(`process ${subject}`);
  expect(serverSpan.parentSpanContext?.spanId).toBe(clientSpan.spanContext().spanId);
  expect(serverSpan.spanContext().traceId).toBe(clientSpan.spanContext().traceId);
});
