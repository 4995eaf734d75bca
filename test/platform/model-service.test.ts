import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EventSubjects } from '@multi-agent/events';
import type { TokenMessage } from '@multi-agent/events';
import type { NatsClient } from '@multi-agent/nats-client';
import { LocalModelProvider, localCompletion, OpenAiCompatibleProvider, PARAGRAPH, startModelService } from '@multi-agent/model-service';
import type { ModelProvider } from '@multi-agent/model-service';
import { NatsServer } from '@multi-agent/testing';
import { Cleanup, connectService, executionEvents, waitFor } from './support/platform.js';
import { FakeOpenAi, openAiChunk as chunk } from '@multi-agent/testing';

let server: NatsServer;
let caller: NatsClient;
const fake = new FakeOpenAi();
const cleanup = new Cleanup();

/** Routes each prompt to the local provider, except prompts starting with "remote:" (fake OpenAI server). */
class RoutingProvider implements ModelProvider {
  readonly name = 'routing';
  readonly defaultModel = 'local-deterministic';
  constructor(
    private readonly local: ModelProvider,
    private readonly remote: ModelProvider,
  ) {}
  stream(request: Parameters<ModelProvider['stream']>[0]): ReturnType<ModelProvider['stream']> {
    return request.prompt.startsWith('remote:') ? this.remote.stream(request) : this.local.stream(request);
  }
}

beforeAll(async () => {
  server = await NatsServer.start();
  const baseUrl = await fake.start();
  cleanup.add(() => fake.stop());
  const model = await connectService(server.url, 'model', { maxDeliverAttempts: 2 });
  cleanup.add(() => model.close());
  const provider = new RoutingProvider(new LocalModelProvider({ tokenDelayMs: 3 }), new OpenAiCompatibleProvider({ baseUrl, model: 'fake-gpt' }));
  cleanup.add(await startModelService(model, { provider }));
  caller = await connectService(server.url, 'caller');
  cleanup.add(() => caller.close());
});

afterAll(async () => {
  await cleanup.run();
  await server.stop();
});

async function readStream(executionId: string): Promise<TokenMessage[]> {
  const tokens: TokenMessage[] = [];
  for await (const token of caller.subscribeStream(executionId, { idleTimeoutMs: 10_000 })) tokens.push(token);
  return tokens;
}

function infer(executionId: string, nodeId: string, prompt: string): Promise<{ eventId: string }> {
  return caller.publish({
    eventType: EventSubjects.MODEL_INFERENCE_REQUESTED,
    correlationId: executionId,
    data: { executionId, nodeId, agentId: 'writer', prompt, stream: true },
  });
}

describe('model service', () => {
  it('streams each inference of an execution whole and in order, then completes the stream when the execution ends', async () => {
    const executionId = randomUUID();
    const reading = readStream(executionId);
    // Two inferences of one execution at once (a fan-out): their texts must not interleave.
    const first = await infer(executionId, 'optimist', 'Benefits of event sourcing.');
    const second = await infer(executionId, 'sceptic', 'Risks of event sourcing.');
    const completions = await waitFor(async () => {
      const done = (await executionEvents(caller, executionId)).filter((e) => e.eventType === EventSubjects.MODEL_INFERENCE_COMPLETED);
      return done.length === 2 ? done : undefined;
    });
    expect(completions.map((e) => e.causationId).sort()).toEqual([first.eventId, second.eventId].sort());
    const texts = completions.map((e) => (e.data as { text: string }).text);
    expect(texts.sort()).toEqual([localCompletion('Benefits of event sourcing.'), localCompletion('Risks of event sourcing.')].sort());

    await caller.publish({ eventType: EventSubjects.EXECUTION_COMPLETED, correlationId: executionId, data: { executionId, workflowId: 'w' } });
    const tokens = await reading;
    expect(tokens.map((t) => t.seq)).toEqual(tokens.map((_, i) => i + 1));
    expect(tokens.at(-1)).toMatchObject({ isComplete: true, token: '' });
    const streamed = tokens.map((t) => t.token).join('');
    // Whichever ran first, the stream is one text, a blank line, then the other.
    const byOrder = completions.map((e) => (e.data as { text: string }).text);
    expect([byOrder.join(PARAGRAPH), [...byOrder].reverse().join(PARAGRAPH)]).toContain(streamed);
  });

  it('streams through the OpenAI-compatible provider and reports its token count', async () => {
    fake.script = (res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.end(`${chunk('Bonjour')}${chunk(' le')}${chunk(' monde')}data: [DONE]\n\n`);
    };
    const executionId = randomUUID();
    const reading = readStream(executionId);
    await infer(executionId, 'greet', 'remote: say hello in French');
    const completed = await waitFor(async () => (await executionEvents(caller, executionId)).find((e) => e.eventType === EventSubjects.MODEL_INFERENCE_COMPLETED));
    expect(completed.data).toMatchObject({ executionId, nodeId: 'greet', text: 'Bonjour le monde', tokenCount: 3, model: 'local-deterministic' });
    await caller.publish({ eventType: EventSubjects.EXECUTION_FAILED, correlationId: executionId, data: { executionId, workflowId: 'w', error: { message: 'x' } } });
    expect((await reading).map((t) => t.token)).toEqual(['Bonjour', ' le', ' monde', '']);
  });

  it('publishes model.inference.failed for a request the provider rejects (no retry)', async () => {
    fake.requests.length = 0;
    fake.script = (res) => res.writeHead(400).end('{"error":{"message":"bad request"}}');
    const executionId = randomUUID();
    const request = await infer(executionId, 'broken', 'remote: anything');
    const failed = await waitFor(async () => (await executionEvents(caller, executionId)).find((e) => e.eventType === EventSubjects.MODEL_INFERENCE_FAILED));
    expect(failed).toMatchObject({ causationId: request.eventId, data: { nodeId: 'broken', error: { code: 'MODEL_HTTP_ERROR' } } });
    expect(fake.requests).toHaveLength(1);
  });

  it('retries a retryable provider failure, then reports it on the last attempt', async () => {
    fake.requests.length = 0;
    fake.script = (res) => res.writeHead(503).end();
    const executionId = randomUUID();
    await infer(executionId, 'flaky', 'remote: anything');
    const failed = await waitFor(async () => (await executionEvents(caller, executionId)).find((e) => e.eventType === EventSubjects.MODEL_INFERENCE_FAILED));
    expect(failed.data).toMatchObject({ error: { code: 'MODEL_HTTP_ERROR' } });
    // maxDeliverAttempts is 2 for this service: one retry, then the failure event.
    expect(fake.requests).toHaveLength(2);
  });
});
