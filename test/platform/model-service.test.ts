import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EventSubjects } from '@multi-agent/events';
import type { TokenMessage } from '@multi-agent/events';
import type { NatsClient } from '@multi-agent/nats-client';
import { LocalModelProvider, localCompletion, ModelProviderError, OpenAiCompatibleProvider, PARAGRAPH, startModelService } from '@multi-agent/model-service';
import type { ModelProvider } from '@multi-agent/model-service';
import { NatsServer } from '@multi-agent/testing';
import { Cleanup, connectService, executionEvents, waitFor } from './support/platform.js';
import { FakeOpenAi, openAiChunk as chunk } from '@multi-agent/testing';

let server: NatsServer;
let caller: NatsClient;
const fake = new FakeOpenAi();
const cleanup = new Cleanup();

/**
 * Two inferences that must run at the same time: each yields its first word, then waits until
 * the other has yielded its own before it yields the rest. Run one after the other, the first
 * would wait for ever; it gives up after `boundMs` with a non-retryable failure instead.
 */
class RendezvousProvider implements ModelProvider {
  readonly name = 'rendezvous';
  readonly defaultModel = 'rendezvous';
  private arrived = 0;
  private release!: () => void;
  private readonly everyone = new Promise<void>((resolve) => (this.release = resolve));

  constructor(private readonly boundMs: number) {}

  async *stream(request: Parameters<ModelProvider['stream']>[0]): AsyncIterable<string> {
    const [first, ...rest] = request.prompt.split(/(?<= )/);
    yield first!;
    this.arrived += 1;
    if (this.arrived === 2) this.release();
    let timer: NodeJS.Timeout | undefined;
    const bound = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new ModelProviderError('RENDEZVOUS_MISSED', 'the other inference did not start meanwhile', false)), this.boundMs);
    });
    try {
      await Promise.race([this.everyone, bound]);
    } finally {
      clearTimeout(timer);
    }
    yield* rest;
  }
}

/** Routes each prompt to the local provider, except "remote:" (fake OpenAI server) and "rendezvous:" prompts. */
class RoutingProvider implements ModelProvider {
  readonly name = 'routing';
  readonly defaultModel = 'local-deterministic';
  rendezvous = new RendezvousProvider(10_000);
  constructor(
    private readonly local: ModelProvider,
    private readonly remote: ModelProvider,
  ) {}
  stream(request: Parameters<ModelProvider['stream']>[0]): ReturnType<ModelProvider['stream']> {
    if (request.prompt.startsWith('remote:')) return this.remote.stream(request);
    if (request.prompt.startsWith('rendezvous:')) return this.rendezvous.stream(request);
    return this.local.stream(request);
  }
}

let routing: RoutingProvider;

beforeAll(async () => {
  server = await NatsServer.start();
  const baseUrl = await fake.start();
  cleanup.add(() => fake.stop());
  const model = await connectService(server.url, 'model', { maxDeliverAttempts: 2 });
  cleanup.add(() => model.close());
  routing = new RoutingProvider(new LocalModelProvider({ tokenDelayMs: 3 }), new OpenAiCompatibleProvider({ baseUrl, model: 'fake-gpt' }));
  cleanup.add(await startModelService(model, { provider: routing }));
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
  it('streams the tokens of each node with its nodeId, the inferences of one node one after another, then completes the stream when the execution ends', async () => {
    const executionId = randomUUID();
    const reading = readStream(executionId);
    // A fan-out (optimist and sceptic) and a second inference of optimist: optimist's two texts must not interleave.
    const requests = [
      await infer(executionId, 'optimist', 'Benefits of event sourcing.'),
      await infer(executionId, 'sceptic', 'Risks of event sourcing.'),
      await infer(executionId, 'optimist', 'Opportunities of event sourcing.'),
    ];
    const completions = await waitFor(async () => {
      const done = (await executionEvents(caller, executionId)).filter((e) => e.eventType === EventSubjects.MODEL_INFERENCE_COMPLETED);
      return done.length === 3 ? done : undefined;
    });
    expect(completions.map((e) => e.causationId).sort()).toEqual(requests.map((r) => r.eventId).sort());
    const textOf = (nodeId: string): string[] => completions.map((e) => e.data as { nodeId: string; text: string }).filter((d) => d.nodeId === nodeId).map((d) => d.text);
    expect(textOf('sceptic')).toEqual([localCompletion('Risks of event sourcing.')]);

    await caller.publish({ eventType: EventSubjects.EXECUTION_COMPLETED, correlationId: executionId, data: { executionId, workflowId: 'w' } });
    const tokens = await reading;
    expect(tokens.map((t) => t.seq)).toEqual(tokens.map((_, i) => i + 1));
    expect(tokens.at(-1)).toEqual({ isComplete: true, token: '', seq: tokens.length });
    expect(tokens.slice(0, -1).every((t) => t.nodeId === 'optimist' || t.nodeId === 'sceptic')).toBe(true);
    const streamedBy = (nodeId: string): string => tokens.filter((t) => t.nodeId === nodeId).map((t) => t.token).join('');
    expect(streamedBy('sceptic')).toBe(textOf('sceptic')[0]);
    // Whichever of optimist's inferences ran first: one text, a blank line, then the other.
    const optimist = textOf('optimist');
    expect([optimist.join(PARAGRAPH), [...optimist].reverse().join(PARAGRAPH)]).toContain(streamedBy('optimist'));
  });

  it('streams the inferences of parallel nodes at the same time', async () => {
    routing.rendezvous = new RendezvousProvider(10_000);
    const executionId = randomUUID();
    const reading = readStream(executionId);
    const prompts = { left: 'rendezvous: one two three four five', right: 'rendezvous: six seven eight nine ten' };
    for (const [nodeId, prompt] of Object.entries(prompts)) await infer(executionId, nodeId, prompt);
    // Each provider call waits for the other's first token: both complete only if they overlapped.
    const outcomes = await waitFor(async () => {
      const done = (await executionEvents(caller, executionId)).filter((e) => e.eventType === EventSubjects.MODEL_INFERENCE_COMPLETED || e.eventType === EventSubjects.MODEL_INFERENCE_FAILED);
      return done.length === 2 ? done : undefined;
    }, 15_000);
    expect(outcomes.map((e) => e.eventType)).toEqual([EventSubjects.MODEL_INFERENCE_COMPLETED, EventSubjects.MODEL_INFERENCE_COMPLETED]);

    await caller.publish({ eventType: EventSubjects.EXECUTION_COMPLETED, correlationId: executionId, data: { executionId, workflowId: 'w' } });
    const tokens = await reading;
    expect(tokens.map((t) => t.seq)).toEqual(tokens.map((_, i) => i + 1));
    const seqsOf = (nodeId: string): number[] => tokens.filter((t) => t.nodeId === nodeId).map((t) => t.seq);
    for (const [nodeId, prompt] of Object.entries(prompts)) {
      expect(tokens.filter((t) => t.nodeId === nodeId).map((t) => t.token).join('')).toBe(prompt);
    }
    // In the stream itself, each node's first token comes before the other node's last one.
    expect(seqsOf('left')[0]).toBeLessThan(seqsOf('right').at(-1)!);
    expect(seqsOf('right')[0]).toBeLessThan(seqsOf('left').at(-1)!);
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
