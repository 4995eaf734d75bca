/**
 * Reading outcomes back from the server: the stored stream, consumer state and DLQ records.
 * Every scenario asserts on these, not on what publish() or a handler reported.
 */
import type { DeadLetterData, DomainEvent } from '@multi-agent/events';
import { PublishError, NotConnectedError, StreamNames } from '@multi-agent/nats-client';
import type { NatsClient, PublishResult } from '@multi-agent/nats-client';
import { auditStream, consumerState } from '@multi-agent/testing';
import type { ConsumerState, StreamAudit } from '@multi-agent/testing';
import { delay, waitFor } from './env.js';

/** Every message stored under `filterSubject` in `stream` (default EVENTS), with copies counted per eventId. */
export function auditEvents(client: NatsClient, filterSubject: string, stream: string = StreamNames.EVENTS): Promise<StreamAudit> {
  return auditStream(client.jetstream.js, stream, { filterSubject });
}

/** The server's view of a consumer. */
export function consumer(client: NatsClient, name: string, stream: string = StreamNames.EVENTS): Promise<ConsumerState> {
  return consumerState(client.jetstream.js, stream, name);
}

/** Waits until the consumer has nothing pending and nothing unacknowledged, and returns that state. */
export async function waitSettled(client: NatsClient, name: string, timeoutMs = 20_000, stream: string = StreamNames.EVENTS): Promise<ConsumerState> {
  return waitFor(
    async () => {
      const state = await consumer(client, name, stream);
      return state.numPending === 0 && state.numAckPending === 0 ? state : undefined;
    },
    timeoutMs,
    `consumer ${name} to have no pending and no unacknowledged message`,
    50,
  );
}

/** DLQ records written for `consumerName`, read back from the DLQ stream. */
export async function deadLettersOf(client: NatsClient, consumerName: string): Promise<{ event: DomainEvent<string, DeadLetterData>; msgId: string | undefined }[]> {
  const audit = await auditStream(client.jetstream.js, StreamNames.DLQ, { filterSubject: `dlq.${consumerName}` });
  return audit.messages.map((m) => ({ event: m.json() as DomainEvent<string, DeadLetterData>, msgId: m.msgId }));
}

/** What a retrying publisher went through for one event. */
export interface RetriedPublish {
  result: PublishResult;
  /** Publish calls made (1 = first try succeeded). */
  attempts: number;
  /** Names of the errors that made it retry. */
  errors: string[];
}

/**
 * Publishes `event` and, when the publish is not acknowledged (`PublishError`,
 * `NotConnectedError`), publishes the same event (same eventId) again until it is, as a careful
 * producer does. Any other error is rethrown. Gives up after `deadlineMs`.
 */
export async function publishUntilAcked(client: NatsClient, event: DomainEvent, deadlineMs = 60_000, backoffMs = 50): Promise<RetriedPublish> {
  const deadline = Date.now() + deadlineMs;
  const errors: string[] = [];
  for (let attempts = 1; ; attempts++) {
    try {
      const result = await client.publish(event);
      return { result, attempts, errors };
    } catch (err) {
      if (!(err instanceof PublishError) && !(err instanceof NotConnectedError)) throw err;
      errors.push(err.name);
      if (Date.now() > deadline) throw new Error(`event ${event.eventId} still not acknowledged after ${attempts} attempts: ${err.message}`, { cause: err });
      await delay(backoffMs);
    }
  }
}
