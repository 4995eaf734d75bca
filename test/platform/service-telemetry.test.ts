/**
 * A service process as `npm start` and the image run it (`runService`), with
 * `OTEL_EXPORTER_OTLP_ENDPOINT` pointing at a collector this test serves: its spans arrive by
 * OTLP/HTTP under its service name, as children of the caller's span in another process, and
 * its `/metrics` has Node's process metrics and the connection gauge.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SpanKind } from '@opentelemetry/api';
import { InMemorySpanExporter } from '@opentelemetry/sdk-trace-base';
import type { NatsClient } from '@multi-agent/nats-client';
import { callTool, registerTracing } from '@multi-agent/service-kit';
import type { Tracing } from '@multi-agent/service-kit';
import { NatsServer } from '@multi-agent/testing';
import { connectService, waitFor } from './support/platform.js';
import { ServiceProcesses } from './support/processes.js';

/** The part of an OTLP/HTTP JSON export this test reads. */
interface OtlpExport {
  resourceSpans: {
    resource: { attributes: { key: string; value: { stringValue?: string } }[] };
    scopeSpans: { spans: { traceId: string; spanId: string; parentSpanId?: string; name: string; kind: number }[] }[];
  }[];
}

const exports: { path: string; body: OtlpExport }[] = [];
let collector: Server;
let server: NatsServer;
let processes: ServiceProcesses;
let observer: NatsClient;
let tracing: Tracing;
const exporter = new InMemorySpanExporter();

beforeAll(async () => {
  collector = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      exports.push({ path: req.url ?? '', body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as OtlpExport });
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => collector.listen(0, '127.0.0.1', resolve));
  const { port } = collector.address() as AddressInfo;
  server = await NatsServer.start();
  processes = new ServiceProcesses({ natsUrl: server.url, envFor: { tool: { OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${port}` } } });
  await processes.start('tool');
  tracing = registerTracing({ service: 'test-caller', exporter, immediate: true });
  observer = await connectService(server.url, 'observer');
});

afterAll(async () => {
  await observer?.close();
  await tracing?.shutdown();
  await processes?.stopAll();
  await server?.stop();
  await new Promise((resolve) => collector?.close(resolve));
});

it('serves process metrics and the connection gauge on /metrics', async () => {
  const text = await (await fetch(`${processes.url('tool')}/metrics`)).text();
  expect(text).toMatch(/^process_cpu_user_seconds_total(\{[^}]*\})? [\d.]+$/m);
  expect(text).toMatch(/^nodejs_eventloop_lag_seconds(\{[^}]*\})? [\d.e-]+$/m);
  expect(text).toMatch(/^eventbus_connected(\{[^}]*\})? 1$/m);
});

it('exports its spans by OTLP/HTTP, joined to the caller\'s trace', async () => {
  expect(await callTool(observer, 'calculator', { expression: '2 * 21' })).toMatchObject({ value: 42 });
  const request = exporter.getFinishedSpans().find((s) => s.kind === SpanKind.CLIENT)!;
  expect(request.name).toBe('request tool.execute.request');
  // A SIGTERM'd service exports what it still buffers before it exits.
  await processes.stopAll();
  const served = await waitFor(
    () =>
      exports
        .filter((e) => e.path === '/v1/traces')
        .flatMap((e) => e.body.resourceSpans)
        .filter((r) => r.resource.attributes.some((a) => a.key === 'service.name' && a.value.stringValue === 'tool'))
        .flatMap((r) => r.scopeSpans.flatMap((s) => s.spans))
        .find((s) => s.name === 'process tool.execute.request'),
    10_000,
    'the tool service span at the collector',
  );
  expect(served.kind).toBe(SpanKind.SERVER + 1); // OTLP numbers kinds from 1 (internal)
  expect(served.traceId).toBe(request.spanContext().traceId);
  expect(served.parentSpanId).toBe(request.spanContext().spanId);
});
