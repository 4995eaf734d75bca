/**
 * `@multi-agent/model-service`: model inference with token streaming over the bus, with a
 * deterministic offline provider and an OpenAI-compatible HTTP streaming provider.
 *
 * @packageDocumentation
 */
export { modelDefaults, startModelService } from './model-service.js';
export type { ModelServiceOptions } from './model-service.js';
export { ExecutionStreams, PARAGRAPH } from './execution-streams.js';
export type { EmitToken, PublishToken } from './execution-streams.js';
export { LocalModelProvider, localCompletion, localToolCalls, splitTokens } from './providers/local.js';
export type { LocalProviderOptions } from './providers/local.js';
export { OpenAiCompatibleProvider, sseData } from './providers/openai.js';
export type { OpenAiProviderOptions } from './providers/openai.js';
export { ModelProviderError } from './providers/provider.js';
export type { InferenceRequest, ModelProvider } from './providers/provider.js';
export { providerFromEnv } from './providers/from-env.js';
