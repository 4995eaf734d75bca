/**
 * The correlation index: which EVENTS sequences belong to one flow, so a trace reads those
 * events and not the whole stream.
 *
 * One message per flow on `index.correlation.<key>` in the EVENT_INDEX stream (one message kept
 * per subject): `{"seqs":[...]}`, the flow's EVENTS sequences in ascending order. The
 * `correlation-indexer` durable consumer on EVENTS (correlation-indexer.ts) rewrites it with
 * compare-and-set as events arrive, and acknowledges an event only once its sequence is in the
 * index. A read takes the index message (a last-by-subject lookup), gets each listed event by
 * sequence, and scans with headers only the part of EVENTS the indexer has not acknowledged
 * yet; so it misses nothing the indexer lags behind on, and costs O(events of the flow + lag).
 *
 * A flow is keyed by the `correlation-id` header, or by the `Nats-Msg-Id` (eventId) of an
 * event without one: the flow's first event, whose eventId its followers carry.
 */
import { createHash } from 'node:crypto';
import { EventHeaders, SUBJECT_TOKEN_PATTERN } from '@multi-agent/events';
import { JetStreamApiCodes, JetStreamApiError } from '@nats-io/jetstream';
import type { JetStreamClient, JetStreamManager, StoredMsg } from '@nats-io/jetstream';
import type { MsgHdrs } from '@nats-io/nats-core';
import { decodeOrUndefined, readStoredMessages } from './event-log.js';
import type { StoredEvent } from './event-log.js';
import { CORRELATION_INDEX_PREFIX, StreamNames } from './topology.js';

/** The durable consumer on EVENTS that writes the index. */
export const CORRELATION_INDEXER = 'correlation-indexer';

/** How many events a read gets from the stream at once. */
const GETS_IN_FLIGHT = 64;

/** The flow an event belongs to, from its headers; undefined for a message without either header. */
export function flowKeyOf(headers: MsgHdrs | undefined): string | undefined {
  return headers?.get(EventHeaders.CORRELATION_ID) || headers?.get(EventHeaders.MSG_ID) || undefined;
}

/**
 * The index subject of a flow. An id that is a valid subject token is used as it is; any other
 * (a dot, a space, too long) by its SHA-256, so data never chooses a subject. Two ids sharing a
 * subject would only share a message: a read keeps the events whose own header matches.
 */
export function correlationIndexSubject(correlationId: string): string {
  const token = SUBJECT_TOKEN_PATTERN.test(correlationId)
    ? correlationId
    : `sha256-${createHash('sha256').update(correlationId).digest('base64url')}`;
  return `${CORRELATION_INDEX_PREFIX}.${token}`;
}

/** One flow's index message, and its stream sequence (0: none yet), for compare-and-set. */
export interface IndexEntry {
  seqs: number[];
  revision: number;
}

/** The current index message of a flow; an unreadable one counts as empty (the next write replaces it). */
export async function loadIndexEntry(jsm: JetStreamManager, subject: string): Promise<IndexEntry> {
  const msg = await getOrNull(jsm, StreamNames.EVENT_INDEX, { last_by_subj: subject });
  if (msg === null) return { seqs: [], revision: 0 };
  return { seqs: parseSeqs(msg.data), revision: msg.seq };
}

function parseSeqs(data: Uint8Array): number[] {
  try {
    const body = JSON.parse(new TextDecoder().decode(data)) as { seqs?: unknown };
    return Array.isArray(body.seqs) ? body.seqs.filter((s): s is number => Number.isSafeInteger(s) && s > 0) : [];
  } catch {
    return [];
  }
}

/** A stored message, or null when the stream has none there (deleted, expired, never written). */
async function getOrNull(jsm: JetStreamManager, stream: string, query: { seq: number } | { last_by_subj: string }): Promise<StoredMsg | null> {
  try {
    return await jsm.streams.getMessage(stream, query);
  } catch (err) {
    if (err instanceof JetStreamApiError && err.code === JetStreamApiCodes.NoMessageFound) return null;
    throw err;
  }
}

/** Options of {@link readCorrelation}. */
export interface ReadCorrelationOptions {
  /** Most messages the catch-up scan looks at (the part of EVENTS not indexed yet); default unbounded. */
  maxScan?: number;
  /** Stops the catch-up scan. */
  signal?: AbortSignal;
}

/** What {@link readCorrelation} found. */
export interface CorrelationRead {
  /** The flow's stored events, in stream order. */
  events: StoredEvent[];
  /** How many of them the index listed. */
  indexed: number;
  /** Messages the catch-up scan looked at: EVENTS beyond what the indexer acknowledged. */
  scanned: number;
  /** False when the catch-up scan stopped at `maxScan` (the indexer lags far, or never ran). */
  complete: boolean;
}

/**
 * Reads the events of one flow through the correlation index. Every event stored before the
 * call is returned: those the indexer acknowledged from the index, the rest by a header scan
 * of the unacknowledged tail of EVENTS (the whole stream when no indexer ever ran).
 */
export async function readCorrelation(js: JetStreamClient, jsm: JetStreamManager, correlationId: string, options: ReadCorrelationOptions = {}): Promise<CorrelationRead> {
  // The indexer's position first: whatever it acknowledged by now is in the index read next.
  const indexer = await jsm.consumers.info(StreamNames.EVENTS, CORRELATION_INDEXER).catch((err: unknown) => {
    if (err instanceof JetStreamApiError && err.code === JetStreamApiCodes.ConsumerNotFound) return undefined;
    throw err;
  });
  const { seqs } = await loadIndexEntry(jsm, correlationIndexSubject(correlationId));
  const indexedUpTo = indexer?.ack_floor.stream_seq ?? 0;
  const caughtUp = indexer !== undefined && indexer.num_pending === 0 && indexer.num_ack_pending === 0;

  const events: StoredEvent[] = [];
  for (let i = 0; i < seqs.length; i += GETS_IN_FLIGHT) {
    const batch = await Promise.all(seqs.slice(i, i + GETS_IN_FLIGHT).map((seq) => getOrNull(jsm, StreamNames.EVENTS, { seq })));
    for (const msg of batch) {
      // Gone (expired from EVENTS) or not this flow's (a shared hashed subject): skip.
      if (msg === null || flowKeyOf(msg.header) !== correlationId) continue;
      const event = decodeOrUndefined(msg.data);
      if (event !== undefined) events.push({ seq: msg.seq, subject: msg.subject, event });
    }
  }
  const indexed = events.length;

  let scanned = 0;
  let complete = true;
  if (!caughtUp) {
    // The index may list some events past the floor already: those are not taken twice.
    const listed = new Set(seqs);
    const tail = readStoredMessages(js, { startSeq: indexedUpTo + 1, ...(options.signal === undefined ? {} : { signal: options.signal }) });
    for await (const msg of tail) {
      scanned += 1;
      if (!listed.has(msg.seq) && flowKeyOf(msg.headers) === correlationId) {
        const event = decodeOrUndefined(msg.data);
        if (event !== undefined) events.push({ seq: msg.seq, subject: msg.subject, event });
      }
      if (options.maxScan !== undefined && scanned >= options.maxScan && msg.info.pending > 0) {
        complete = false;
        break;
      }
    }
  }
  events.sort((a, b) => a.seq - b.seq);
  return { events, indexed, scanned, complete };
}
