/**
 * The DLQ record contract: what a consumer publishes on `dlq.<consumer>` when it gives up on
 * an event, so the event is never lost and can be inspected and replayed.
 *
 * @packageDocumentation
 */
import * as z from 'zod';
import type { DomainEvent } from './base.js';
import { SUBJECT_TOKEN_PATTERN } from './subjects.js';

/** Every {@link DeadLetterReason}, in a stable order (for CLIs and metrics labels). */
export const DEAD_LETTER_REASONS = [
  'handler-error',
  'non-retryable',
  'validation',
  'decode',
  'handler-timeout',
  'max-deliveries',
  'crashed-handler',
] as const;

/**
 * Why an event was dead-lettered:
 * - `handler-error`: the handler kept throwing until the delivery attempts ran out
 * - `non-retryable`: the handler threw a `NonRetryableError` (no retry)
 * - `validation`: the event did not match its registered schema (no retry)
 * - `decode`: the payload was not an event at all (no retry)
 * - `handler-timeout`: the handler kept exceeding its time limit
 * - `max-deliveries`: the server gave up after its delivery limit (the backstop when the client
 *   could not count the attempts itself)
 * - `crashed-handler`: the process died while running the handler for this event, once per
 *   allowed attempt, each time with no other handler running beside it
 */
export type DeadLetterReason = (typeof DEAD_LETTER_REASONS)[number];

/** The `data` of a DLQ record (docs/architecture.md, "Retries and dead letters"). */
export interface DeadLetterData {
  /** The decoded original event as JSON (timestamp as ISO string), when it could be decoded. */
  originalEvent?: Record<string, unknown> | undefined;
  /** The original payload, base64, when it could not be decoded. */
  rawPayloadBase64?: string | undefined;
  /** The subject the original was delivered on. */
  originalSubject: string;
  /** The stream that held the original, e.g. `EVENTS`. */
  stream: string;
  /** The original's sequence in that stream (fetch it with `nats stream get`). */
  streamSequence: number;
  /** The durable consumer that gave up. */
  consumer: string;
  /** The service that runs that consumer. */
  service: string;
  /** Why it gave up. */
  reason: DeadLetterReason;
  /** Class name of the last error, e.g. `ValidationError`. */
  errorClass: string;
  /** Message of the last error. */
  errorMessage: string;
  /** Stack of the last error, when there was one. */
  stack?: string | undefined;
  /** How many deliveries failed. */
  failureCount: number;
  /** ISO-8601 time of the first failure. */
  firstFailureAt: string;
  /** ISO-8601 time of the last failure. */
  lastFailureAt: string;
}

/** A DLQ record: published on `dlq.<consumer>`, its `eventType` is that subject. */
export type DeadLetterEvent = DomainEvent<`dlq.${string}`, DeadLetterData>;

/** Schema of {@link DeadLetterReason}. */
export const deadLetterReasonSchema = z.enum(DEAD_LETTER_REASONS);

const isoDateTime = z.iso.datetime({ offset: true });

/** Runtime schema of {@link DeadLetterData}; loose, so newer producers may add fields. */
export const deadLetterDataSchema: z.ZodType<DeadLetterData> = z.looseObject({
  originalEvent: z.record(z.string(), z.unknown()).optional(),
  rawPayloadBase64: z.base64().optional(),
  originalSubject: z.string().min(1),
  stream: z.string(),
  streamSequence: z.int().nonnegative(),
  consumer: z.string().regex(SUBJECT_TOKEN_PATTERN, 'must be a valid subject token (it names the dlq.<consumer> subject)'),
  service: z.string().min(1),
  reason: deadLetterReasonSchema,
  errorClass: z.string(),
  errorMessage: z.string(),
  stack: z.string().optional(),
  failureCount: z.int().nonnegative(),
  firstFailureAt: isoDateTime,
  lastFailureAt: isoDateTime,
});
