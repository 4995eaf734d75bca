import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EventSubjects } from '@multi-agent/events';
import type { NatsClient } from '@multi-agent/nats-client';
import { callTool, ToolCallError } from '@multi-agent/service-kit';
import { NatsServer } from '@multi-agent/testing';
import { startToolService } from '@multi-agent/tool-service';
import { Cleanup, connectService, executionEvents, waitFor } from '../../shared/test/support/platform.js';

let server: NatsServer;
let caller: NatsClient;
const cleanup = new Cleanup();

beforeAll(async () => {
  server = await NatsServer.start();
  const tool = await connectService(server.url, 'tool');
  cleanup.add(() => tool.close());
  cleanup.add(await startToolService(tool));
  caller = await connectService(server.url, 'caller');
  cleanup.add(() => caller.close());
});

afterAll(async () => {
  await cleanup.run();
  await server.stop();
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
