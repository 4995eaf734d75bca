/**
 * Turns MAX_DELIVERIES advisories into DLQ records. A process that dies inside a handler never
 * writes its DLQ record; the server then gives up on the event and emits the advisory, which
 * the ADVISORIES stream keeps even while no watcher runs. One durable consumer shared by every
 * client handles each advisory once, fetching the original by stream sequence.
 */
import { decodeEvent } from '@multi-agent/events';
import type { DomainEvent } from '@multi-agent/events';
import type { JetStreamManager, JsMsg } from '@nats-io/jetstream';
import type { DeadLetterWriter } from './dead-letter.js';
import type { Logger } from './logger.js';
import { StreamNames } from './topology.js';

/** The durable name every client's watcher shares. */
export const DEAD_LETTER_WATCHER = 'dlq-advisory-watcher';

/** The fields of a `io.nats.jetstream.advisory.v1.max_deliver` advisory we use. */
interface MaxDeliveriesAdvisory {
  timestamp?: string;
  stream: string;
  consumer: string;
  stream_seq: number;
  deliveries: number;
}

function parseAdvisory(data: Uint8Array): MaxDeliveriesAdvisory | undefined {
  try {
    const value = JSON.parse(new TextDecoder().decode(data)) as Partial<MaxDeliveriesAdvisory>;
    if (typeof value.stream === 'string' && typeof value.consumer === 'string' && typeof value.stream_seq === 'number') {
      return { deliveries: 0, ...value } as MaxDeliveriesAdvisory;
    }
  } catch {
    // fall through: not an advisory we understand
  }
  return undefined;
}

/** The service recorded in a consumer's description (`service=<name>`). */
export function serviceFromDescription(description: string | undefined): string | undefined {
  return /(?:^|\s)service=(\S+)/.exec(description ?? '')?.[1];
}

/** Builds the processor of the watcher subscription. */
export function deadLetterWatcher(jsm: JetStreamManager, writer: DeadLetterWriter, logger: Logger) {
  return async (msg: JsMsg): Promise<void> => {
    const advisory = parseAdvisory(msg.data);
    if (advisory === undefined) {
      logger.warn({ subject: msg.subject }, 'ignoring an advisory that is not a max-deliveries advisory');
      msg.ack();
      return;
    }
    if (advisory.stream === StreamNames.DLQ || advisory.stream === StreamNames.ADVISORIES) {
      // A reader of the DLQ itself gave up: feeding that back into the DLQ would loop.
      logger.error({ advisory }, 'a DLQ or advisory reader exhausted its deliveries; the record stays in its stream');
      msg.ack();
      return;
    }
    try {
      const stored = await jsm.streams.getMessage(advisory.stream, { seq: advisory.stream_seq });
      const info = await jsm.consumers.info(advisory.stream, advisory.consumer).catch(() => undefined);
      let event: DomainEvent | undefined;
      try {
        event = stored === null ? undefined : decodeEvent(stored.data);
      } catch {
        event = undefined;
      }
      const at = advisory.timestamp !== undefined ? new Date(advisory.timestamp) : new Date();
      await writer.write({
        event,
        payload: stored?.data ?? new Uint8Array(),
        subject: stored?.subject ?? '(no longer in the stream)',
        stream: advisory.stream,
        streamSequence: advisory.stream_seq,
        consumer: advisory.consumer,
        service: serviceFromDescription(info?.config.description) ?? 'unknown',
        reason: 'max-deliveries',
        error: new Error(
          `no ack after ${advisory.deliveries} deliveries: the handler's process died, it hung past ack_wait, or its DLQ write failed`,
        ),
        failureCount: advisory.deliveries,
        firstFailureAt: at,
        lastFailureAt: at,
      });
      msg.ack();
    } catch (err) {
      logger.error({ err, advisory }, 'could not dead-letter an exhausted event; will retry');
      msg.nak(1000);
    }
  };
}
