/**
 * Picks the provider from the environment: `MODEL_PROVIDER=local|openai`, by default `openai`
 * when `MODEL_BASE_URL` is set and the offline `local` provider otherwise.
 */
import { ConfigError } from '@multi-agent/nats-client';
import { envInt, envOneOf, envString, envUrl } from '@multi-agent/service-kit';
import type { Env } from '@multi-agent/service-kit';
import { LocalModelProvider } from './local.js';
import { OpenAiCompatibleProvider } from './openai.js';
import type { ModelProvider } from './provider.js';

/**
 * The provider the environment asks for.
 *
 * @throws ConfigError naming the variable (e.g. `MODEL_PROVIDER=openai` without `MODEL_BASE_URL`)
 */
export function providerFromEnv(env: Env = process.env): ModelProvider {
  const baseUrl = envUrl(env, 'MODEL_BASE_URL');
  const kind = envOneOf(env, 'MODEL_PROVIDER', ['local', 'openai'] as const, baseUrl === undefined ? 'local' : 'openai');
  if (kind === 'local') {
    return new LocalModelProvider({
      tokenDelayMs: envInt(env, 'LOCAL_MODEL_TOKEN_DELAY_MS', 40, 0, 60_000),
      model: envString(env, 'MODEL_NAME', 'local-deterministic'),
    });
  }
  if (baseUrl === undefined) throw new ConfigError('MODEL_BASE_URL', 'MODEL_PROVIDER=openai needs MODEL_BASE_URL (e.g. https://api.openai.com/v1)');
  return new OpenAiCompatibleProvider({
    baseUrl,
    apiKey: envString(env, 'MODEL_API_KEY'),
    model: envString(env, 'MODEL_NAME', 'gpt-4o-mini'),
    timeoutMs: envInt(env, 'MODEL_TIMEOUT_MS', 120_000, 1),
  });
}
