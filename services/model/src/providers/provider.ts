/**
 * The provider interface of the model service: a model that streams text tokens for a prompt
 * (or a conversation), and may ask for tool calls instead. Providers know nothing about NATS;
 * the service turns their tokens into a token stream.
 */
import type { ChatMessage, ModelTool, ModelToolCall } from '@multi-agent/events';

/** One inference. */
export interface InferenceRequest {
  /** The user's prompt; the model's input unless `messages` is given. */
  prompt: string;
  /** The conversation so far (the prompt, the model's tool calls, their results); replaces `prompt` as input. */
  messages?: ChatMessage[];
  /** Tools the model may call; a provider that cannot call tools answers with text. */
  tools?: ModelTool[];
  /** Model name; the provider's default when absent. */
  model?: string;
  maxTokens?: number;
  temperature?: number;
  /** Aborts the generation (the handler timed out or the service is stopping). */
  signal?: AbortSignal;
}

/** A model backend. */
export interface ModelProvider {
  /** `local` or `openai`, for logs and metrics. */
  readonly name: string;
  /** The model used when a request names none. */
  readonly defaultModel: string;
  /**
   * Yields the generated text piece by piece (the pieces concatenated are the whole text), and
   * each tool call the model asks for as a {@link ModelToolCall} object.
   */
  stream(request: InferenceRequest): AsyncIterable<string | ModelToolCall>;
}

/**
 * A provider failed. `retryable` is true for failures that another attempt may not hit
 * (HTTP 429 and 5xx, a dropped connection), false for a request the provider rejects.
 */
export class ModelProviderError extends Error {
  /** The HTTP status, for HTTP providers. */
  readonly status: number | undefined;

  constructor(
    readonly code: string,
    message: string,
    readonly retryable: boolean,
    options?: { cause?: unknown; status?: number },
  ) {
    super(message, options);
    this.name = 'ModelProviderError';
    this.status = options?.status;
  }
}
