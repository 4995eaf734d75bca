/**
 * Every accepted execution ends, and says why: inputs that cannot run, events an agent or tool
 * gives up on, and errors that cannot pass on retry (tried once, dead-lettered with the reason)
 * all end the execution `failed` within seconds, read back from the KV record, the EVENTS
 * stream and the DLQ stream of a real nats-server. Replaying the DLQ record after the cause is
 * fixed revives an execution it failed, and only such an execution.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EventSubjects } from '@multi-agent/events';
import type { AgentExecutionRequestedEvent } from '@multi-agent/events';
import { NonRetryableError, StreamNames } from '@multi-agent/nats-client';
import { cancelExecution, loadWorkflows, validateWorkflow } from '@multi-agent/service-kit';
import type { ExecutionState, ExecutionStatus } from '@multi-agent/service-kit';
import { defineTool } from '@multi-agent/tool-service';
import { NatsServer } from '@multi-agent/testing';
import * as z from 'zod';
import { startDyingConsumer } from './support/dying-consumer.js';
import { startInProcess } from './support/in-process.js';
import type { InProcessPlatform } from './support/in-process.js';
import { Cleanup, connectService, eventsOfType, executionEvents, requestExecution, waitFor, waitForEnd, workflowMap } from './support/platform.js';

const toolNode = (id: string, tool: string) => validateWorkflow({ id, name: id, nodes: [{ id: 'only', type: 'tool', tool, params: {} }] });
const agentNode = (id: string, agent: string, timeoutMs?: number) =>
  validateWorkflow({ id, name: id, nodes: [{ id: 'only', type: 'agent', agent, prompt: 'hello', ...(timeoutMs === undefined ? {} : { timeoutMs }) }] });
/** A tool node with 8 KB of fixed parameters: its running record is far larger than its failed one. */
const paddedToolNode = validateWorkflow({ id: 'padded', name: 'padded', nodes: [{ id: 'only', type: 'tool', tool: 'padded', params: { padding: 'p'.repeat(8192) } }] });

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

/** Agents the stand-in refuses until the test fixes them (the cause an operator fixes before replaying). */
const fixed: Record<string, boolean> = { 'refuses-until-fixed': false, 'refuses-late': false };

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
      agentNode('flaky-agent', 'refuses-until-fixed'),
      agentNode('late-refusal', 'refuses-late'),
      agentNode('late-refusal-timeout', 'refuses-late', 300),
      paddedToolNode,
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
      counted('padded', () => 'padded done'),
    ],
  });
  cleanup.add(() => platform.stop());
  // Stands in for the agent service: refuses one agent outright, crashes on another every time;
  // refuses two more until the test fixes them (one only once its execution has ended), then
  // completes them.
  const agent = await connectService(server.url, 'agent');
  cleanup.add(() => agent.close());
  const sub = await agent.subscribe<AgentExecutionRequestedEvent>(EventSubjects.AGENT_EXECUTION_REQUESTED, async (event, ctx) => {
    const { agentId, executionId, nodeId } = event.data;
    runs.set(agentId, (runs.get(agentId) ?? 0) + 1);
    if (agentId === 'refuses') throw new NonRetryableError('agent "refuses" cannot run this request');
    if (agentId === 'crashes') throw new Error('agent process fell over');
    const isFixed = fixed[agentId];
    if (isFixed === undefined) return;
    if (agentId === 'refuses-late') await waitForStatus(executionId, ['cancelled', 'failed']);
    if (!isFixed) throw new NonRetryableError(`agent "${agentId}" is misconfigured`);
    await ctx.publish({ eventType: EventSubjects.AGENT_EXECUTION_COMPLETED, data: { agentId, executionId, nodeId, output: { text: `${agentId} done` } } });
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

/** Waits until the execution's record has one of `statuses` and nothing left to publish. */
function waitForStatus(executionId: string, statuses: ExecutionStatus[]): Promise<ExecutionState> {
  return waitFor(async () => {
    const state = (await platform.store.get(executionId))?.state;
    return state !== undefined && statuses.includes(state.status) && state.outbox.length === 0 ? state : undefined;
  }, 10_000, `execution ${executionId} to be ${statuses.join(' or ')}`);
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

describe('replaying the DLQ record after the fix revives the execution it failed', () => {
  it('a dead-lettered execution request: the replay starts the execution, which completes', async () => {
    const { jsm } = platform.observer.jetstream;
    const bucketStream = 'KV_EXECUTIONS';
    const { max_msg_size: limit } = (await jsm.streams.info(bucketStream)).config;
    // The temporary cause: a bucket limit the started record does not fit in (the failed one does).
    await jsm.streams.update(bucketStream, { max_msg_size: 4096 });
    let executionId: string;
    let state: ExecutionState;
    try {
      executionId = await requestExecution(platform.observer, 'padded');
      ({ state } = await failure(executionId));
    } finally {
      await jsm.streams.update(bucketStream, { max_msg_size: limit });
    }
    const sequence = state.error!.dlqSequence as number;
    expect(await deadLetterOf(state)).toMatchObject({ originalSubject: EventSubjects.WORKFLOW_EXECUTION_REQUESTED, service: 'orchestration' });
    expect(state).toMatchObject({ input: {}, nodes: {} });
    expect(runs.get('padded')).toBeUndefined();

    const replay = await platform.observer.deadLetters.replay(sequence);
    expect(replay.status).toBe('replayed');
    const done = await waitForStatus(executionId, ['completed']);
    expect(done.output).toBe('padded done');
    expect(done.error).toBeUndefined();
    expect(done.revivals).toMatchObject([{ error: { code: 'DEAD_LETTERED', dlqSequence: sequence }, byEventId: replay.eventId }]);
    expect(runs.get('padded')).toBe(1);

    // Observers see the failure, the revival caused by the replayed request, then the run.
    const events = await executionEvents(platform.observer, executionId);
    const order = events.map((e) => e.eventType).filter((t) => t.startsWith('execution.') && !t.startsWith('execution.node.'));
    expect(order).toEqual([EventSubjects.EXECUTION_FAILED, EventSubjects.EXECUTION_RESUMED, EventSubjects.EXECUTION_STARTED, EventSubjects.EXECUTION_COMPLETED]);
    const resumed = eventsOfType(events, EventSubjects.EXECUTION_RESUMED)[0]!;
    expect(resumed.causationId).toBe(replay.eventId);
    expect(resumed.data).toMatchObject({ executionId, dlqSequence: sequence, replayEventId: replay.eventId, error: { code: 'DEAD_LETTERED' } });

    // The same record replayed again publishes nothing: the execution does not run twice.
    expect((await platform.observer.deadLetters.replay(sequence)).status).toBe('already-replayed');
    expect((await platform.store.get(executionId))!.state.version).toBe(done.version);
    expect(runs.get('padded')).toBe(1);
  });

  it('a dead-lettered agent request: replayed before the fix it fails again, replayed after, the node and the execution complete', async () => {
    const executionId = await requestExecution(platform.observer, 'flaky-agent');
    const { state } = await failure(executionId);
    const first = state.error!.dlqSequence as number;

    // Too early: the agent refuses the replayed request too. The execution stays failed, its
    // error now names the newer record, the one to replay.
    const early = await platform.observer.deadLetters.replay(first);
    const moved = await waitFor(async () => {
      const current = (await platform.store.get(executionId))!.state;
      return current.error?.dlqSequence !== first ? current : undefined;
    }, 10_000, 'the failure to point at the dead-lettered replay');
    expect(moved).toMatchObject({ status: 'failed', error: { code: 'DEAD_LETTERED', nodeId: 'only' } });
    const second = moved.error!.dlqSequence as number;
    expect((await platform.observer.deadLetters.read(second))!.record.originalEvent).toMatchObject({ eventId: early.eventId });
    expect(moved.revivals).toBeUndefined();

    fixed['refuses-until-fixed'] = true;
    const replay = await platform.observer.deadLetters.replay(second);
    const done = await waitForStatus(executionId, ['completed']);
    expect(done.nodes.only).toMatchObject({ status: 'completed', output: { text: 'refuses-until-fixed done' } });
    expect(done.nodes.only!.error).toBeUndefined();
    expect(done.revivals).toMatchObject([{ error: { dlqSequence: second, nodeId: 'only' } }]);
    expect(runs.get('refuses-until-fixed')).toBe(3);

    const events = await executionEvents(platform.observer, executionId);
    const report = eventsOfType(events, EventSubjects.AGENT_EXECUTION_COMPLETED);
    expect(report).toHaveLength(1);
    expect(report[0]!.causationId).toBe(replay.eventId);
    expect(eventsOfType(events, EventSubjects.EXECUTION_RESUMED)).toMatchObject([{ causationId: report[0]!.eventId, data: { nodeId: 'only', dlqSequence: second } }]);
    expect(eventsOfType(events, EventSubjects.EXECUTION_NODE_COMPLETED)).toHaveLength(1);
    expect(eventsOfType(events, EventSubjects.EXECUTION_COMPLETED)).toHaveLength(1);

    expect((await platform.observer.deadLetters.replay(second)).status).toBe('already-replayed');
    expect((await platform.observer.deadLetters.replay(first)).status).toBe('already-replayed');
    expect(runs.get('refuses-until-fixed')).toBe(3);
  });

  /** Waits until the orchestration has handled every agent report published so far. */
  async function reportsHandled(): Promise<void> {
    const { jsm } = platform.observer.jetstream;
    await waitFor(async () => {
      const info = await jsm.consumers.info(StreamNames.EVENTS, 'orchestration-agent_execution_completed');
      return info.num_pending === 0 && info.num_ack_pending === 0;
    }, 10_000, 'the orchestration to handle the agent reports');
  }

  const ends = [
    {
      ended: 'cancelled',
      workflow: 'late-refusal',
      end: async (executionId: string) => {
        await waitForStatus(executionId, ['running']);
        await platform.store.mutate(executionId, (current) => cancelExecution(current, { reason: 'not needed' }, { now: new Date(), defaultNodeTimeoutMs: 120_000 }));
      },
      expected: { status: 'cancelled' },
    },
    { ended: 'failed with NODE_TIMEOUT', workflow: 'late-refusal-timeout', end: async () => undefined, expected: { status: 'failed', error: { code: 'NODE_TIMEOUT' } } },
  ];
  for (const { ended, workflow, end, expected } of ends) {
    it(`an execution ${ended} is not revived by a stray replay of a later dead letter`, async () => {
      fixed['refuses-late'] = false;
      const executionId = await requestExecution(platform.observer, workflow);
      await end(executionId);
      // The agent refuses its request once the execution has ended: a dead letter of an ended execution changes nothing.
      const record = await waitFor(
        async () => (await platform.observer.deadLetters.list()).find((d) => d.record.originalEvent?.correlationId === executionId),
        10_000,
        'the late request to be dead-lettered',
      );
      await reportsHandled();
      const before = (await platform.store.get(executionId))!.state;
      expect(before).toMatchObject(expected);

      fixed['refuses-late'] = true;
      const replay = await platform.observer.deadLetters.replay(record.dlqSequence);
      await waitFor(async () => eventsOfType(await executionEvents(platform.observer, executionId), EventSubjects.AGENT_EXECUTION_COMPLETED).find((e) => e.causationId === replay.eventId), 10_000, 'the replayed request to be answered');
      await reportsHandled();
      const after = (await platform.store.get(executionId))!.state;
      expect(after.version).toBe(before.version);
      expect(after).toMatchObject(expected);
      expect(after.revivals).toBeUndefined();
      expect(eventsOfType(await executionEvents(platform.observer, executionId), EventSubjects.EXECUTION_RESUMED)).toEqual([]);
    });
  }
});
