/**
 * The model service on the bus:
 * - consumes `model.inference.requested` (durable, shared by replicas), streams the generated
 *   tokens with `publishStream` on `model.token.stream.<executionId>`, each with its `nodeId`
 *   (the inferences of parallel nodes stream at once, see execution-streams.ts), and publishes
 *   `model.inference.completed` (full text, token count) or `model.inference.failed`;
 * - consumes `execution.*` and completes the execution's token stream (`isComplete`) when
 *   the execution completes, fails or is cancelled, so readers of the stream know it ended.
 */
import { EventSubjects, MODEL_TOOL_USE_VERSION } from '@multi-agent/events';
import type { DomainEvent, ErrorInfo, ModelInferenceRequestedEvent, ModelToolCall } from '@multi-agent/events';
import type { HandlerContext, NatsClient, Subscription } from '@multi-agent/nats-client';
import { classifyingHandler, counter, histogram, isDeterministic, stableEventId } from '@multi-agent/service-kit';
import type { StopService } from '@multi-agent/service-kit';
import { ExecutionStreams } from './execution-streams.js';
import { LocalModelProvider } from './providers/local.js';
import { ModelProviderError } from './providers/provider.js';
import type { ModelProvider } from './providers/provider.js';

/** Options of {@link startModelService}. */
export interface ModelServiceOptions {
  /** Default: the deterministic local provider. */
  provider?: ModelProvider;
  /** Inferences at once (default 8). */
  concurrency?: number;
}

const ENDING_EVENTS = new Set<string>([EventSubjects.EXECUTION_COMPLETED, EventSubjects.EXECUTION_FAILED, EventSubjects.EXECUTION_CANCELLED]);

function errorInfo(err: unknown): ErrorInfo {
  if (err instanceof ModelProviderError) return { message: err.message, code: err.code };
  return { message: err instanceof Error ? err.message : String(err), code: 'MODEL_ERROR' };
}

/** The model service's settings when neither the caller nor the environment sets them. */
export const modelDefaults = { concurrency: 8 } as const;

/**
 * Starts the model service on a connected client.
 *
 * @returns a function that stops its subscriptions (the client stays open)
 */
export async function startModelService(client: NatsClient, options: ModelServiceOptions = {}): Promise<StopService> {
  const provider = options.provider ?? new LocalModelProvider();
  const streams = new ExecutionStreams(client.publishStream.bind(client));
  const registry = client.metrics.registry;
  const inferences = counter(registry, 'model_inferences_total', 'Inferences, by provider and outcome.', ['provider', 'outcome']);
  const tokens = counter(registry, 'model_tokens_total', 'Tokens generated, by provider.', ['provider']);
  const seconds = histogram(registry, 'model_inference_duration_seconds', 'Inference time, including waiting for earlier inferences of the same node.', ['provider']);
  const subscriptions: Subscription[] = [];

  subscriptions.push(
    await client.subscribe<ModelInferenceRequestedEvent>(
      EventSubjects.MODEL_INFERENCE_REQUESTED,
      // What cannot pass on retry (a failure report too large to publish) goes to the DLQ at once.
      classifyingHandler(async (event: ModelInferenceRequestedEvent, ctx: HandlerContext) => {
        const { executionId, nodeId, prompt, maxTokens, temperature, messages, tools } = event.data;
        const model = event.data.model ?? provider.defaultModel;
        const started = performance.now();
        try {
          const result = await streams.inference(executionId, nodeId, async (emit) => {
            let text = '';
            let count = 0;
            const toolCalls: ModelToolCall[] = [];
            const request = {
              prompt,
              model,
              signal: ctx.signal,
              ...(maxTokens === undefined ? {} : { maxTokens }),
              ...(temperature === undefined ? {} : { temperature }),
              ...(messages === undefined ? {} : { messages }),
              ...(tools === undefined ? {} : { tools }),
            };
            const streaming = event.data.stream !== false;
            for await (const token of provider.stream(request)) {
              if (typeof token !== 'string') {
                toolCalls.push(token);
                continue;
              }
              text += token;
              count += 1;
              if (streaming) await emit(token);
            }
            return { text, count, toolCalls };
          });
          tokens.inc({ provider: provider.name }, result.count);
          // Tool calls need version 1.1 of the answer; an answer without any stays 1.0.
          const calls = result.toolCalls.length > 0;
          await ctx.publish({
            eventId: stableEventId(event.eventId, 'inference-completed'),
            eventType: EventSubjects.MODEL_INFERENCE_COMPLETED,
            ...(calls ? { version: MODEL_TOOL_USE_VERSION } : {}),
            data: { executionId, ...(nodeId === undefined ? {} : { nodeId }), text: result.text, tokenCount: result.count, model, ...(calls ? { toolCalls: result.toolCalls } : {}) },
          });
          inferences.inc({ provider: provider.name, outcome: 'completed' });
        } catch (err) {
          const retryable = err instanceof ModelProviderError ? err.retryable : !ctx.signal.aborted && !isDeterministic(err);
          if (retryable && ctx.attempt < ctx.maxAttempts) {
            inferences.inc({ provider: provider.name, outcome: 'retried' });
            throw err;
          }
          ctx.logger.warn({ err, executionId, nodeId }, 'inference failed');
          await ctx.publish({
            eventId: stableEventId(event.eventId, 'inference-failed'),
            eventType: EventSubjects.MODEL_INFERENCE_FAILED,
            data: { executionId, ...(nodeId === undefined ? {} : { nodeId }), model, error: errorInfo(err) },
          });
          inferences.inc({ provider: provider.name, outcome: 'failed' });
        } finally {
          seconds.observe({ provider: provider.name }, (performance.now() - started) / 1000);
        }
      }),
      undefined,
      { concurrency: options.concurrency ?? modelDefaults.concurrency },
    ),
  );

  subscriptions.push(
    await client.subscribe<DomainEvent<string, { executionId?: string }>>(
      'execution.*',
      async (event) => {
        const executionId = event.data.executionId;
        if (!ENDING_EVENTS.has(event.eventType) || executionId === undefined) return;
        // At once: an inference still running (of a failed or cancelled execution) streams no more.
        await streams.complete(executionId);
      },
      // Only executions that end from now on: a first start must not complete the streams of
      // every execution in the stream's history.
      undefined,
      { deliverPolicy: 'new', concurrency: 16 },
    ),
  );

  return async () => {
    await Promise.all(subscriptions.map((s) => s.stop()));
  };
}
