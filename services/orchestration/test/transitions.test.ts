import { describe, expect, it } from 'vitest';
import { expireNodes, settleNode, startExecution } from '@multi-agent/orchestration-service';
import type { StartRequest, TransitionContext } from '@multi-agent/orchestration-service';
import { agentRevision, compactRecord, failDeadLettered, rejectExecution, validateWorkflow } from '@multi-agent/service-kit';
import type { ExecutionState } from '@multi-agent/service-kit';

const fanIn = validateWorkflow({
  id: 'fan',
  name: 'Fan',
  input: { topic: { type: 'string', default: 'nats' }, n: { type: 'number' } },
  nodes: [
    { id: 'a', type: 'agent', agent: 'x', prompt: 'A {{input.topic}}' },
    { id: 'b', type: 'tool', tool: 'calculator', params: { expression: '{{input.n}} * 2' }, timeoutMs: 1000 },
    { id: 'c', type: 'agent', agent: 'y', dependsOn: ['a', 'b'], prompt: '{{parents.a.text}} {{parents.b.value}}' },
  ],
});

const t0 = new Date('2024-01-01T00:00:00.000Z');
const ctx = (ms = 0): TransitionContext => ({ now: new Date(t0.getTime() + ms), defaultNodeTimeoutMs: 5000 });
const request = (input: Record<string, unknown> = { n: 21 }): StartRequest => ({
  eventId: 'req-1',
  correlationId: 'exec-1',
  timestamp: t0,
  data: { workflowId: 'fan', userId: 'u', executionId: 'exec-1', input },
});

function types(state: ExecutionState): string[] {
  return state.outbox.map((e) => `${e.eventType}${typeof e.data.nodeId === 'string' ? `:${e.data.nodeId}` : ''}`);
}

function done(state: ExecutionState): ExecutionState {
  return { ...state, outbox: [] };
}

describe('execution transitions', () => {
  it('starts an execution: input defaults, root nodes dispatched with their rendered input, deadlines set', () => {
    const state = startExecution(undefined, request(), fanIn, ctx())!;
    expect(state).toMatchObject({ status: 'running', correlationId: 'exec-1', input: { topic: 'nats', n: 21 }, version: 1 });
    expect(types(state)).toEqual([
      'execution.started',
      'execution.node.started:a',
      'agent.execution.requested:a',
      'execution.node.started:b',
      'tool.execution.requested:b',
    ]);
    // Agent requests are version 1.1: a reference to the agent definition, not the definition itself.
    expect(state.outbox[2]).toMatchObject({ version: '1.1', data: { agentId: 'x', input: { input: { topic: 'nats', n: 21 }, parents: {} }, agentRef: { id: 'x', revision: agentRevision({ prompt: 'A {{input.topic}}' }) } } });
    expect(state.outbox[2]!.data).not.toHaveProperty('agent');
    expect(state.outbox[4]!.data).toMatchObject({ toolId: 'calculator', input: { expression: '21 * 2' } });
    expect(state.nodes.a).toMatchObject({ status: 'running', attempt: 1, deadlineAt: '2024-01-01T00:00:05.000Z', dispatchEventId: state.outbox[2]!.eventId });
    expect(state.nodes.b!.deadlineAt).toBe('2024-01-01T00:00:01.000Z');
    expect(state.nodes.c!.status).toBe('pending');
    // Every emitted event is caused by the request, and its ID is derived, not random.
    expect(state.outbox.every((e) => e.causationId === 'req-1')).toBe(true);
    expect(startExecution(undefined, request(), fanIn, ctx())!.outbox.map((e) => e.eventId)).toEqual(state.outbox.map((e) => e.eventId));
    // Once started, the request is a no-op.
    expect(startExecution(state, request(), fanIn, ctx(10))).toBeUndefined();
  });

  it('fans in: the child starts only when both parents completed, with both outputs', () => {
    let state = done(startExecution(undefined, request(), fanIn, ctx())!);
    const a = state.nodes.a!.dispatchEventId!;
    const b = state.nodes.b!.dispatchEventId!;
    state = settleNode(state, 'a', { ok: true, output: { text: 'hi' }, eventId: 'ev-a', causationId: a }, ctx(10))!;
    expect(types(state)).toEqual(['execution.node.completed:a']);
    // The same completion again (a redelivery or a second replica) changes nothing.
    expect(settleNode(state, 'a', { ok: true, output: { text: 'other' }, eventId: 'ev-a2', causationId: a }, ctx(11))).toBeUndefined();
    // An answer to some other dispatch does not settle the node either.
    expect(settleNode(state, 'b', { ok: true, output: {}, eventId: 'ev-x', causationId: 'not-the-dispatch' }, ctx(11))).toBeUndefined();
    state = settleNode(done(state), 'b', { ok: true, output: { value: 42 }, eventId: 'ev-b', causationId: b }, ctx(20))!;
    expect(types(state)).toEqual(['execution.node.completed:b', 'execution.node.started:c', 'agent.execution.requested:c']);
    expect(state.outbox[2]!.data).toMatchObject({ input: { parents: { a: { text: 'hi' }, b: { value: 42 } } } });
    expect(state.outbox[2]!.causationId).toBe('ev-b');
    state = settleNode(done(state), 'c', { ok: true, output: { text: 'end' }, eventId: 'ev-c' }, ctx(40))!;
    expect(types(state)).toEqual(['execution.node.completed:c', 'execution.completed']);
    expect(state).toMatchObject({ status: 'completed', output: { text: 'end' }, durationMs: 40, finishedAt: '2024-01-01T00:00:00.040Z' });
    expect(state.nodes.c!.settledByEventId).toBe('ev-c');
  });

  it('fails the execution when a node fails, and skips the nodes that had not finished', () => {
    let state = done(startExecution(undefined, request(), fanIn, ctx())!);
    state = settleNode(state, 'b', { ok: false, error: { message: 'division by zero', code: 'DIVISION_BY_ZERO' }, eventId: 'ev-b' }, ctx(5))!;
    expect(types(state)).toEqual(['execution.node.failed:b', 'execution.failed:b']);
    expect(state.outbox[1]!.data).toEqual({ executionId: 'exec-1', workflowId: 'fan', nodeId: 'b', error: { message: 'division by zero', code: 'DIVISION_BY_ZERO' } });
    expect(state.error).toEqual({ message: 'division by zero', code: 'DIVISION_BY_ZERO', nodeId: 'b' });
    expect(state.nodes.a).toMatchObject({ status: 'skipped', error: { code: 'SKIPPED' } });
    expect(state.nodes.c!.status).toBe('skipped');
    // A late completion of a node of a failed execution is ignored.
    expect(settleNode(done(state), 'a', { ok: true, output: {}, eventId: 'late' }, ctx(50))).toBeUndefined();
  });

  it('fails a tool node whose parameters cannot be filled, at dispatch', () => {
    const state = startExecution(undefined, request({}), fanIn, ctx())!;
    expect(state.status).toBe('failed');
    expect(state.error).toMatchObject({ code: 'TEMPLATE', nodeId: 'b' });
    expect(state.error!.message).toContain('template value "input.n" is missing');
  });

  it('times out the running node past its deadline', () => {
    const state = done(startExecution(undefined, request(), fanIn, ctx())!);
    expect(expireNodes(state, ctx(999))).toBeUndefined();
    const expired = expireNodes(state, ctx(1000))!;
    expect(expired.error).toEqual({ message: 'node "b" did not finish within 1000 ms', code: 'NODE_TIMEOUT', nodeId: 'b' });
    expect(types(expired)).toEqual(['execution.node.failed:b', 'execution.failed:b']);
    expect(expired.outbox[0]!.causationId).toBe(state.nodes.b!.dispatchEventId);
  });

  it('fails at once for an unknown workflow or invalid input', () => {
    expect(startExecution(undefined, request(), undefined, ctx())).toMatchObject({ status: 'failed', error: { code: 'UNKNOWN_WORKFLOW' } });
    const invalid = startExecution(undefined, request({ n: 1, topic: 5 }), fanIn, ctx())!;
    expect(invalid).toMatchObject({ status: 'failed', error: { code: 'INVALID_INPUT', message: 'invalid input: input "topic" must be a string' } });
    expect(types(invalid)).toEqual(['execution.failed']);
  });

  it('takes over a record the gateway created (status requested), keeping its correlation', () => {
    const requested: ExecutionState = {
      executionId: 'exec-1',
      workflowId: 'fan',
      userId: 'alice',
      correlationId: 'corr-from-gateway',
      status: 'requested',
      input: { n: 1 },
      requestedAt: t0.toISOString(),
      nodes: {},
      outbox: [],
      version: 1,
      updatedAt: t0.toISOString(),
    };
    const state = startExecution(requested, request(), fanIn, ctx(3))!;
    expect(state).toMatchObject({ status: 'running', userId: 'alice', correlationId: 'corr-from-gateway', version: 2, input: { n: 1, topic: 'nats' } });
  });

  it('returns the outputs of every leaf when the workflow names no output node', () => {
    const twoLeaves = validateWorkflow({
      id: 'two',
      name: 'Two',
      nodes: [
        { id: 'x', type: 'tool', tool: 'clock' },
        { id: 'y', type: 'tool', tool: 'clock' },
      ],
    });
    let state = done(startExecution(undefined, { ...request(), data: { ...request().data, workflowId: 'two' } }, twoLeaves, ctx())!);
    state = done(settleNode(state, 'x', { ok: true, output: 1, eventId: 'e1' }, ctx(1))!);
    state = settleNode(state, 'y', { ok: true, output: 2, eventId: 'e2' }, ctx(2))!;
    expect(state.output).toEqual({ x: 1, y: 2 });
  });

  it('a dead letter fails the node whose dispatch it belongs to, and nothing once that dispatch is gone', () => {
    const state = done(startExecution(undefined, request(), fanIn, ctx())!);
    const error = { message: 'internal error, see DLQ record 7', code: 'DEAD_LETTERED' };
    const dispatch = state.nodes.a!.dispatchEventId!;
    // The request itself, or an event it caused (a model request, the agent's report).
    for (const dead of [{ eventId: dispatch }, { eventId: 'model-req', causationId: dispatch }]) {
      const failed = failDeadLettered(state, { dlqSequence: 7, nodeId: 'a', error, ...dead }, ctx(10))!;
      expect(failed.status).toBe('failed');
      expect(failed.nodes.a).toMatchObject({ status: 'failed', error });
      expect(failed.error).toMatchObject({ ...error, nodeId: 'a' });
      expect(types(failed)).toEqual(['execution.node.failed:a', 'execution.failed:a']);
      // Finished: later dead letters change nothing.
      expect(failDeadLettered(done(failed), { dlqSequence: 8, eventId: 'x', error }, ctx(20))).toBeUndefined();
    }
    // A dead letter of an older dispatch of the node is stale.
    expect(failDeadLettered(state, { dlqSequence: 7, nodeId: 'a', eventId: 'older-dispatch', error }, ctx(10))).toBeUndefined();
    // Without a node: the execution fails, its running nodes are skipped.
    const whole = failDeadLettered(state, { dlqSequence: 9, eventId: 'req-1', error }, ctx(10))!;
    expect(whole).toMatchObject({ status: 'failed', error });
    expect(whole.nodes.a!.status).toBe('skipped');
  });

  it('a rejected request fails at once, keeping only the input an earlier record had; compaction drops the values', () => {
    const error = { message: 'input too large', code: 'INPUT_TOO_LARGE' };
    const fresh = rejectExecution(undefined, request({ n: 1, big: 'x'.repeat(1000) }), error, ctx())!;
    expect(fresh).toMatchObject({ status: 'failed', input: {}, error, nodes: {} });
    expect(types(fresh)).toEqual(['execution.failed']);
    const { error: _failure, ...withoutError } = fresh;
    const requested = { ...withoutError, status: 'requested' as const, input: { n: 3 }, outbox: [] };
    expect(rejectExecution(requested, request(), error, ctx())!.input).toEqual({ n: 3 });
    const running = done(startExecution(undefined, request(), fanIn, ctx())!);
    expect(rejectExecution(running, request(), error, ctx())).toBeUndefined();
    const settled = settleNode(running, 'b', { ok: true, output: { value: 42 }, eventId: 'ok', causationId: running.nodes.b!.dispatchEventId! }, ctx(5))!;
    const compact = compactRecord(settled);
    expect(compact.input).toEqual({});
    expect(compact.nodes.b).not.toHaveProperty('output');
    expect(compact.nodes.b).not.toHaveProperty('input');
    expect(compact.nodes.b!.status).toBe('completed');
  });
});
