/**
 * Retrying JetStream API calls that the server leaves unanswered for a while: on a cluster a
 * request for a stream or bucket whose replica group is still being formed (or is electing a
 * leader) times out or gets "no responders". Such calls are retried until a deadline and then
 * fail with a typed error instead of a raw nats.js timeout.
 */
import { JetStreamApiError } from '@nats-io/jetstream';
// JetStreamNotEnabled is exported only through the package's internal entry point.
import { jserrors } from '@nats-io/jetstream/internal';
import { errors } from '@nats-io/nats-core';
import { asPermissionError, JetStreamUnavailableError } from './errors.js';

/** `err_code`s of "already exists": instances starting together race to create one stream, bucket or durable. */
const ALREADY_EXISTS_CODES: ReadonlySet<number> = new Set([
  10058, // stream name already in use
  10013, // consumer name already in use
  10105, // consumer already exists and is still active
  10148, // consumer already exists (2.10+ create action)
]);

/** JetStream API error codes (`err_code`) that a later attempt may not get. */
const TRANSIENT_API_CODES: ReadonlySet<number> = new Set([
  10008, // JetStream system temporarily unavailable (a group is forming or electing)
  10009, // JetStream cluster can not handle request (no leader yet)
  // A lost creation race: the next attempt finds what the winner created.
  ...ALREADY_EXISTS_CODES,
]);

/** True when a create call lost a race to another instance creating the same thing. */
export function isAlreadyExists(err: unknown): boolean {
  return err instanceof JetStreamApiError && ALREADY_EXISTS_CODES.has(err.code);
}

function isTransientOne(err: unknown): boolean {
  if (err instanceof errors.TimeoutError || err instanceof errors.NoRespondersError) return true;
  if (err instanceof errors.RequestError) return err.isNoResponders();
  // nats.js reports "no responders" on the JetStream API as JetStreamNotEnabled: while a
  // server restarts or a cluster forms, JetStream is not there *yet*.
  if (err instanceof jserrors.JetStreamNotEnabled) return true;
  if (err instanceof JetStreamApiError) return err.status === 503 || TRANSIENT_API_CODES.has(err.code);
  return false;
}

/** True when the server did not answer at all: a timeout, or no responders (stream missing or JetStream not up). */
export function isNoAnswer(err: unknown): boolean {
  const one = (e: unknown): boolean =>
    e instanceof errors.TimeoutError ||
    e instanceof errors.NoRespondersError ||
    e instanceof jserrors.JetStreamNotEnabled ||
    (e instanceof errors.RequestError && e.isNoResponders());
  return one(err) || (err instanceof Error && one(err.cause));
}

/** True for failures that a later attempt may not have (the error or its direct cause). */
export function isTransientApiError(err: unknown): boolean {
  return isTransientOne(err) || (err instanceof Error && isTransientOne(err.cause));
}

/**
 * Runs `call` until it succeeds, a non-transient error occurs, or `timeoutMs` passed. A call the
 * server refuses for lack of permission fails at once with `PermissionError`.
 */
export async function withApiRetry<T>(what: string, timeoutMs: number, call: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let pause = 100;
  for (;;) {
    try {
      return await call();
    } catch (err) {
      if (!isTransientApiError(err)) throw asPermissionError(err) ?? err;
      if (Date.now() + pause >= deadline) throw new JetStreamUnavailableError(what, timeoutMs, err);
      await new Promise((resolve) => setTimeout(resolve, pause));
      pause = Math.min(pause * 2, 2000);
    }
  }
}
