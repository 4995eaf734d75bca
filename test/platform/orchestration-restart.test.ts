import { afterAll, beforeAll, expect, it } from 'vitest';
import { EventSubjects } from '@multi-agent/events';
import type { DomainEvent } from '@multi-agent/events';
import type { NatsClient } from '@multi-agent/nats-client';
import type { ExecutionStore } from '@multi-agent/service-kit';
import { eventsOfType, executionEvents, requestExecution, waitFor, waitForEnd } from './support/platform.js';
import { startBackend } from './support/processes.js';
import type { Backend, ServiceProcesses } from './support/processes.js';

let backend: Backend;
let observer: NatsClient;
let store: ExecutionStore;
let processes: ServiceProcesses;

beforeAll(async () => {
  backend = await startBackend({ env: { LOCAL_MODEL_TOKEN_DELAY_MS: '15' } });
  ({ observer, store, processes } = backend);
}, 60_000);

afterAll(async () => {
  await backend?.stop();
});

function count(events: DomainEvent[], type: string, nodeId?: string): number {
  return eventsOfType(events, type, nodeId).length;
}

it('an orchestration killed mid-workflow resumes the execution after restart', async () => {
  const executionId = await requestExecution(observer, 'perspectives');
  // Both branches are running, and both agents have their requests (the record says running
  // before the outbox publishes the requests): kill the orchestration while the agents work.
  await waitFor(async () => {
    const state = (await store.get(executionId))?.state;
    return state?.nodes.optimist?.status === 'running' && state.nodes.sceptic?.status === 'running';
  }, 20_000, 'both branches to run');
  await waitFor(async () => count(await executionEvents(observer, executionId), EventSubjects.AGENT_EXECUTION_STARTED) === 2, 20_000, 'both agents to start');
  await processes.kill('orchestration');

  // The agents finish without an orchestration: their completions wait in the stream. (A
  // generous bound: five service processes share two cores with the rest of the suite.)
  await waitFor(async () => count(await executionEvents(observer, executionId), EventSubjects.AGENT_EXECUTION_COMPLETED) === 2, 60_000, 'both agents to finish');
  const stalled = (await store.get(executionId))!.state;
  expect(stalled.status).toBe('running');
  expect(stalled.nodes.verdict!.status).toBe('pending');

  await processes.start('orchestration');
  const state = await waitForEnd(store, executionId, 45_000);
  expect(state.status).toBe('completed');
  expect(Object.values(state.nodes).map((n) => n.status)).toEqual(['completed', 'completed', 'completed']);
  const events = await executionEvents(observer, executionId);
  expect(count(events, EventSubjects.EXECUTION_STARTED)).toBe(1);
  for (const nodeId of ['optimist', 'sceptic', 'verdict']) {
    expect(count(events, EventSubjects.EXECUTION_NODE_STARTED, nodeId)).toBe(1);
    expect(count(events, EventSubjects.EXECUTION_NODE_COMPLETED, nodeId)).toBe(1);
  }
  expect(count(events, EventSubjects.EXECUTION_COMPLETED)).toBe(1);
}, 150_000);
