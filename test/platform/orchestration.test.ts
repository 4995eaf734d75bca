import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { EventSubjects } from '@multi-agent/events';
import type { NatsClient } from '@multi-agent/nats-client';
import { Counter } from 'prom-client';
import { settleNode, startExecution, startOrchestration } from '@multi-agent/orchestration-service';
import { ExecutionStore, validateWorkflow } from '@multi-agent/service-kit';
import { NatsServer } from '@multi-agent/testing';
import { startInProcess } from './support/in-process.js';
import { Cleanup, connectService, executionEvents, requestExecution, waitFor, waitForEnd, workflowMap } from './support/platform.js';

const chain = validateWorkflow({
  id: 'chain',
  name: 'Chain',
  nodes: [
    { id: 'a', type: 'agent', agent: 'x', prompt: 'first' },
    { id: 'b', type: 'agent', agent: 'y', dependsOn: ['a'], prompt: 'second {{parents.a.text}}' },
  ],
});
const slow = validateWorkflow({
  id: 'slow',
  name: 'Slow',
  nodes: [{ id: 'wait', type: 'agent', agent: 'x', prompt: 'never answered', timeoutMs: 400 }],
});
const workflows = workflowMap(chain, slow);

let server: NatsServer;
let observer: NatsClient;
let store: ExecutionStore;
const cleanup = new Cleanup();
// Replicas and platforms a test starts stop when it ends: a sweeper left running would act on
// the next test's records (e.g. publish an outbox the next test plants as abandoned).
const perTest = new Cleanup();

beforeAll(async () => {
  server = await NatsServer.start();
  observer = await connectService(server.url, 'observer');
  cleanup.add(() => observer.close());
  store = await ExecutionStore.open(observer.jetstream.js);
});

afterEach(() => perTest.run());

afterAll(async () => {
  await cleanup.run();
  await server.stop();
});

/** Starts an orchestration replica (no agent service: the test answers for the agents). */
async function replica(options: Partial<Parameters<typeof startOrchestration>[1]> = {}): Promise<{ stop: () => Promise<void>; client: NatsClient }> {
  const client = await connectService(server.url, 'orchestration');
  const stopService = await startOrchestration(client, { workflows, sweepIntervalMs: 100, outboxGraceMs: 300, startupGraceMs: 0, ...options });
  const stop = async (): Promise<void> => {
    await stopService();
    await client.close();
  };
  perTest.add(stop);
  return { stop, client };
}

/** How many state changes a replica applied for `trigger` (its orchestration_transitions_total). */
async function transitionsApplied(client: NatsClient, trigger: string): Promise<number> {
  const metric = client.metrics.registry.getSingleMetric('orchestration_transitions_total');
  const values = metric instanceof Counter ? (await metric.get()).values : [];
  return values.filter((v) => v.labels.trigger === trigger).reduce((sum, v) => sum + v.value, 0);
}

function count(events: { eventType: string; data: unknown }[], type: string, nodeId: string): number {
  return events.filter((e) => e.eventType === type && (e.data as { nodeId?: string }).nodeId === nodeId).length;
}

describe('orchestration on the bus', () => {
  it('two replicas never advance one node twice, even when its completion arrives twice at once', async () => {
    const a = await replica();
    const b = await replica();
    const ids = await Promise.all(Array.from({ length: 12 }, () => requestExecution(observer, 'chain')));
    await Promise.all(
      ids.map(async (executionId) => {
        const running = await waitFor(async () => {
          const s = (await store.get(executionId))?.state;
          return s?.nodes.a?.status === 'running' && s.outbox.length === 0 ? s : undefined;
        });
        // Two deliveries of "node a completed" (say, an agent that ran twice) race into the two replicas.
        const completion = (text: string) =>
          observer.publish({
            eventType: EventSubjects.AGENT_EXECUTION_COMPLETED,
            correlationId: executionId,
            causationId: running.nodes.a!.dispatchEventId!,
            data: { agentId: 'x', executionId, nodeId: 'a', output: { text } },
          });
        const sent = await Promise.all([completion('one'), completion('two')]);
        const advanced = await waitFor(async () => {
          const s = (await store.get(executionId))?.state;
          return s?.nodes.b?.status === 'running' && s.outbox.length === 0 ? s : undefined;
        });
        expect(sent.map((r) => r.eventId)).toContain(advanced.nodes.a!.settledByEventId);
        // Node b got the output of whichever completion won, and was dispatched once.
        expect(['one', 'two']).toContain((advanced.nodes.a!.output as { text: string }).text);
      }),
    );
    // Let any late duplicate work settle, then count: one of each per execution.
    await new Promise((resolve) => setTimeout(resolve, 300));
    for (const executionId of ids) {
      const events = await executionEvents(observer, executionId);
      expect(count(events, EventSubjects.EXECUTION_NODE_COMPLETED, 'a')).toBe(1);
      expect(count(events, EventSubjects.EXECUTION_NODE_STARTED, 'b')).toBe(1);
      expect(count(events, EventSubjects.AGENT_EXECUTION_REQUESTED, 'b')).toBe(1);
      expect(events.filter((e) => e.eventType === EventSubjects.EXECUTION_STARTED)).toHaveLength(1);
    }
    // Event IDs are deterministic, so a doubled publish would be deduplicated and hide a double
    // advance: count the applied state changes instead. 24 completions, 12 advances.
    const applied = (await transitionsApplied(a.client, EventSubjects.AGENT_EXECUTION_COMPLETED)) + (await transitionsApplied(b.client, EventSubjects.AGENT_EXECUTION_COMPLETED));
    expect(applied).toBe(ids.length);
    await a.stop();
    await b.stop();
  });

  it('compare-and-set: of two writers deciding on the same revision, exactly one wins', async () => {
    const executionId = randomUUID();
    const ctx = { now: new Date(), defaultNodeTimeoutMs: 1000 };
    await store.create(
      startExecution(undefined, { eventId: 'r', timestamp: new Date(), data: { executionId, workflowId: 'chain', userId: 'u' } }, chain, ctx)!,
    );
    const other = await ExecutionStore.open(observer.jetstream.js);
    const dispatch = (await store.get(executionId))!.state.nodes.a!.dispatchEventId!;
    const results = await Promise.all(
      ['w1', 'w2', 'w3', 'w4'].map((eventId, i) =>
        (i % 2 === 0 ? store : other).mutate(executionId, (current) => settleNode(current, 'a', { ok: true, output: eventId, eventId, causationId: dispatch }, ctx)),
      ),
    );
    expect(results.filter((r) => r.changed)).toHaveLength(1);
    const final = (await store.get(executionId))!.state;
    expect(final.version).toBe(2);
    expect(final.nodes.a!.output).toBe(final.nodes.a!.settledByEventId);
  });

  it('fails a node that does not finish in time (NODE_TIMEOUT), then the execution; a late answer changes nothing', async () => {
    await replica();
    const executionId = await requestExecution(observer, 'slow');
    const state = await waitForEnd(store, executionId, 10_000);
    expect(state.status).toBe('failed');
    expect(state.error).toEqual({ message: 'node "wait" did not finish within 400 ms', code: 'NODE_TIMEOUT', nodeId: 'wait' });
    expect(Date.parse(state.finishedAt!) - Date.parse(state.nodes.wait!.startedAt!)).toBeGreaterThanOrEqual(400);
    await observer.publish({
      eventType: EventSubjects.AGENT_EXECUTION_COMPLETED,
      correlationId: executionId,
      causationId: state.nodes.wait!.dispatchEventId!,
      data: { agentId: 'x', executionId, nodeId: 'wait', output: { text: 'too late' } },
    });
    const events = await waitFor(async () => {
      const all = await executionEvents(observer, executionId);
      return all.some((e) => e.eventType === EventSubjects.AGENT_EXECUTION_COMPLETED) ? all : undefined;
    });
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect((await store.get(executionId))!.state).toMatchObject({ status: 'failed', version: state.version });
    expect(events.map((e) => e.eventType)).toContain(EventSubjects.EXECUTION_NODE_FAILED);
    expect(events.filter((e) => e.eventType === EventSubjects.EXECUTION_COMPLETED)).toHaveLength(0);
  });

  it('fails executions of unknown workflows or with invalid input, and ignores stale requests with no record', async () => {
    await replica();
    const unknown = await requestExecution(observer, 'no-such-workflow');
    expect(await waitForEnd(store, unknown)).toMatchObject({ status: 'failed', error: { code: 'UNKNOWN_WORKFLOW' } });
    const stale = randomUUID();
    await observer.publish({
      eventType: EventSubjects.WORKFLOW_EXECUTION_REQUESTED,
      timestamp: new Date(Date.now() - 60 * 60 * 1000),
      data: { workflowId: 'chain', userId: 'u', executionId: stale },
    });
    const marker = await requestExecution(observer, 'no-such-workflow');
    await waitForEnd(store, marker);
    // The stale request was published before the marker, so it has been handled by now.
    expect(await store.get(stale)).toBeUndefined();
  });
});

describe('crash between deciding and publishing', () => {
  it('an abandoned outbox is published by a sweeper, and the workflow runs to the end', async () => {
    // A process decided the start (one CAS write with its outbox) and died before publishing anything.
    const executionId = randomUUID();
    const research = validateWorkflow({
      id: 'research-summary',
      name: 'R',
      nodes: [
        { id: 'research', type: 'agent', agent: 'researcher', prompt: 'Notes on outboxes.' },
        { id: 'summarise', type: 'agent', agent: 'summariser', dependsOn: ['research'], prompt: 'Summary: {{parents.research.text}}' },
      ],
    });
    const old = new Date(Date.now() - 10_000);
    const decided = startExecution(undefined, { eventId: 'lost-request', correlationId: executionId, timestamp: old, data: { executionId, workflowId: 'research-summary', userId: 'u' } }, research, {
      now: old,
      defaultNodeTimeoutMs: 60_000,
    })!;
    await store.create(decided);
    expect(await executionEvents(observer, executionId)).toHaveLength(0);

    const platform = await startInProcess(server.url, {
      workflows: workflowMap(research),
      services: ['orchestration', 'agent', 'model', 'tool'],
      orchestration: { outboxGraceMs: 200 },
    });
    perTest.add(() => platform.stop());
    const state = await waitForEnd(store, executionId);
    expect(state.status).toBe('completed');
    const events = await executionEvents(observer, executionId);
    expect(events.filter((e) => e.eventType === EventSubjects.EXECUTION_STARTED)).toHaveLength(1);
    expect(count(events, EventSubjects.AGENT_EXECUTION_REQUESTED, 'research')).toBe(1);
    expect(events.at(-1)!.eventType).toBe(EventSubjects.EXECUTION_COMPLETED);
    // The sweeper published exactly the decided events, with the decided IDs.
    expect(events.slice(0, decided.outbox.length).map((e) => e.eventId)).toEqual(decided.outbox.map((e) => e.eventId));
  });
});
