/**
 * `agent.execution.requested` 1.1 through the platform: the orchestration publishes the agent
 * reference, the agent service resolves it against its registry, a consumer written for 1.0
 * still reads the events, and an execution naming an agent the agent service does not define
 * fails with the DLQ record of its refused request.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { agentExecutionRequestedDataSchema, EventSubjects } from '@multi-agent/events';
import type { AgentExecutionRequestedData, AgentExecutionRequestedEvent } from '@multi-agent/events';
import { AgentRegistry, loadWorkflows, validateWorkflow } from '@multi-agent/service-kit';
import { NatsServer } from '@multi-agent/testing';
import { startInProcess } from './support/in-process.js';
import type { InProcessPlatform } from './support/in-process.js';
import { Cleanup, eventsOfType, executionEvents, requestExecution, waitFor, waitForEnd } from './support/platform.js';

/** A workflow the orchestration knows and the agent service does not (its files are older). */
const newer = validateWorkflow({ id: 'newer', name: 'Newer', nodes: [{ id: 'only', type: 'agent', agent: 'newcomer', prompt: 'hello' }] });

let server: NatsServer;
let platform: InProcessPlatform;
const cleanup = new Cleanup();
const seenByOldConsumer: AgentExecutionRequestedData[] = [];

beforeAll(async () => {
  server = await NatsServer.start();
  const workflows = await loadWorkflows();
  platform = await startInProcess(server.url, {
    services: ['orchestration', 'tool', 'model'],
    workflows: new Map([...workflows, [newer.id, newer]]),
  });
  cleanup.add(() => platform.stop());
  const agentOnly = await startInProcess(server.url, { services: ['agent'], workflows });
  cleanup.add(() => agentOnly.stop());
  // A consumer written against 1.0 (its own durable): it reads the 1.0 fields, with the 1.0 schema.
  const oldConsumer = await platform.observer.subscribe<AgentExecutionRequestedEvent>(
    EventSubjects.AGENT_EXECUTION_REQUESTED,
    async (event) => {
      seenByOldConsumer.push(agentExecutionRequestedDataSchema.parse(event.data));
    },
    'audit-agent-requests',
  );
  cleanup.add(() => oldConsumer.stop());
});

afterAll(async () => {
  await cleanup.run();
  await server?.stop();
});

it('the orchestration publishes 1.1 requests with the agent reference; the agent resolves them, a 1.0 consumer reads them', async () => {
  const executionId = await requestExecution(platform.observer, 'research-summary', { topic: 'versions' });
  const state = await waitForEnd(platform.store, executionId);
  expect(state.status).toBe('completed');
  const registry = AgentRegistry.fromWorkflows(platform.workflows);
  const requests = eventsOfType(await executionEvents(platform.observer, executionId), EventSubjects.AGENT_EXECUTION_REQUESTED);
  expect(requests.map((e) => [e.version, e.data])).toEqual([
    ['1.1', expect.objectContaining({ agentId: 'researcher', agentRef: { id: 'researcher', revision: registry.get('researcher')!.revision } })],
    ['1.1', expect.objectContaining({ agentId: 'summariser', agentRef: { id: 'summariser', revision: registry.get('summariser')!.revision } })],
  ]);
  // No prompt or tool list travels in the event any more.
  for (const request of requests) expect(request.data).not.toHaveProperty('agent');
  const seen = await waitFor(() => {
    const mine = seenByOldConsumer.filter((d) => d.executionId === executionId);
    return mine.length === 2 ? mine : undefined;
  });
  expect(seen.map((d) => d.nodeId).sort()).toEqual(['research', 'summarise']);
  // Nobody gave up on any event of it: neither the agent nor the 1.0 consumer.
  expect((await platform.observer.deadLetters.list()).filter((d) => d.record.originalEvent?.correlationId === executionId)).toEqual([]);
});

it('an agent the agent service does not define: the request is dead-lettered once, and the execution fails with that record', async () => {
  const executionId = await requestExecution(platform.observer, 'newer');
  const state = await waitForEnd(platform.store, executionId, 10_000);
  expect(state.status).toBe('failed');
  expect(state.nodes.only).toMatchObject({ status: 'failed', error: { code: 'DEAD_LETTERED' } });
  const stored = await platform.observer.deadLetters.read(state.error!.dlqSequence as number);
  expect(stored!.record).toMatchObject({
    originalSubject: EventSubjects.AGENT_EXECUTION_REQUESTED,
    reason: 'non-retryable',
    errorClass: 'DeterministicError',
    failureCount: 1,
    service: 'agent',
    originalEvent: { version: '1.1', data: { agentId: 'newcomer', agentRef: { id: 'newcomer' } } },
  });
  expect(stored!.record.errorMessage).toContain('agent "newcomer" is not defined by any workflow');
  const events = await executionEvents(platform.observer, executionId);
  expect(eventsOfType(events, EventSubjects.AGENT_EXECUTION_STARTED)).toHaveLength(0);
});
