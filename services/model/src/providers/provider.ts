/**
 * The provider interface of the model service: a model that streams text tokens for a prompt.
 * Providers know nothing about NATS; the service turns their tokens into a token stream.
 */

/** One inference. */
export interface InferenceRequest {
  prompt: string;
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
  /** Yields the generated text piece by piece; the pieces concatenated are the whole text. */
  stream(request: InferenceRequest): AsyncIterable<string>;
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
