import { describe, expect, it } from 'vitest';
import { cancelExecution, expireNodes, failDeadLettered, settleNode, startExecution, summarise, validateWorkflow } from '@multi-agent/service-kit';
import type { ExecutionState, StartRequest, TransitionContext } from '@multi-agent/service-kit';

const chain = validateWorkflow({
  id: 'chain',
  name: 'Chain',
  nodes: [
    { id: 'a', type: 'agent', agent: 'x', prompt: 'A' },
    { id: 'b', type: 'agent', agent: 'y', dependsOn: ['a'], prompt: 'B {{parents.a.text}}' },
  ],
});

const t0 = new Date('2024-01-01T00:00:00.000Z');
const ctx = (ms = 0): TransitionContext => ({ now: new Date(t0.getTime() + ms), defaultNodeTimeoutMs: 5000 });
const request: StartRequest = { eventId: 'req-1', correlationId: 'exec-1', timestamp: t0, data: { workflowId: 'chain', userId: 'u', executionId: 'exec-1' } };

function running(): ExecutionState {
  return { ...startExecution(undefined, request, chain, ctx())!, outbox: [] };
}

describe('cancelling an execution', () => {
  it('ends it cancelled: the running node cancelled, the pending one skipped, execution.cancelled decided', () => {
    const state = cancelExecution(running(), { reason: 'no longer needed', cancelledBy: 'ops' }, ctx(1500))!;
    expect(state).toMatchObject({ status: 'cancelled', cancellation: { reason: 'no longer needed', cancelledBy: 'ops' }, finishedAt: '2024-01-01T00:00:01.500Z', durationMs: 1500 });
    expect(state.nodes.a).toMatchObject({ status: 'cancelled', error: { code: 'CANCELLED' } });
    expect(state.nodes.b).toMatchObject({ status: 'skipped', error: { code: 'SKIPPED' } });
    expect(state.outbox).toEqual([
      expect.objectContaining({ eventType: 'execution.cancelled', data: { executionId: 'exec-1', workflowId: 'chain', userId: 'ops', reason: 'no longer needed' } }),
    ]);
    expect(summarise(state)).toMatchObject({ status: 'cancelled', nodes: { cancelled: 1, skipped: 1 }, cancellation: { reason: 'no longer needed' } });
  });

  it('dispatches nothing after it: a late report, a dead letter, a deadline or the request change nothing', () => {
    const before = running();
    const cancelled = { ...cancelExecution(before, {}, ctx(10))!, outbox: [] };
    const dispatch = before.nodes.a!.dispatchEventId!;
    expect(settleNode(cancelled, 'a', { ok: true, output: { text: 'late' }, eventId: 'done-a', causationId: dispatch }, ctx(20))).toBeUndefined();
    expect(failDeadLettered(cancelled, { dlqSequence: 1, eventId: dispatch, nodeId: 'a', error: { message: 'x' } }, ctx(20))).toBeUndefined();
    expect(expireNodes(cancelled, ctx(60_000))).toBeUndefined();
    expect(startExecution(cancelled, request, chain, ctx(20))).toBeUndefined();
  });

  it('cancels a requested execution before it starts, and never an ended one', () => {
    const requested: ExecutionState = { ...running(), status: 'requested', nodes: {} };
    const cancelled = cancelExecution(requested, {}, ctx())!;
    expect(cancelled.status).toBe('cancelled');
    expect(startExecution(cancelled, request, chain, ctx(5))).toBeUndefined();
    expect(cancelExecution(cancelled, {}, ctx(10))).toBeUndefined();
    expect(cancelExecution({ ...running(), status: 'completed' }, {}, ctx())).toBeUndefined();
    expect(cancelExecution(undefined, {}, ctx())).toBeUndefined();
  });
});
