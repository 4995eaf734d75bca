import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EventSubjects } from '@multi-agent/events';
import type { DomainEvent } from '@multi-agent/events';
import { localCompletion, ModelProviderError } from '@multi-agent/model-service';
import type { ModelProvider } from '@multi-agent/model-service';
import { NatsServer } from '@multi-agent/testing';
import { startInProcess } from './support/in-process.js';
import type { InProcessPlatform } from './support/in-process.js';
import { executionEvents, waitFor } from './support/platform.js';

let server: NatsServer;
let platform: InProcessPlatform;

/** The local model, except that a prompt containing "FAIL" is rejected like a bad request. */
const provider: ModelProvider = {
  name: 'test',
  defaultModel: 'test-model',
  async *stream(request) {
    if (request.prompt.includes('FAIL')) throw new ModelProviderError('MODEL_HTTP_ERROR', 'HTTP 400: prompt rejected', false);
    yield* localCompletion(request.prompt).split(/(?<= )/);
  },
};

beforeAll(async () => {
  server = await NatsServer.start();
  platform = await startInProcess(server.url, { services: ['agent', 'tool', 'model'], provider, agent: { toolTimeoutMs: 2000 } });
});

afterAll(async () => {
  await platform?.stop();
  await server?.stop();
});

async function runAgent(agent: Record<string, unknown>, input: Record<string, unknown> = {}): Promise<{ request: DomainEvent; answer: DomainEvent; events: DomainEvent[] }> {
  const executionId = randomUUID();
  const result = await platform.observer.publish({
    eventType: EventSubjects.AGENT_EXECUTION_REQUESTED,
    correlationId: executionId,
    data: { agentId: 'writer', executionId, nodeId: 'n1', input: { input, parents: { up: { text: 'parent text' } } }, agent },
  });
  const events = await waitFor(async () => {
    const all = await executionEvents(platform.observer, executionId);
    return all.some((e) => e.eventType === EventSubjects.AGENT_EXECUTION_COMPLETED || e.eventType === EventSubjects.AGENT_EXECUTION_FAILED) ? all : undefined;
  });
  const request = events.find((e) => e.eventId === result.eventId)!;
  const answer = events.find((e) => e.eventType === EventSubjects.AGENT_EXECUTION_COMPLETED || e.eventType === EventSubjects.AGENT_EXECUTION_FAILED)!;
  return { request, answer, events };
}

describe('agent service', () => {
  it('calls its tools by request/reply, renders the prompt over input, parents and tool results, and asks the model', async () => {
    const { request, answer, events } = await runAgent(
      {
        prompt: 'About {{input.topic}} after {{parents.up.text}}: {{tools.sum.value}} on {{tools.now.weekday}}',
        tools: [
          { as: 'sum', tool: 'calculator', params: { expression: '{{input.a}} + 1' } },
          { as: 'now', tool: 'clock', params: { timeZone: 'UTC' } },
        ],
        maxTokens: 50,
      },
      { topic: 'queues', a: 41 },
    );
    expect(answer.eventType).toBe(EventSubjects.AGENT_EXECUTION_COMPLETED);
    expect(answer.causationId).toBe(request.eventId);
    const inference = events.find((e) => e.eventType === EventSubjects.MODEL_INFERENCE_REQUESTED)!;
    const prompt = (inference.data as { prompt: string }).prompt;
    expect(prompt).toMatch(/^About queues after parent text: 42 on (Mon|Tues|Wednes|Thurs|Fri|Satur|Sun)day$/);
    expect(inference.data).toMatchObject({ agentId: 'writer', nodeId: 'n1', maxTokens: 50, stream: true });
    expect(answer.data).toMatchObject({ output: { text: localCompletion(prompt), model: 'test-model', tools: { sum: { value: 42 } } } });
    expect(events.map((e) => e.eventType)).toEqual([
      'agent.execution.requested',
      'agent.execution.started',
      'model.inference.requested',
      'model.inference.completed',
      'agent.execution.completed',
    ]);
  });

  it('fails with the tool error code when a tool rejects its call', async () => {
    const { answer } = await runAgent({ prompt: 'x {{tools.q.value}}', tools: [{ as: 'q', tool: 'calculator', params: { expression: '1/0' } }] });
    expect(answer).toMatchObject({ eventType: EventSubjects.AGENT_EXECUTION_FAILED, data: { error: { code: 'DIVISION_BY_ZERO' } } });
  });

  it('fails with TEMPLATE when the prompt uses a missing value, without calling the model', async () => {
    const { answer, events } = await runAgent({ prompt: 'About {{input.missing}}' });
    expect(answer.data).toMatchObject({ error: { code: 'TEMPLATE', message: 'template value "input.missing" is missing (no "missing")' } });
    expect(events.some((e) => e.eventType === EventSubjects.MODEL_INFERENCE_REQUESTED)).toBe(false);
  });

  it('fails with the model error code when the model rejects the prompt', async () => {
    const { answer } = await runAgent({ prompt: 'Please FAIL' });
    expect(answer).toMatchObject({ eventType: EventSubjects.AGENT_EXECUTION_FAILED, data: { error: { code: 'MODEL_HTTP_ERROR', message: 'model inference failed: HTTP 400: prompt rejected' } } });
  });

  it('fails an invalid request (no agent spec) at once', async () => {
    const { answer } = await runAgent({});
    expect(answer.data).toMatchObject({ error: { code: 'INVALID_AGENT_REQUEST' } });
  });
});
