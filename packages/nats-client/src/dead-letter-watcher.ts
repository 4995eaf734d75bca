/**
 * Turns MAX_DELIVERIES advisories into DLQ records: the backstop for events the delivery
 * pipeline could not dead-letter itself (its attempt ledger or DLQ write kept failing, or a
 * consumer without the pipeline). The server gives up on the event and emits the advisory,
 * which the ADVISORIES stream keeps even while no watcher runs. One durable consumer shared by
 * every client handles each advisory once, fetching the original by stream sequence; the
 * attempt ledger, when it knows the event, supplies the attempts and the first failure time.
 */
import { decodeEvent } from '@multi-agent/events';
import type { DomainEvent } from '@multi-agent/events';
import type { JetStreamManager, JsMsg } from '@nats-io/jetstream';
import type { AttemptLedger, AttemptRecord } from './attempt-ledger.js';
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
export function deadLetterWatcher(jsm: JetStreamManager, writer: DeadLetterWriter, logger: Logger, ledger?: AttemptLedger) {
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
      // Without the ledger the record falls back to the server's delivery count: worse, not wrong.
      const record: AttemptRecord | undefined = await ledger?.get(advisory.consumer, advisory.stream_seq).catch((err: unknown) => {
        logger.warn({ err, advisory }, 'attempt ledger unreadable; the DLQ record counts deliveries instead');
        return undefined;
      });
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
        // Attempts of this event when the ledger counted them; otherwise the server's deliveries.
        failureCount: record?.attempts ?? advisory.deliveries,
        firstFailureAt: record !== undefined ? new Date(record.firstFailureAt) : at,
        lastFailureAt: at,
      });
      msg.ack();
      // A record left behind expires with the ledger's TTL.
      if (record !== undefined) {
        await ledger?.delete(advisory.consumer, advisory.stream_seq).catch((err: unknown) => logger.warn({ err, advisory }, 'could not delete an attempt ledger record; it expires by itself'));
      }
    } catch (err) {
      logger.error({ err, advisory }, 'could not dead-letter an exhausted event; will retry');
      msg.nak(1000);
    }
  };
}
