/**
 * Writes DLQ records (docs/architecture.md, "Retries and dead letters") on `dlq.<consumer>`. The record's eventId is derived
 * from the original's stream and sequence, so the pipeline and the advisory watcher writing
 * the same failure (or one writer retrying) store it once.
 */
import { completeEnvelope, encodeEvent, eventToJson, subjects } from '@multi-agent/events';
import type { DeadLetterData, DeadLetterEvent, DeadLetterReason, DomainEvent } from '@multi-agent/events';
import type { ClientMetrics } from './metrics.js';
import type { EventPublisher, PublishResult } from './publisher.js';

/** What is known about a failure when it is dead-lettered. */
export interface DeadLetterInput {
  /** The decoded original, when it could be decoded. */
  event?: DomainEvent | undefined;
  /** The original bytes (kept as base64 when the event could not be decoded). */
  payload: Uint8Array;
  subject: string;
  stream: string;
  streamSequence: number;
  consumer: string;
  service: string;
  reason: DeadLetterReason;
  error: unknown;
  failureCount: number;
  firstFailureAt: Date;
  lastFailureAt: Date;
}

/** The eventId of the DLQ record for one stored message. */
export function deadLetterEventId(stream: string, streamSequence: number): string {
  return `dlq-${stream}-${streamSequence}`;
}

function describeError(error: unknown): Pick<DeadLetterData, 'errorClass' | 'errorMessage' | 'stack'> {
  if (error instanceof Error) {
    return { errorClass: error.name || error.constructor.name, errorMessage: error.message, stack: error.stack };
  }
  return { errorClass: typeof error, errorMessage: String(error) };
}

/** Builds the DLQ record event for a failure. */
export function deadLetterRecord(input: DeadLetterInput): DeadLetterEvent {
  const data: DeadLetterData = {
    ...(input.event !== undefined
      ? { originalEvent: eventToJson(input.event) }
      : { rawPayloadBase64: Buffer.from(input.payload).toString('base64') }),
    originalSubject: input.subject,
    stream: input.stream,
    streamSequence: input.streamSequence,
    consumer: input.consumer,
    service: input.service,
    reason: input.reason,
    ...describeError(input.error),
    failureCount: input.failureCount,
    firstFailureAt: input.firstFailureAt.toISOString(),
    lastFailureAt: input.lastFailureAt.toISOString(),
  };
  return completeEnvelope({
    eventId: deadLetterEventId(input.stream, input.streamSequence),
    eventType: subjects.deadLetter(input.consumer),
    timestamp: input.lastFailureAt,
    correlationId: input.event?.correlationId ?? input.event?.eventId,
    causationId: input.event?.eventId,
    data,
  }) as DeadLetterEvent;
}

/** Publishes DLQ records into the DLQ stream. */
export class DeadLetterWriter {
  constructor(
    private readonly publisher: EventPublisher,
    private readonly metrics: ClientMetrics,
  ) {}

  /** Publishes the record; resolves once the DLQ stream stored it (or had it already). */
  async write(input: DeadLetterInput): Promise<PublishResult> {
    const record = deadLetterRecord(input);
    const result = await this.publisher.publishEncoded(record.eventType, record, encodeEvent(record));
    if (!result.duplicate) this.metrics.deadLettered.inc({ consumer: input.consumer, reason: input.reason });
    return result;
  }
}
