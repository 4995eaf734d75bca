import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EventSubjects } from '@multi-agent/events';
import type { NatsClient } from '@multi-agent/nats-client';
import { callTool, ToolCallError } from '@multi-agent/service-kit';
import { NatsServer } from '@multi-agent/testing';
import { defineTool, startToolService } from '@multi-agent/tool-service';
import * as z from 'zod';
import { Cleanup, connectService, executionEvents, waitFor } from './support/platform.js';

let server: NatsServer;
let caller: NatsClient;
const cleanup = new Cleanup();

beforeAll(async () => {
  server = await NatsServer.start();
  const tool = await connectService(server.url, 'tool');
  cleanup.add(() => tool.close());
  const slow = defineTool({
    id: 'slow',
    description: 'waits',
    inputSchema: z.strictObject({ ms: z.number() }),
    run: async ({ ms }) => new Promise((resolve) => setTimeout(() => resolve({ waited: ms }), ms)),
  });
  const crashing = defineTool({ id: 'crash', description: 'throws', inputSchema: z.object({}), run: () => { throw new Error('kaboom'); } });
  cleanup.add(await startToolService(tool, { tools: [slow, crashing] }));
  caller = await connectService(server.url, 'caller');
  cleanup.add(() => caller.close());
});

afterAll(async () => {
  await cleanup.run();
  await server.stop();
});

describe('tool.execute.request (core request/reply)', () => {
  it('answers with the result', async () => {
    await expect(callTool(caller, 'calculator', { expression: '2 + 2 * 10' })).resolves.toEqual({ expression: '2 + 2 * 10', value: 22 });
    const now = (await callTool(caller, 'clock', { timeZone: 'Asia/Tokyo' })) as { timeZone: string; iso: string };
    expect(now.timeZone).toBe('Asia/Tokyo');
    expect(Math.abs(Date.parse(now.iso) - Date.now())).toBeLessThan(5000);
  });

  it('answers a tool error with its code, as a typed ToolCallError', async () => {
    const err = await callTool(caller, 'calculator', { expression: '1/0' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ToolCallError);
    expect(err).toMatchObject({ toolId: 'calculator', code: 'DIVISION_BY_ZERO', retryable: false });
    await expect(callTool(caller, 'json-path', { document: {}, path: 5 })).rejects.toMatchObject({ code: 'INVALID_INPUT' });
    await expect(callTool(caller, 'teleport', {})).rejects.toMatchObject({ code: 'UNKNOWN_TOOL' });
    await expect(callTool(caller, 'crash', {})).rejects.toMatchObject({ code: 'TOOL_ERROR', message: 'kaboom' });
  });

  it('says TOOL_TIMEOUT when the tool is too slow and TOOL_UNAVAILABLE when no service listens', async () => {
    await expect(callTool(caller, 'slow', { ms: 2000 }, { timeoutMs: 200 })).rejects.toMatchObject({ code: 'TOOL_TIMEOUT', retryable: true });
    const otherServer = await NatsServer.start({ jetstream: true });
    try {
      const lonely = await connectService(otherServer.url, 'lonely');
      await expect(callTool(lonely, 'clock', {})).rejects.toMatchObject({ code: 'TOOL_UNAVAILABLE', retryable: true });
      await lonely.close();
    } finally {
      await otherServer.stop();
    }
  });
});

describe('tool.execution.requested (workflow tool nodes)', () => {
  it('publishes tool.execution.completed or .failed, caused by the request', async () => {
    const executionId = randomUUID();
    const ok = await caller.publish({
      eventType: EventSubjects.TOOL_EXECUTION_REQUESTED,
      correlationId: executionId,
      data: { executionId, nodeId: 'sum', toolId: 'calculator', input: { expression: '40 + 2' } },
    });
    const bad = await caller.publish({
      eventType: EventSubjects.TOOL_EXECUTION_REQUESTED,
      correlationId: executionId,
      data: { executionId, nodeId: 'path', toolId: 'json-path', input: { document: { a: 1 }, path: '$.b' } },
    });
    const events = await waitFor(async () => {
      const all = await executionEvents(caller, executionId);
      return all.length === 4 ? all : undefined;
    });
    const completed = events.find((e) => e.eventType === EventSubjects.TOOL_EXECUTION_COMPLETED);
    const failed = events.find((e) => e.eventType === EventSubjects.TOOL_EXECUTION_FAILED);
    expect(completed).toMatchObject({ causationId: ok.eventId, data: { nodeId: 'sum', toolId: 'calculator', output: { value: 42 } } });
    expect(failed).toMatchObject({ causationId: bad.eventId, data: { nodeId: 'path', error: { code: 'PATH_NOT_FOUND' } } });
  });
});

// A document as deep as a JSON string of ~300 kB can be: recursion over it would overflow the stack.
const deepDocument = `${'{"a":'.repeat(60_000)}1${'}'.repeat(60_000)}`;

describe('hostile tool input over the bus', () => {
  it('answers with a typed, non-retryable ToolCallError instead of a crash', async () => {
    const unknownName = await callTool(caller, 'calculator', { expression: 'constructor(1)' }).catch((e: unknown) => e);
    expect(unknownName).toBeInstanceOf(ToolCallError);
    expect(unknownName).toMatchObject({ code: 'INVALID_EXPRESSION', retryable: false });
    await expect(callTool(caller, 'calculator', { expression: `${'('.repeat(200)}1${')'.repeat(200)}` })).rejects.toMatchObject({ code: 'LIMIT_EXCEEDED', retryable: false });
    await expect(callTool(caller, 'json-path', { document: deepDocument, path: '$..a..a' })).rejects.toMatchObject({ code: 'LIMIT_EXCEEDED', retryable: false });
  });

  it('fails a workflow tool node with the tool error code (a crash would be retried and reported as TOOL_ERROR)', async () => {
    const executionId = randomUUID();
    const requested = await caller.publish({
      eventType: EventSubjects.TOOL_EXECUTION_REQUESTED,
      correlationId: executionId,
      data: { executionId, nodeId: 'extract', toolId: 'json-path', input: { document: deepDocument, path: '$..a' } },
    });
    const failed = await waitFor(async () => (await executionEvents(caller, executionId)).find((e) => e.eventType === EventSubjects.TOOL_EXECUTION_FAILED));
    expect(failed).toMatchObject({ causationId: requested.eventId, data: { nodeId: 'extract', error: { code: 'LIMIT_EXCEEDED' } } });
  });
});
