/**
 * A model request that is dead-lettered fails the agent's node and the execution at once, with
 * the reason, instead of leaving the node to time out while the agent waits for an answer.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { EventSubjects } from '@multi-agent/events';
import type { ModelInferenceRequestedEvent } from '@multi-agent/events';
import { NonRetryableError } from '@multi-agent/nats-client';
import { validateWorkflow } from '@multi-agent/service-kit';
import { NatsServer } from '@multi-agent/testing';
import { startInProcess } from './support/in-process.js';
import type { InProcessPlatform } from './support/in-process.js';
import { Cleanup, connectService, requestExecution, waitForEnd, workflowMap } from './support/platform.js';

const ask = validateWorkflow({ id: 'ask', name: 'Ask', nodes: [{ id: 'answer', type: 'agent', agent: 'asker', prompt: 'hello', timeoutMs: 60_000 }] });

let server: NatsServer;
let platform: InProcessPlatform;
let modelRuns = 0;
const cleanup = new Cleanup();

beforeAll(async () => {
  server = await NatsServer.start();
  // The agent would wait a minute for the model; the node must fail long before.
  platform = await startInProcess(server.url, { services: ['orchestration', 'agent'], workflows: workflowMap(ask), agent: { modelTimeoutMs: 60_000 } });
  cleanup.add(() => platform.stop());
  const model = await connectService(server.url, 'model');
  cleanup.add(() => model.close());
  const sub = await model.subscribe<ModelInferenceRequestedEvent>(EventSubjects.MODEL_INFERENCE_REQUESTED, async () => {
    modelRuns += 1;
    throw new NonRetryableError('model "local" cannot serve this prompt');
  });
  cleanup.add(() => sub.stop());
});

afterAll(async () => {
  await cleanup.run();
  await server.stop();
});

it('a dead-lettered model request fails its agent node and the execution with the reason, within seconds', async () => {
  const started = Date.now();
  const executionId = await requestExecution(platform.observer, 'ask');
  const state = await waitForEnd(platform.store, executionId, 10_000);
  expect(Date.now() - started).toBeLessThan(10_000);
  expect(state.status).toBe('failed');
  const sequence = state.error!.dlqSequence as number;
  expect(state.nodes.answer).toMatchObject({ status: 'failed', error: { code: 'DEAD_LETTERED', message: `model "local" cannot serve this prompt (DLQ record ${sequence})` } });
  const stored = await platform.observer.deadLetters.read(sequence);
  expect(stored!.record).toMatchObject({ originalSubject: EventSubjects.MODEL_INFERENCE_REQUESTED, reason: 'non-retryable', failureCount: 1, service: 'model' });
  expect(modelRuns).toBe(1);
});
