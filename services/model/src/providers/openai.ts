/**
 * The OpenAI-compatible provider: `POST {baseUrl}/chat/completions` with `stream: true`, read
 * as Server-Sent Events (`data: {"choices":[{"delta":{"content":"..."}}]}` ... `data: [DONE]`).
 * Works with any server that speaks that dialect (OpenAI, vLLM, llama.cpp, Ollama's /v1...).
 * Tools offered to the model go out as `tools: [{ type: 'function', function }]`; the tool calls
 * it streams back (`delta.tool_calls`, arguments in fragments) are assembled and yielded once
 * the stream ends.
 */
import type { ChatMessage, ModelToolCall } from '@multi-agent/events';
import { maskUrlCredentials } from '@multi-agent/nats-client';
import type { InferenceRequest, ModelProvider } from './provider.js';
import { ModelProviderError } from './provider.js';

/** Options of {@link OpenAiCompatibleProvider}. */
export interface OpenAiProviderOptions {
  /** API root, e.g. `https://api.openai.com/v1` (`MODEL_BASE_URL`). */
  baseUrl: string;
  /** Bearer token (`MODEL_API_KEY`); omitted when absent. */
  apiKey?: string | undefined;
  /** Default model (`MODEL_NAME`). */
  model: string;
  /** Whole-request limit (ms). Default 120 000. */
  timeoutMs?: number;
}

/** One fragment of a streamed tool call: `index` says which call it continues. */
interface ToolCallDelta {
  index?: number;
  id?: string;
  function?: { name?: string; arguments?: string };
}

interface ChunkBody {
  choices?: { delta?: { content?: string | null; tool_calls?: ToolCallDelta[] }; text?: string; finish_reason?: string | null }[];
  error?: { message?: string; code?: string | number };
}

/** A message in the API's dialect. */
function wireMessage(message: ChatMessage): Record<string, unknown> {
  if (message.role === 'tool') return { role: 'tool', tool_call_id: message.toolCallId, content: message.content };
  if (message.role === 'assistant' && message.toolCalls !== undefined && message.toolCalls.length > 0) {
    return {
      role: 'assistant',
      content: message.content === '' ? null : message.content,
      tool_calls: message.toolCalls.map((call) => ({ id: call.id, type: 'function', function: { name: call.name, arguments: JSON.stringify(call.arguments) } })),
    };
  }
  return { role: message.role, content: message.content };
}

/** Collects the fragments of streamed tool calls, by index. */
class ToolCallAssembler {
  private readonly calls = new Map<number, { id: string; name: string; arguments: string }>();

  add(delta: ToolCallDelta): void {
    const index = delta.index ?? 0;
    const call = this.calls.get(index) ?? { id: '', name: '', arguments: '' };
    if (delta.id !== undefined) call.id = delta.id;
    call.name += delta.function?.name ?? '';
    call.arguments += delta.function?.arguments ?? '';
    this.calls.set(index, call);
  }

  /** The complete calls, in index order. @throws ModelProviderError `MODEL_BAD_TOOL_CALL` for a call without a name or with arguments that are not a JSON object */
  finish(shownUrl: string): ModelToolCall[] {
    return [...this.calls.entries()]
      .sort(([a], [b]) => a - b)
      .map(([index, call]) => {
        let args: unknown;
        try {
          args = call.arguments.trim() === '' ? {} : JSON.parse(call.arguments);
        } catch {
          args = undefined;
        }
        if (call.name === '' || typeof args !== 'object' || args === null || Array.isArray(args)) {
          throw new ModelProviderError('MODEL_BAD_TOOL_CALL', `tool call ${index} from ${shownUrl} has no name or arguments that are not a JSON object`, false);
        }
        return { id: call.id === '' ? `call-${index}` : call.id, name: call.name, arguments: args as Record<string, unknown> };
      });
  }
}

/** Splits an SSE byte stream into the `data:` payloads of its events. */
export async function* sseData(body: AsyncIterable<Uint8Array>): AsyncGenerator<string> {
  const decoder = new TextDecoder();
  let buffer = '';
  const flushEvent = function* (block: string): Generator<string> {
    const data = block
      .split(/\r?\n/)
      .filter((line) => line.startsWith('data:'))
      .map((line) => line.slice(5).replace(/^ /, ''));
    if (data.length > 0) yield data.join('\n');
  };
  for await (const chunk of body) {
    buffer += decoder.decode(chunk, { stream: true });
    for (let end = buffer.search(/\r?\n\r?\n/); end !== -1; end = buffer.search(/\r?\n\r?\n/)) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end).replace(/^\r?\n\r?\n/, '');
      yield* flushEvent(block);
    }
  }
  buffer += decoder.decode();
  if (buffer.trim() !== '') yield* flushEvent(buffer);
}

/** Streams chat completions from an OpenAI-compatible HTTP API. */
export class OpenAiCompatibleProvider implements ModelProvider {
  readonly name = 'openai';
  readonly defaultModel: string;

  constructor(private readonly options: OpenAiProviderOptions) {
    this.defaultModel = options.model;
  }

  async *stream(request: InferenceRequest): AsyncIterable<string | ModelToolCall> {
    const url = `${this.options.baseUrl.replace(/\/+$/, '')}/chat/completions`;
    // Error messages end up in logs and in failed events: never with credentials written into MODEL_BASE_URL.
    const shownUrl = maskUrlCredentials(url);
    const timeout = AbortSignal.timeout(this.options.timeoutMs ?? 120_000);
    const signal = request.signal === undefined ? timeout : AbortSignal.any([request.signal, timeout]);
    let response: Response;
    try {
      response = await fetch(url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          accept: 'text/event-stream',
          ...(this.options.apiKey === undefined ? {} : { authorization: `Bearer ${this.options.apiKey}` }),
        },
        body: JSON.stringify({
          model: request.model ?? this.defaultModel,
          messages: (request.messages ?? [{ role: 'user', content: request.prompt }]).map(wireMessage),
          ...(request.tools === undefined || request.tools.length === 0
            ? {}
            : {
                tools: request.tools.map((tool) => ({
                  type: 'function',
                  function: { name: tool.name, ...(tool.description === undefined ? {} : { description: tool.description }), parameters: tool.parameters ?? { type: 'object' } },
                })),
              }),
          stream: true,
          ...(request.maxTokens === undefined ? {} : { max_tokens: request.maxTokens }),
          ...(request.temperature === undefined ? {} : { temperature: request.temperature }),
        }),
        signal,
      });
    } catch (err) {
      throw new ModelProviderError('MODEL_UNREACHABLE', `cannot reach ${shownUrl}: ${maskUrlCredentials((err as Error).message)}`, true, { cause: err });
    }
    if (!response.ok || response.body === null) {
      const text = (await response.text().catch(() => '')).slice(0, 300);
      const retryable = response.status === 429 || response.status >= 500;
      throw new ModelProviderError('MODEL_HTTP_ERROR', `${shownUrl} answered HTTP ${response.status}${text === '' ? '' : `: ${text}`}`, retryable, {
        status: response.status,
      });
    }
    const toolCalls = new ToolCallAssembler();
    try {
      for await (const data of sseData(response.body)) {
        if (data.trim() === '[DONE]') break;
        let body: ChunkBody;
        try {
          body = JSON.parse(data) as ChunkBody;
        } catch {
          throw new ModelProviderError('MODEL_BAD_STREAM', `unreadable stream chunk from ${shownUrl}: ${data.slice(0, 100)}`, false);
        }
        if (body.error !== undefined) {
          throw new ModelProviderError('MODEL_STREAM_ERROR', body.error.message ?? 'the model reported an error mid-stream', false);
        }
        const choice = body.choices?.[0];
        for (const delta of choice?.delta?.tool_calls ?? []) toolCalls.add(delta);
        const content = choice?.delta?.content ?? choice?.text;
        if (typeof content === 'string' && content !== '') yield content;
      }
    } catch (err) {
      if (err instanceof ModelProviderError) throw err;
      throw new ModelProviderError('MODEL_STREAM_INTERRUPTED', `the stream from ${shownUrl} broke off: ${maskUrlCredentials((err as Error).message)}`, true, { cause: err });
    }
    yield* toolCalls.finish(shownUrl);
  }
}
