import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalModelProvider, localCompletion, localToolCalls, OpenAiCompatibleProvider, providerFromEnv, sseData, splitTokens } from '@multi-agent/model-service';
import type { ModelProviderError } from '@multi-agent/model-service';
import { FakeOpenAi, openAiChunk as chunk, openAiToolCallChunks } from '@multi-agent/testing';

async function collect<T>(stream: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const piece of stream) out.push(piece);
  return out;
}

/** The pieces of a stream that must be text only (a tool call in it fails the test). */
async function collectText(stream: AsyncIterable<unknown>): Promise<string[]> {
  return (await collect(stream)).map((piece) => {
    if (typeof piece !== 'string') throw new Error(`expected text, got ${JSON.stringify(piece)}`);
    return piece;
  });
}

describe('local provider', () => {
  it('is deterministic, prompt-dependent, and its tokens concatenate to the text', async () => {
    const prompt = 'Research notes on event-driven microservices with NATS JetStream.';
    const text = localCompletion(prompt);
    expect(localCompletion(prompt)).toBe(text);
    expect(localCompletion('Benefits of event sourcing.')).not.toBe(text);
    expect(text).toContain('event-driven microservices');
    expect(text).toContain('NATS JetStream');
    const tokens = await collectText(new LocalModelProvider({ tokenDelayMs: 0 }).stream({ prompt }));
    expect(tokens.join('')).toBe(text);
    expect(tokens).toEqual(splitTokens(text));
    expect(tokens.length).toBeGreaterThan(30);
  });

  it('streams at its configured pace and honours maxTokens and abort', async () => {
    const provider = new LocalModelProvider({ tokenDelayMs: 20 });
    const started = performance.now();
    const tokens = await collect(provider.stream({ prompt: 'pace test prompt', maxTokens: 5 }));
    expect(tokens).toHaveLength(5);
    expect(performance.now() - started).toBeGreaterThanOrEqual(5 * 20 - 5);
    const abort = new AbortController();
    abort.abort(new Error('stop now'));
    await expect(collect(provider.stream({ prompt: 'x', signal: abort.signal }))).rejects.toThrow('stop now');
  });
});

describe('local provider with tools', () => {
  const provider = new LocalModelProvider({ tokenDelayMs: 0 });
  const prompt = 'Work out calculator({"expression": "(6 * 7) / 2"}) then clock({"timeZone": "UTC"}) and report.';
  const tools = [{ name: 'calculator' }, { name: 'clock' }];

  it('reads the calls a prompt spells out, JSON arguments with nested parentheses and braces included', () => {
    expect(localToolCalls(prompt)).toEqual([
      { name: 'calculator', arguments: { expression: '(6 * 7) / 2' } },
      { name: 'clock', arguments: { timeZone: 'UTC' } },
    ]);
    expect(localToolCalls('f({"a": {"b": "})"}}) g({not json}) h()')).toEqual([{ name: 'f', arguments: { a: { b: '})' } } }]);
  });

  it('asks for one call per inference, in order, then answers with text over the prompt and the results', async () => {
    const user = { role: 'user' as const, content: prompt };
    expect(await collect(provider.stream({ prompt, tools }))).toEqual([{ id: 'local-call-1', name: 'calculator', arguments: { expression: '(6 * 7) / 2' } }]);
    const first = [user, { role: 'assistant' as const, content: '', toolCalls: [] }, { role: 'tool' as const, toolCallId: 'local-call-1', content: '{"output":{"value":21}}' }];
    expect(await collect(provider.stream({ prompt, tools, messages: first }))).toEqual([{ id: 'local-call-2', name: 'clock', arguments: { timeZone: 'UTC' } }]);
    const both = [...first, { role: 'tool' as const, toolCallId: 'local-call-2', content: '{"output":{"iso":"x"}}' }];
    const text = (await collectText(provider.stream({ prompt, tools, messages: both }))).join('');
    expect(text).toBe(localCompletion(`${prompt}\n{"output":{"value":21}}\n{"output":{"iso":"x"}}`));
    // Without tools offered it never asks for one.
    expect((await collectText(provider.stream({ prompt }))).join('')).toBe(localCompletion(prompt));
  });
});

describe('provider from the environment', () => {
  it('defaults to local, switches to openai with MODEL_BASE_URL, and names bad variables', () => {
    expect(providerFromEnv({}).name).toBe('local');
    const openai = providerFromEnv({ MODEL_BASE_URL: 'http://127.0.0.1:1/v1/', MODEL_NAME: 'tiny' });
    expect(openai).toMatchObject({ name: 'openai', defaultModel: 'tiny' });
    expect(() => providerFromEnv({ MODEL_PROVIDER: 'openai' })).toThrow('MODEL_BASE_URL');
    expect(() => providerFromEnv({ MODEL_PROVIDER: 'gpt' })).toThrow('MODEL_PROVIDER: expected one of local, openai');
    expect(() => providerFromEnv({ MODEL_BASE_URL: 'ftp://x' })).toThrow('MODEL_BASE_URL');
    expect(() => providerFromEnv({ LOCAL_MODEL_TOKEN_DELAY_MS: 'fast' })).toThrow('LOCAL_MODEL_TOKEN_DELAY_MS');
  });
});

describe('SSE parsing', () => {
  it('joins events split across chunks and multi-line data, accepts CRLF', async () => {
    async function* chunks(): AsyncGenerator<Uint8Array> {
      const encoder = new TextEncoder();
      for (const part of ['data: one\n', '\ndata: tw', 'o\r\n\r\n: comment\n\ndata: a\ndata: b\n\n', 'data: last']) yield encoder.encode(part);
    }
    expect(await collect(sseData(chunks()))).toEqual(['one', 'two', 'a\nb', 'last']);
  });
});

describe('OpenAI-compatible provider against a fake server', () => {
  const fake = new FakeOpenAi();
  let baseUrl: string;
  beforeAll(async () => {
    baseUrl = await fake.start();
  });
  afterAll(() => fake.stop());

  it('streams the deltas of a chat completion and sends model, prompt, limits and the key', async () => {
    fake.script = (res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      // The role-only first chunk and an empty delta carry no text.
      res.write(`data: ${JSON.stringify({ choices: [{ delta: { role: 'assistant' } }] })}\n\n`);
      let i = 0;
      const parts = ['Hello', ', ', 'world', '', '!'];
      const timer = setInterval(() => {
        if (i < parts.length) res.write(chunk(parts[i++]!));
        else {
          clearInterval(timer);
          res.end('data: [DONE]\n\n');
        }
      }, 5);
    };
    const provider = new OpenAiCompatibleProvider({ baseUrl, apiKey: 'sk-test', model: 'tiny-model' });
    expect(await collect(provider.stream({ prompt: 'Say hello', maxTokens: 16, temperature: 0.2 }))).toEqual(['Hello', ', ', 'world', '!']);
    const request = fake.requests.at(-1)!;
    expect(request.headers.authorization).toBe('Bearer sk-test');
    expect(request.body).toEqual({ model: 'tiny-model', messages: [{ role: 'user', content: 'Say hello' }], stream: true, max_tokens: 16, temperature: 0.2 });
  });

  it('offers tools, sends the conversation in the API dialect, and assembles streamed tool calls', async () => {
    fake.script = (res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.end(openAiToolCallChunks([
        { id: 'call_a', name: 'calculator', arguments: { expression: '2 + 2' } },
        { id: 'call_b', name: 'clock', arguments: {} },
      ]));
    };
    const provider = new OpenAiCompatibleProvider({ baseUrl, model: 'm' });
    const messages = [
      { role: 'user' as const, content: 'Sum it' },
      { role: 'assistant' as const, content: '', toolCalls: [{ id: 'call_0', name: 'clock', arguments: { timeZone: 'UTC' } }] },
      { role: 'tool' as const, toolCallId: 'call_0', content: '{"output":1}' },
    ];
    const tools = [{ name: 'calculator', description: 'Arithmetic', parameters: { type: 'object', properties: { expression: { type: 'string' } } } }, { name: 'clock' }];
    expect(await collect(provider.stream({ prompt: 'Sum it', messages, tools }))).toEqual([
      { id: 'call_a', name: 'calculator', arguments: { expression: '2 + 2' } },
      { id: 'call_b', name: 'clock', arguments: {} },
    ]);
    expect(fake.requests.at(-1)!.body).toEqual({
      model: 'm',
      messages: [
        { role: 'user', content: 'Sum it' },
        { role: 'assistant', content: null, tool_calls: [{ id: 'call_0', type: 'function', function: { name: 'clock', arguments: '{"timeZone":"UTC"}' } }] },
        { role: 'tool', tool_call_id: 'call_0', content: '{"output":1}' },
      ],
      tools: [
        { type: 'function', function: { name: 'calculator', description: 'Arithmetic', parameters: { type: 'object', properties: { expression: { type: 'string' } } } } },
        { type: 'function', function: { name: 'clock', parameters: { type: 'object' } } },
      ],
      stream: true,
    });
  });

  it('refuses a streamed tool call whose arguments are not a JSON object (not retryable)', async () => {
    fake.script = (res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      const delta = { tool_calls: [{ index: 0, id: 'call_x', function: { name: 'calculator', arguments: '{"expression": ' } }] };
      res.end(`data: ${JSON.stringify({ choices: [{ delta }] })}\n\ndata: [DONE]\n\n`);
    };
    const provider = new OpenAiCompatibleProvider({ baseUrl, model: 'm' });
    await expect(collect(provider.stream({ prompt: 'x', tools: [{ name: 'calculator' }] }))).rejects.toMatchObject({ code: 'MODEL_BAD_TOOL_CALL', retryable: false });
  });

  it('classifies failures: 5xx and 429 are retryable, 4xx and stream errors are not', async () => {
    const provider = new OpenAiCompatibleProvider({ baseUrl, model: 'm' });
    const failure = async (): Promise<ModelProviderError> => (await collect(provider.stream({ prompt: 'x' })).catch((e: unknown) => e)) as ModelProviderError;

    fake.script = (res) => res.writeHead(503, { 'content-type': 'application/json' }).end('{"error":"overloaded"}');
    expect(await failure()).toMatchObject({ code: 'MODEL_HTTP_ERROR', status: 503, retryable: true });
    fake.script = (res) => res.writeHead(429).end();
    expect(await failure()).toMatchObject({ status: 429, retryable: true });
    fake.script = (res) => res.writeHead(401).end('{"error":{"message":"bad key"}}');
    const unauthorized = await failure();
    expect(unauthorized).toMatchObject({ code: 'MODEL_HTTP_ERROR', status: 401, retryable: false });
    expect(unauthorized.message).toContain('bad key');
    fake.script = (res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.end(`${chunk('partial')}data: ${JSON.stringify({ error: { message: 'context length exceeded' } })}\n\n`);
    };
    expect(await failure()).toMatchObject({ code: 'MODEL_STREAM_ERROR', retryable: false, message: 'context length exceeded' });
    fake.script = (res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(chunk('cut'));
      setTimeout(() => res.destroy(), 10);
    };
    expect(await failure()).toMatchObject({ code: 'MODEL_STREAM_INTERRUPTED', retryable: true });
  });

  it('reports an unreachable server as retryable', async () => {
    const provider = new OpenAiCompatibleProvider({ baseUrl: 'http://127.0.0.1:9/v1', model: 'm' });
    await expect(collect(provider.stream({ prompt: 'x' }))).rejects.toMatchObject({ code: 'MODEL_UNREACHABLE', retryable: true });
  });
});
