/**
 * How an agent calls the model service: it publishes `model.inference.requested` and waits
 * for the `model.inference.completed` (or `.failed`) whose `causationId` is that request.
 *
 * Why events and not request/reply: the model call is the long, expensive part of a node, and
 * it must survive an agent crash. The request has a deterministic eventId, so an agent that
 * restarts and publishes it again gets JetStream's duplicate answer with the original's stream
 * sequence; it then reads the EVENTS stream from that sequence and finds the result the model
 * service produced meanwhile (or keeps waiting for it) instead of paying for a second inference
 * (past the duplicate window, the model service's idempotency store skips the repeat and the
 * answer is still found: the scan starts at the agent request's own sequence).
 * A core request/reply would lose the answer with the process that asked.
 */
import { EventSubjects } from '@multi-agent/events';
import type { ErrorInfo, ModelInferenceCompletedEvent, ModelInferenceRequestedData } from '@multi-agent/events';
import type { HandlerContext, NatsClient } from '@multi-agent/nats-client';

/** The model call failed: the model service reported a failure, or no answer came in time. */
export class ModelCallError extends Error {
  constructor(
    /** The model service's error code, or `MODEL_TIMEOUT`. */
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'ModelCallError';
  }
}

/** Options of {@link requestInference}. */
export interface InferenceCallOptions {
  /** Deterministic eventId of the request (derived from the agent request). */
  eventId: string;
  /** How long to wait for the model's answer (ms). */
  timeoutMs: number;
  /** Schema version of the request (default 1.0; 1.1 offers tools). */
  version?: string;
  /** What caused the request, when not the handled event (a step after tool calls). */
  causationId?: string;
}

/**
 * Asks the model service for an inference on behalf of the event `ctx` handles, and waits for
 * the answer.
 *
 * @returns the `model.inference.completed` event that answers it
 * @throws ModelCallError with the model's error code, or `MODEL_TIMEOUT`
 */
export async function requestInference(
  client: NatsClient,
  ctx: HandlerContext,
  data: ModelInferenceRequestedData,
  options: InferenceCallOptions,
): Promise<ModelInferenceCompletedEvent> {
  const published = await ctx.publish({
    eventId: options.eventId,
    eventType: EventSubjects.MODEL_INFERENCE_REQUESTED,
    ...(options.version === undefined ? {} : { version: options.version }),
    ...(options.causationId === undefined ? {} : { causationId: options.causationId }),
    data,
  });
  const timeout = AbortSignal.timeout(options.timeoutMs);
  const signal = AbortSignal.any([timeout, ctx.signal]);
  const answers = client.readEvents({
    filterSubject: 'model.inference.>',
    // Any answer to this agent run comes after the agent request that started it (and after the
    // model request, whose duplicate publish reports the original's sequence).
    startSeq: ctx.streamSequence ?? published.seq ?? 1,
    causationId: options.eventId,
    follow: true,
    signal,
  });
  for await (const { event } of answers) {
    if (event.eventType === EventSubjects.MODEL_INFERENCE_COMPLETED) return event as ModelInferenceCompletedEvent;
    if (event.eventType === EventSubjects.MODEL_INFERENCE_FAILED) {
      const error = (event.data as { error?: ErrorInfo }).error;
      throw new ModelCallError(error?.code ?? 'MODEL_ERROR', `model inference failed: ${error?.message ?? 'unknown error'}`);
    }
  }
  if (timeout.aborted) throw new ModelCallError('MODEL_TIMEOUT', `no answer from the model service within ${options.timeoutMs} ms`);
  throw ctx.signal.reason instanceof Error ? ctx.signal.reason : new Error('agent handler stopped');
}
