/**
 * Failures that repeat for the same input. A handler that meets one throws it as a
 * {@link DeterministicError}: a `NonRetryableError` of the bus client, so the event goes to the
 * DLQ at once with reason `non-retryable` instead of spending the backoff schedule. Every other
 * error (timeouts, disconnects, no responders, lost compare-and-set races) stays retryable.
 */
import { NonRetryableError } from '@multi-agent/nats-client';

/**
 * A failure deterministic for the event that caused it. Its `code` stays the client's
 * `NON_RETRYABLE` (the bus client dead-letters by that code, or by class); `kind` says which
 * failure it is (`STACK_OVERFLOW`, `PAYLOAD_TOO_LARGE`, `EXECUTION_RECORD_TOO_LARGE`,
 * `TEMPLATE`, `CLAIM_CHECK_MISSING`, ...).
 */
export class DeterministicError extends NonRetryableError {
  /** Which deterministic failure this is: a stable code of its own. */
  readonly kind: string;
  constructor(kind: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'DeterministicError';
    this.kind = kind;
  }
}

/** Codes of errors that the same event raises again on every attempt. */
const DETERMINISTIC_CODES = new Set([
  'PAYLOAD_TOO_LARGE',
  'TEMPLATE',
  'VALIDATION',
  'UNKNOWN_WORKFLOW',
  'UNKNOWN_AGENT',
  'UNKNOWN_TOOL',
  'INVALID_INPUT',
  'INPUT_TOO_LARGE',
  'INPUT_TOO_DEEP',
  'EXECUTION_RECORD_TOO_LARGE',
]);

function codeOf(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/**
 * The error a handler should throw for `err`: a {@link DeterministicError} (its `kind` = the
 * original's code) when retrying cannot help (a code of that class, or a stack overflow: the
 * event's shape causes it), else `err`.
 */
export function classifyFailure(err: unknown): unknown {
  if (err instanceof NonRetryableError) return err;
  // V8 reports a stack overflow as a RangeError; it recurs with the same event.
  if (err instanceof RangeError) return new DeterministicError('STACK_OVERFLOW', `stack overflow while handling the event: ${err.message}`, { cause: err });
  const code = codeOf(err);
  if (code !== undefined && DETERMINISTIC_CODES.has(code)) return new DeterministicError(code, (err as Error).message, { cause: err });
  return err;
}

/** True when retrying `err` cannot help. */
export function isDeterministic(err: unknown): boolean {
  return classifyFailure(err) instanceof NonRetryableError;
}

/**
 * Wraps a subscription handler so that what it throws is classified: a deterministic failure
 * leaves as a non-retryable error (DLQ at once), anything else as it was (retried).
 */
export function classifyingHandler<E, C>(handler: (event: E, ctx: C) => Promise<void>): (event: E, ctx: C) => Promise<void> {
  return async (event, ctx) => {
    try {
      await handler(event, ctx);
    } catch (err) {
      throw classifyFailure(err);
    }
  };
}
