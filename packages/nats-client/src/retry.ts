/** How a failed delivery is classified and when it is tried again. */
import { DecodeError, ValidationError } from '@multi-agent/events';
import type { DeadLetterReason } from '@multi-agent/events';
import { HandlerTimeoutError, NonRetryableError } from './errors.js';

/** Delay before the retry that follows failed attempt `attempt` (1-based); the last entry repeats. */
export function retryDelay(backoffMs: readonly number[], attempt: number): number {
  return backoffMs[Math.min(attempt, backoffMs.length) - 1] ?? 0;
}

/** True when retrying cannot help and the event goes to the DLQ at once. */
export function isNonRetryable(err: unknown): boolean {
  return err instanceof NonRetryableError || err instanceof ValidationError || err instanceof DecodeError;
}

/** The DLQ reason for a failure. */
export function deadLetterReason(err: unknown): DeadLetterReason {
  if (err instanceof ValidationError) return 'validation';
  if (err instanceof DecodeError) return 'decode';
  if (err instanceof NonRetryableError) return 'non-retryable';
  if (err instanceof HandlerTimeoutError) return 'handler-timeout';
  return 'handler-error';
}
