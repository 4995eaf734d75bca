/**
 * Retrying JetStream API calls that the server leaves unanswered for a while: on a cluster a
 * request for a stream or bucket whose replica group is still being formed (or is electing a
 * leader) times out or gets "no responders". Such calls are retried until a deadline and then
 * fail with a typed error instead of a raw nats.js timeout.
 */
import { JetStreamUnavailableError } from './errors.js';

// "already in use/exists": instances starting together race to create the same stream, bucket
// or durable; the next attempt finds what the winner created.
const RETRYABLE = /timeout|no responders|503|jetstream not (enabled|available)|leader|temporarily unavailable|already (in use|exists)/i;

/** True for failures that a later attempt may not have. */
export function isTransientApiError(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const cause = (err as { cause?: unknown }).cause;
  const causeText = cause instanceof Error ? `${cause.name} ${cause.message}` : '';
  return RETRYABLE.test(`${err.name} ${err.message} ${causeText}`);
}

/** Runs `call` until it succeeds, a non-transient error occurs, or `timeoutMs` passed. */
export async function withApiRetry<T>(what: string, timeoutMs: number, call: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let pause = 100;
  for (;;) {
    try {
      return await call();
    } catch (err) {
      if (!isTransientApiError(err)) throw err;
      if (Date.now() + pause >= deadline) throw new JetStreamUnavailableError(what, timeoutMs, err);
      await new Promise((resolve) => setTimeout(resolve, pause));
      pause = Math.min(pause * 2, 2000);
    }
  }
}
