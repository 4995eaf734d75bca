/**
 * How a failed delivery is classified and when it is tried again. Decisions read the error's
 * stable `code` (see `ClientErrorCodes` and the events package's `EventErrorCodes`), never its
 * class or text: `instanceof` fails across two copies of a package, and text is for people.
 */
import { EventErrorCodes } from '@multi-agent/events';
import type { DeadLetterReason } from '@multi-agent/events';
import { ClientErrorCodes, errorCode } from './errors.js';

/** Delay before the retry that follows failed attempt `attempt` (1-based); the last entry repeats. */
export function retryDelay(backoffMs: readonly number[], attempt: number): number {
  return backoffMs[Math.min(attempt, backoffMs.length) - 1] ?? 0;
}

/** Failures that are the same on every attempt with the same input. */
const DETERMINISTIC: ReadonlySet<string> = new Set([
  ClientErrorCodes.NON_RETRYABLE,
  // An event (or one the handler publishes) that is too large stays too large.
  ClientErrorCodes.PAYLOAD_TOO_LARGE,
  EventErrorCodes.VALIDATION,
  // A major version this consumer has no schema for stays unreadable.
  EventErrorCodes.UNSUPPORTED_VERSION,
  EventErrorCodes.DECODE,
  EventErrorCodes.ENCODE,
  EventErrorCodes.SUBJECT_TOKEN,
]);

/** True when retrying cannot help and the event goes to the DLQ at once. */
export function isNonRetryable(err: unknown): boolean {
  const code = errorCode(err);
  return code !== undefined && DETERMINISTIC.has(code);
}

/** The DLQ reason for a failure. */
export function deadLetterReason(err: unknown): DeadLetterReason {
  switch (errorCode(err)) {
    case EventErrorCodes.VALIDATION:
    case EventErrorCodes.UNSUPPORTED_VERSION:
      return 'validation';
    case EventErrorCodes.DECODE:
      return 'decode';
    case ClientErrorCodes.HANDLER_TIMEOUT:
      return 'handler-timeout';
    default:
      return isNonRetryable(err) ? 'non-retryable' : 'handler-error';
  }
}
