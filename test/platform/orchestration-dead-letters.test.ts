/**
 * Every accepted execution ends, and says why: inputs that cannot run, events an agent or tool
 * gives up on, and errors that cannot pass on retry (tried once, dead-lettered with the reason)
 * all end the execution `failed` within seconds, read back from the KV record, the EVENTS
 * stream and the DLQ stream of a real nats-server.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EventSubjects } from '@multi-agent/events';
import type { AgentExecutionRequestedEvent } from '@multi-agent/events';
import { NonRetryableError } from '@multi-agent/nats-client';
import { loadWorkflows, validateWorkflow } from '@multi-agent/service-kit';
import type { ExecutionState } from '@multi-agent/service-kit';
import { defineTool } from '@multi-agent/tool-service';
import { NatsServer } from '@multi-agent/testing';
import * as z from 'zod';
import { startDyingConsumer } from './support/dying-consumer.js';
import { startInProcess } from './support/in-process.js';
import type { InProcessPlatform } from './support/in-process.js';
import { Cleanup, connectService, eventsOfType, executionEvents, requestExecution, waitFor, waitForEnd, workflowMap } from './support/platform.js';

const toolNode = (id: string, tool: string) => validateWorkflow({ id, name: id, nodes: [{ id: 'only', type: 'tool', tool, params: {} }] });
const agentNode = (id: string, agent: string) => validateWorkflow({ id, name: id, nodes: [{ id: 'only', type: 'agent', agent, prompt: 'hello' }] });

const runs = new Map<string, number>();
const counted = (id: string, run: () => unknown) =>
  defineTool({
    id,
    description: id,
    inputSchema: z.object({}).loose(),
    run: () => {
      runs.set(id, (runs.get(id) ?? 0) + 1);
      return run();
    },
  });

function nested(depth: number): Record<string, unknown> {
  let value: Record<string, unknown> = { total: 1 };
  for (let i = 0; i < depth; i++) value = { a: value };
  return value;
}

const overflow = (n: number): number => overflow(n + 1) + 1;

let server: NatsServer;
let platform: InProcessPlatform;
const cleanup = new Cleanup();

beforeAll(async () => {
  server = await NatsServer.start();
  const workflows = new Map([
    ...(await loadWorkflows()),
    ...workflowMap(
      agentNode('refused', 'refuses'),
      agentNode('crashing', 'crashes'),
      agentNode('vanishing', 'vanishes'),
      toolNode('stack-overflow', 'recurse'),
      toolNode('huge-output', 'huge'),
      toolNode('big-output', 'big'),
      toolNode('deep-output', 'deep'),
    ),
  ]);
  platform = await startInProcess(server.url, {
    services: ['orchestration', 'tool'],
    workflows,
    tools: [
      counted('recurse', () => overflow(0)),
      counted('huge', () => 'h'.repeat(1_100_000)),
      counted('big', () => 'b'.repeat(600_000)),
      counted('deep', () => nested(3000)),
    ],
  });
  cleanup.add(() => platform.stop());
  // Stands in for the agent service: refuses one agent outright, crashes on the other every time.
  const agent = await connectService(server.url, 'agent');
  cleanup.add(() => agent.close());
  const sub = await agent.subscribe<AgentExecutionRequestedEvent>(EventSubjects.AGENT_EXECUTION_REQUESTED, async (event) => {
    runs.set(event.data.agentId, (runs.get(event.data.agentId) ?? 0) + 1);
    if (event.data.agentId === 'refuses') throw new NonRetryableError('agent "refuses" cannot run this request');
    if (event.data.agentId === 'crashes') throw new Error('agent process fell over');
  });
  cleanup.add(() => sub.stop());
});

afterAll(async () => {
  await cleanup.run();
  await server.stop();
});

/** The execution's end state, and its `execution.failed` event read back from EVENTS. */
async function failure(executionId: string): Promise<{ state: ExecutionState; published: Record<string, unknown> }> {
  const state = await waitForEnd(platform.store, executionId, 10_000);
  expect(state.status).toBe('failed');
  const failed = eventsOfType(await executionEvents(platform.observer, executionId), EventSubjects.EXECUTION_FAILED);
  expect(failed).toHaveLength(1);
  return { state, published: (failed[0]!.data as { error: Record<string, unknown> }).error };
}

/** The DLQ record the execution's error points to, read from the DLQ stream. */
async function deadLetterOf(state: ExecutionState) {
  const sequence = state.error!.dlqSequence as number;
  expect(sequence).toBeTypeOf('number');
  const stored = await platform.observer.deadLetters.read(sequence);
  expect(stored).toBeDefined();
  return stored!.record;
}

describe('inputs that cannot run, published straight to the bus', () => {
  it('a receipt nested 3,000 levels deep fails the execution with INPUT_TOO_DEEP, without a retry', async () => {
    const started = Date.now();
    const executionId = await requestExecution(platform.observer, 'split-bill', { receipt: nested(3000), people: 2 });
    const { state, published } = await failure(executionId);
    expect(Date.now() - started).toBeLessThan(5000);
    expect(state.error).toMatchObject({ code: 'INPUT_TOO_DEEP', maxDepth: 64 });
    expect(state.error!.message).toMatch(/^input nested too deeply/);
    expect(published).toMatchObject({ code: 'INPUT_TOO_DEEP', message: state.error!.message });
    expect(state.input).toEqual({});
    // Refused where it arose: nothing was retried or dead-lettered.
    const deadLetters = await platform.observer.deadLetters.list();
    expect(deadLetters.filter((d) => d.record.originalEvent?.correlationId === executionId)).toEqual([]);
  });

  it('a receipt with a 900 KB string fails the execution with INPUT_TOO_LARGE and the sizes', async () => {
    const executionId = await requestExecution(platform.observer, 'split-bill', { receipt: { total: 120, note: 'x'.repeat(900_000) }, people: 2 });
    const { state, published } = await failure(executionId);
    expect(state.error).toMatchObject({ code: 'INPUT_TOO_LARGE', recordLimitBytes: 768 * 1024 });
    expect(state.error!.message).toMatch(/^input too large: \d{3} KB makes the execution record \d\.\d MB, limit 768 KB/);
    expect(state.error!.inputBytes as number).toBeGreaterThan(900_000);
    expect(published).toMatchObject({ code: 'INPUT_TOO_LARGE' });
    expect(state.input).toEqual({});
  });
});

describe('dead-lettered node requests fail their node and the execution', () => {
  it('an agent request dead-lettered as non-retryable: tried once, the node fails with its reason', async () => {
    const executionId = await requestExecution(platform.observer, 'refused');
    const { state, published } = await failure(executionId);
    const record = await deadLetterOf(state);
    expect(record).toMatchObject({ originalSubject: EventSubjects.AGENT_EXECUTION_REQUESTED, reason: 'non-retryable', failureCount: 1, service: 'agent' });
    expect(runs.get('refuses')).toBe(1);
    const sequence = state.error!.dlqSequence as number;
    expect(state.nodes.only).toMatchObject({ status: 'failed', error: { code: 'DEAD_LETTERED', message: `agent "refuses" cannot run this request (DLQ record ${sequence})` } });
    expect(state.error).toMatchObject({ nodeId: 'only', code: 'DEAD_LETTERED', dlqReason: 'non-retryable' });
    expect(published).toMatchObject({ code: 'DEAD_LETTERED' });
  });

  it('replaying the DLQ record does not reopen the failed execution', async () => {
    const executionId = await requestExecution(platform.observer, 'refused');
    const { state } = await failure(executionId);
    const before = runs.get('refuses')!;
    const replay = await platform.observer.deadLetters.replay(state.error!.dlqSequence as number);
    expect(replay.status).toBe('replayed');
    // The agent gets the request again and refuses it again: a second DLQ record, for the replayed event.
    await waitFor(async () => (await platform.observer.deadLetters.list()).some((d) => d.record.originalEvent?.eventId === replay.eventId), 10_000, 'the replayed request to be dead-lettered');
    expect(runs.get('refuses')).toBe(before + 1);
    const after = (await platform.store.get(executionId))!.state;
    expect(after.version).toBe(state.version);
    expect(after.error).toEqual(state.error);
  });

  it('an agent process that dies in the handler: the advisory watcher dead-letters the request, the node fails', async () => {
    const dying = await startDyingConsumer(platform.observer, {
      name: 'dying-agent',
      service: 'agent',
      subject: EventSubjects.AGENT_EXECUTION_REQUESTED,
      maxDeliver: 2,
      ackWaitMs: 300,
    });
    cleanup.add(() => dying.stop());
    const executionId = await requestExecution(platform.observer, 'vanishing');
    const { state } = await failure(executionId);
    const record = await deadLetterOf(state);
    expect(record).toMatchObject({ reason: 'max-deliveries', consumer: 'dying-agent', service: 'agent', originalSubject: EventSubjects.AGENT_EXECUTION_REQUESTED });
    expect(state.nodes.only!.error).toMatchObject({ code: 'DEAD_LETTERED', dlqReason: 'max-deliveries', message: `internal error, see DLQ record ${state.error!.dlqSequence as number}` });
    expect(dying.deliveries()).toBe(2);
  });

  it('an agent request that kept failing: retried, dead-lettered, then the node fails as an internal error', async () => {
    const executionId = await requestExecution(platform.observer, 'crashing');
    const { state } = await failure(executionId);
    const record = await deadLetterOf(state);
    expect(record).toMatchObject({ reason: 'handler-error', failureCount: 3, errorMessage: 'agent process fell over' });
    expect(runs.get('crashes')).toBe(3);
    const sequence = state.error!.dlqSequence as number;
    expect(state.nodes.only!.error).toMatchObject({ code: 'DEAD_LETTERED', message: `internal error, see DLQ record ${sequence}` });
  });
});

describe('errors that cannot pass on retry are tried once and dead-lettered with the reason', () => {
  const cases = [
    { workflow: 'stack-overflow', tool: 'recurse', consumer: 'tool', message: /^stack overflow while handling the event/ },
    { workflow: 'huge-output', tool: 'huge', consumer: 'tool', message: /^message for "tool\.execution\.completed" is \d+ bytes; the server accepts at most 1048576/ },
    { workflow: 'big-output', tool: 'big', consumer: 'orchestration', message: /^execution record too large: \d\.\d MB, limit 1023 KB/ },
  ];
  for (const { workflow, tool, consumer, message } of cases) {
    it(`${workflow}: the ${consumer} handler runs once, the DLQ record says why, the node fails with it`, async () => {
      const executionId = await requestExecution(platform.observer, workflow);
      const { state } = await failure(executionId);
      const record = await deadLetterOf(state);
      expect(record.reason).toBe('non-retryable');
      expect(record.failureCount).toBe(1);
      expect(record.service).toBe(consumer);
      expect(record.errorMessage).toMatch(message);
      expect(runs.get(tool)).toBe(1);
      expect(state.nodes.only!.status).toBe('failed');
      expect(state.nodes.only!.error!.message).toMatch(message);
    });
  }

  it('an output nested deeper than the limit fails its node (OUTPUT_TOO_DEEP) instead of overflowing later transitions', async () => {
    const executionId = await requestExecution(platform.observer, 'deep-output');
    const { state } = await failure(executionId);
    expect(state.nodes.only!.error).toMatchObject({ code: 'OUTPUT_TOO_DEEP' });
    expect(runs.get('deep')).toBe(1);
  });
});
