import { describe, expect, it } from 'vitest';
import { cancelExecution, expireNodes, failDeadLettered, redirectDeadLetter, rejectExecution, settleNode, startExecution, validateWorkflow } from '@multi-agent/service-kit';
import type { DeadLetteredEvent, ExecutionState, NodeOutcome, StartRequest, TransitionContext } from '@multi-agent/service-kit';

const chain = validateWorkflow({
  id: 'chain',
  name: 'Chain',
  nodes: [
    { id: 'a', type: 'agent', agent: 'x', prompt: 'A' },
    { id: 'b', type: 'agent', agent: 'y', dependsOn: ['a'], prompt: 'B' },
  ],
});

const t0 = new Date('2024-01-01T00:00:00.000Z');
const ctx = (ms = 0): TransitionContext => ({ now: new Date(t0.getTime() + ms), defaultNodeTimeoutMs: 5000 });
const request: StartRequest = { eventId: 'req-1', correlationId: 'exec-1', timestamp: t0, data: { workflowId: 'chain', userId: 'u', executionId: 'exec-1', input: { n: 1 } } };

/** A DLQ record of `eventId` (sequence `seq`), whose replay is published as `replay-<seq>`. */
function deadLetter(seq: number, eventId: string, extra: Partial<DeadLetteredEvent> = {}): DeadLetteredEvent {
  return {
    dlqSequence: seq,
    eventId,
    ...extra,
    error: { message: `internal error, see DLQ record ${seq}`, code: 'DEAD_LETTERED', dlqSequence: seq, replayEventId: `replay-${seq}` } as DeadLetteredEvent['error'],
  };
}

const published = (state: ExecutionState) => state.outbox.map((e) => e.eventType);
const settled = (state: ExecutionState): ExecutionState => ({ ...state, outbox: [] });

/** Running, node `a` dispatched; then its request dead-lettered as DLQ record 7. */
function deadOnNodeA(): ExecutionState {
  const running = settled(startExecution(undefined, request, chain, ctx())!);
  const dispatch = running.nodes.a!.dispatchEventId!;
  return settled(failDeadLettered(running, deadLetter(7, dispatch, { nodeId: 'a' }), ctx(100))!);
}

const answer = (causationId: string, ok = true): NodeOutcome =>
  ok ? { ok, output: { text: 'A!' }, eventId: `report-of-${causationId}`, causationId } : { ok, error: { message: 'no', code: 'AGENT_ERROR' }, eventId: `report-of-${causationId}`, causationId };

describe('a dead-lettered execution request, replayed', () => {
  const failed = settled(rejectExecution(undefined, request, deadLetter(3, 'req-1').error, ctx())!);
  const replayed: StartRequest = { ...request, eventId: 'replay-3', timestamp: new Date(t0.getTime() + 60_000) };

  it('revives the execution: it starts with the replayed input, the failure kept in revivals, execution.resumed then execution.started', () => {
    expect(failed).toMatchObject({ status: 'failed', input: {}, error: { code: 'DEAD_LETTERED' } });
    const state = startExecution(failed, replayed, chain, ctx(60_000))!;
    expect(state).toMatchObject({ status: 'running', input: { n: 1 }, version: failed.version + 1 });
    expect(state.error).toBeUndefined();
    expect(state.finishedAt).toBeUndefined();
    expect(state.revivals).toEqual([{ error: failed.error, failedAt: failed.finishedAt, revivedAt: '2024-01-01T00:01:00.000Z', byEventId: 'replay-3' }]);
    expect(published(state)).toEqual(['execution.resumed', 'execution.started', 'execution.node.started', 'agent.execution.requested']);
    expect(state.outbox[0]).toMatchObject({ causationId: 'replay-3', data: { executionId: 'exec-1', dlqSequence: 3, replayEventId: 'replay-3', error: { code: 'DEAD_LETTERED' } } });
  });

  it('once: the same replay again changes nothing', () => {
    const state = settled(startExecution(failed, replayed, chain, ctx(60_000))!);
    expect(startExecution(state, replayed, chain, ctx(61_000))).toBeUndefined();
  });

  it('only the replay revives it: the original request redelivered, or another event, changes nothing', () => {
    expect(startExecution(failed, request, chain, ctx(60_000))).toBeUndefined();
    expect(startExecution(failed, { ...replayed, eventId: 'replay-4' }, chain, ctx(60_000))).toBeUndefined();
  });

  it('a replay that cannot run revives it and fails it again with the new reason', () => {
    const state = rejectExecution(failed, replayed, { message: 'input too large', code: 'INPUT_TOO_LARGE' }, ctx(60_000))!;
    expect(state).toMatchObject({ status: 'failed', error: { code: 'INPUT_TOO_LARGE' }, revivals: [{ error: { code: 'DEAD_LETTERED' } }] });
    expect(published(state)).toEqual(['execution.resumed', 'execution.failed']);
  });
});

describe('a dead-lettered node request, replayed', () => {
  it('the report of the replayed request revives the execution, settles the node and dispatches the next one', () => {
    const failed = deadOnNodeA();
    expect(failed.nodes.b).toMatchObject({ status: 'skipped' });
    const state = settleNode(failed, 'a', answer('replay-7'), ctx(60_000))!;
    expect(state.status).toBe('running');
    expect(state.nodes.a).toMatchObject({ status: 'completed', output: { text: 'A!' }, settledByEventId: 'report-of-replay-7' });
    expect(state.nodes.a!.error).toBeUndefined();
    expect(state.nodes.b).toMatchObject({ status: 'running', attempt: 1 });
    expect(published(state)).toEqual(['execution.resumed', 'execution.node.completed', 'execution.node.started', 'agent.execution.requested']);
    expect(state.outbox[0]!.data).toMatchObject({ nodeId: 'a', dlqSequence: 7 });
    // A duplicate of the report changes nothing.
    expect(settleNode(settled(state), 'a', answer('replay-7'), ctx(61_000))).toBeUndefined();
  });

  it('the replayed report itself revives it too (its eventId is the replay)', () => {
    const failed = deadOnNodeA();
    const state = settleNode(failed, 'a', { ok: true, output: 1, eventId: 'replay-7', causationId: 'report-1' }, ctx(60_000))!;
    expect(state.nodes.a!.status).toBe('completed');
  });

  it('nothing else revives it: a report of the original dispatch, or one for another node', () => {
    const failed = deadOnNodeA();
    expect(settleNode(failed, 'a', answer(failed.nodes.a!.dispatchEventId!), ctx(60_000))).toBeUndefined();
    expect(settleNode(failed, 'b', answer('replay-7'), ctx(60_000))).toBeUndefined();
  });

  it('a revived node that fails fails the execution again, with events of their own (new ids)', () => {
    const failed = deadOnNodeA();
    const firstFailure = startExecution(undefined, request, chain, ctx())!;
    const again = settleNode(failed, 'a', answer('replay-7', false), ctx(60_000))!;
    expect(again).toMatchObject({ status: 'failed', error: { code: 'AGENT_ERROR', nodeId: 'a' }, revivals: [{ error: { code: 'DEAD_LETTERED' } }] });
    const before = failDeadLettered(settled(firstFailure), deadLetter(7, firstFailure.nodes.a!.dispatchEventId!, { nodeId: 'a' }), ctx(100))!;
    const ids = new Set(before.outbox.map((e) => e.eventId));
    for (const entry of again.outbox) expect(ids.has(entry.eventId)).toBe(false);
    // Not revivable by the old replay any more: the failure is not a dead letter.
    expect(settleNode(settled(again), 'a', answer('replay-7'), ctx(61_000))).toBeUndefined();
  });

  it('the replay dead-lettered again points the failure at the newer record, whose replay then revives it', () => {
    const failed = deadOnNodeA();
    const moved = redirectDeadLetter(failed, deadLetter(9, 'replay-7', { nodeId: 'a', causationId: failed.nodes.a!.dispatchEventId! }), ctx(60_000))!;
    expect(moved).toMatchObject({ status: 'failed', error: { dlqSequence: 9, replayEventId: 'replay-9', nodeId: 'a' } });
    expect(moved.nodes.a!.error).toMatchObject({ dlqSequence: 9 });
    expect(moved.outbox).toEqual([]);
    expect(settleNode(moved, 'a', answer('replay-7'), ctx(61_000))).toBeUndefined();
    expect(settleNode(moved, 'a', answer('replay-9'), ctx(61_000))!.nodes.a!.status).toBe('completed');
    // Another dead letter of the execution does not move it.
    expect(redirectDeadLetter(failed, deadLetter(10, 'something-else', { nodeId: 'a' }), ctx(60_000))).toBeUndefined();
  });
});

describe('only a dead-letter failure is revived', () => {
  it('an execution that failed with NODE_TIMEOUT, or was cancelled, stays as it is', () => {
    const running = settled(startExecution(undefined, request, chain, ctx())!);
    const timedOut = settled(expireNodes(running, ctx(10_000))!);
    expect(timedOut.error).toMatchObject({ code: 'NODE_TIMEOUT' });
    const cancelled = settled(cancelExecution(running, { reason: 'stop' }, ctx(10))!);
    for (const ended of [timedOut, cancelled]) {
      // Only a dead-letter failure carries the id of the replay that revives it.
      expect(settleNode(ended, 'a', answer('replay-7'), ctx(60_000))).toBeUndefined();
      expect(startExecution(ended, { ...request, eventId: 'replay-7' }, chain, ctx(60_000))).toBeUndefined();
      expect(redirectDeadLetter(ended, deadLetter(9, 'replay-7', { nodeId: 'a' }), ctx(60_000))).toBeUndefined();
    }
  });
});
