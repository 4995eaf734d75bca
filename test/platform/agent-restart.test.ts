import { afterAll, beforeAll, expect, it } from 'vitest';
import { EventSubjects } from '@multi-agent/events';
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
  backend = await startBackend({
    // Slow enough tokens that the kill lands mid-inference; a short ack wait so the killed
    // agent's delivery comes back quickly.
    env: { LOCAL_MODEL_TOKEN_DELAY_MS: '25' },
    envFor: { agent: { NATS_ACK_WAIT_MS: '2000' } },
  });
  ({ observer, store, processes } = backend);
}, 60_000);

afterAll(async () => {
  await backend?.stop();
});

async function orchestrationMetric(trigger: string): Promise<number> {
  const text = await (await fetch(`${processes.url('orchestration')}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`orchestration_transitions_total{trigger="${trigger}"`));
  return line === undefined ? 0 : Number(line.split(' ').at(-1));
}

it('an agent killed mid-node and restarted completes the workflow exactly once', async () => {
  const executionId = await requestExecution(observer, 'research-summary', { topic: 'crash recovery' });

  // Wait until the agent is inside the research node and the model is streaming its answer.
  await waitFor(async () => {
    const events = await executionEvents(observer, executionId);
    return eventsOfType(events, EventSubjects.MODEL_INFERENCE_REQUESTED, 'research').length === 1;
  }, 20_000, 'the research inference to start');
  let streamed = 0;
  for await (const _token of observer.subscribeStream(executionId, { idleTimeoutMs: 10_000 })) {
    if (++streamed === 5) break;
  }
  const before = await executionEvents(observer, executionId);
  expect(eventsOfType(before, EventSubjects.AGENT_EXECUTION_COMPLETED)).toHaveLength(0);
  await processes.kill('agent');

  // The model finishes while no agent runs; the node must not advance without one.
  await waitFor(async () => eventsOfType(await executionEvents(observer, executionId), EventSubjects.MODEL_INFERENCE_COMPLETED, 'research').length === 1, 20_000);
  expect((await store.get(executionId))!.state.nodes.research!.status).toBe('running');

  await processes.start('agent');
  const state = await waitForEnd(store, executionId, 45_000);
  expect(state.status).toBe('completed');

  const events = await executionEvents(observer, executionId);
  // Exactly one completion per node on the bus: the restarted agent found the model's answer
  // instead of asking again, and re-published its events under the same IDs.
  for (const nodeId of ['research', 'summarise']) {
    expect(eventsOfType(events, EventSubjects.AGENT_EXECUTION_COMPLETED, nodeId)).toHaveLength(1);
    expect(eventsOfType(events, EventSubjects.MODEL_INFERENCE_REQUESTED, nodeId)).toHaveLength(1);
    expect(eventsOfType(events, EventSubjects.MODEL_INFERENCE_COMPLETED, nodeId)).toHaveLength(1);
    expect(eventsOfType(events, EventSubjects.EXECUTION_NODE_COMPLETED, nodeId)).toHaveLength(1);
  }
  expect(eventsOfType(events, EventSubjects.EXECUTION_COMPLETED)).toHaveLength(1);
  const research = eventsOfType(events, EventSubjects.AGENT_EXECUTION_COMPLETED, 'research')[0]!;
  expect(state.nodes.research!.settledByEventId).toBe(research.eventId);
  expect((research.data as { output: { text: string } }).output.text).toBe(
    (eventsOfType(events, EventSubjects.MODEL_INFERENCE_COMPLETED, 'research')[0]!.data as { text: string }).text,
  );
  // And exactly one state change per agent completion in the orchestration.
  expect(await orchestrationMetric(EventSubjects.AGENT_EXECUTION_COMPLETED)).toBe(2);
}, 90_000);
