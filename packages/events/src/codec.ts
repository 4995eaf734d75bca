/**
 * The wire format (docs/architecture.md, "The wire format"): the event as UTF-8 JSON with `timestamp` as an ISO-8601
 * string, plus NATS headers that let the server and tools act without parsing the body.
 * Browser-safe: only `TextEncoder`/`TextDecoder`, no Node APIs.
 *
 * @packageDocumentation
 */
import type { BaseEvent, DomainEvent } from './base.js';
import { DecodeError, EncodeError } from './errors.js';
import { tokenMessageSchema, type TokenMessage } from './schemas.js';

/** Header names an event travels with. */
export const EventHeaders: {
  /** `eventId`; JetStream drops a duplicate within the stream's duplicate window. */
  readonly MSG_ID: 'Nats-Msg-Id';
  /** `eventType`. */
  readonly EVENT_TYPE: 'event-type';
  /** `version`. */
  readonly EVENT_VERSION: 'event-version';
  /** `correlationId`, when set. */
  readonly CORRELATION_ID: 'correlation-id';
  /** `causationId`, when set. */
  readonly CAUSATION_ID: 'causation-id';
  /** W3C trace context, set by the client when tracing is on. */
  readonly TRACEPARENT: 'traceparent';
  /** Always `application/json`. */
  readonly CONTENT_TYPE: 'content-type';
} = {
  MSG_ID: 'Nats-Msg-Id',
  EVENT_TYPE: 'event-type',
  EVENT_VERSION: 'event-version',
  CORRELATION_ID: 'correlation-id',
  CAUSATION_ID: 'causation-id',
  TRACEPARENT: 'traceparent',
  CONTENT_TYPE: 'content-type',
};

/** The content type of an encoded event. */
export const EVENT_CONTENT_TYPE = 'application/json';

const encoder = new TextEncoder();
// fatal: invalid UTF-8 is a DecodeError, not silently replaced characters.
const decoder = new TextDecoder('utf-8', { fatal: true });

// ISO-8601 date-time with an explicit offset: a time without one would be read as local time.
const ISO_DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:\d{2})$/i;

// eslint-disable-next-line no-control-regex -- control characters are exactly what we reject
const CONTROL_CHARS = /[\u0000-\u001f\u007f]/;

function assertValidTimestamp(event: BaseEvent): void {
  const ts: unknown = event.timestamp;
  if (!(ts instanceof Date) || Number.isNaN(ts.getTime())) {
    throw new EncodeError(`Cannot encode event ${event.eventId}: timestamp is not a valid Date`);
  }
}

// An event (or timestamp) with its own toJSON must be serialised as it is, toJSON and all.
function hasOwnToJson(event: BaseEvent): boolean {
  return 'toJSON' in event || event.timestamp.toJSON !== Date.prototype.toJSON;
}

function isoTimestamp(event: BaseEvent): string {
  assertValidTimestamp(event);
  return event.timestamp.toISOString();
}

/**
 * The event as a plain JSON object (timestamp as an ISO-8601 string, undefined fields
 * omitted): what `encodeEvent` serialises and what a DLQ record keeps as `originalEvent`.
 *
 * @throws {@link EncodeError} when the timestamp is not a valid Date or data is not JSON-serialisable
 */
export function eventToJson(event: BaseEvent): Record<string, unknown> {
  const timestamp = isoTimestamp(event);
  try {
    // A JSON round trip drops undefined fields and turns nested Dates into strings, like the wire does.
    return JSON.parse(JSON.stringify({ ...event, timestamp })) as Record<string, unknown>;
  } catch (cause) {
    throw new EncodeError(`Cannot encode event ${event.eventId}: ${(cause as Error).message}`, { cause });
  }
}

/**
 * Encodes an event for the wire: UTF-8 JSON, `timestamp` as an ISO-8601 string, undefined
 * fields omitted, unknown fields kept.
 *
 * @throws {@link EncodeError} when the timestamp is not a valid Date or data is not JSON-serialisable
 */
export function encodeEvent(event: BaseEvent): Uint8Array {
  const timestamp = isoTimestamp(event);
  let json: string;
  try {
    // The same bytes as JSON.stringify(event) (keys in the same order): a Date's toJSON call
    // takes V8's JSON.stringify off its fast path, which costs more than the shallow copy.
    json = JSON.stringify(hasOwnToJson(event) ? event : { ...event, timestamp });
  } catch (cause) {
    throw new EncodeError(`Cannot encode event ${event.eventId}: ${(cause as Error).message}`, { cause });
  }
  return encoder.encode(json);
}

// What a bad envelope field holds, for an error message: short, and never a serialisation of a
// nested value (a deeply nested one would overflow the stack of JSON.stringify).
function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  if (typeof value === 'string') return JSON.stringify(value.length > 64 ? `${value.slice(0, 64)}…` : value);
  return typeof value === 'number' || typeof value === 'boolean' ? String(value) : typeof value;
}

function requireString(obj: Record<string, unknown>, field: string): string {
  const value = obj[field];
  if (typeof value !== 'string' || value === '') {
    const got = value === undefined ? 'missing' : `got ${value === '' ? 'an empty string' : describe(value)}`;
    throw new DecodeError(`Not an event envelope: ${field} must be a non-empty string (${got})`, { field });
  }
  return value;
}

/**
 * Turns a parsed JSON value (e.g. a DLQ record's `originalEvent`) back into an event: checks
 * the envelope and makes `timestamp` a `Date`. Unknown fields are kept.
 *
 * @throws {@link DecodeError} when it is not an object or an envelope field is missing or invalid
 */
export function eventFromJson(value: unknown): DomainEvent {
  return toEvent(value, true);
}

// `copy` false takes ownership of a freshly parsed object instead of copying it (decodeEvent).
function toEvent(value: unknown, copy: boolean): DomainEvent {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    const kind = value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value;
    throw new DecodeError(`Not an event envelope: expected a JSON object, got ${kind}`);
  }
  const obj = copy ? { ...(value as Record<string, unknown>) } : (value as Record<string, unknown>);
  requireString(obj, 'eventId');
  requireString(obj, 'eventType');
  requireString(obj, 'version');
  const ts = obj.timestamp;
  const date = typeof ts === 'string' && ISO_DATE_TIME.test(ts) ? new Date(ts) : undefined;
  if (date === undefined || Number.isNaN(date.getTime())) {
    throw new DecodeError(
      `Not an event envelope: timestamp must be an ISO-8601 date-time string with offset (got ${describe(ts)})`,
      { field: 'timestamp' },
    );
  }
  obj.timestamp = date;
  // Other languages write null for "not set": such a field is left out, as if never written.
  if (obj.correlationId === null) delete obj.correlationId;
  if (obj.causationId === null) delete obj.causationId;
  for (const field of ['correlationId', 'causationId'] as const) {
    if (obj[field] !== undefined && typeof obj[field] !== 'string') {
      throw new DecodeError(`Not an event envelope: ${field} must be a string when present`, { field });
    }
  }
  return obj as unknown as DomainEvent;
}

function parseJson(bytes: Uint8Array | string): unknown {
  let text: string;
  try {
    text = typeof bytes === 'string' ? bytes : decoder.decode(bytes);
  } catch (cause) {
    throw new DecodeError('Payload is not valid UTF-8', { cause });
  }
  try {
    return JSON.parse(text);
  } catch (cause) {
    throw new DecodeError(`Payload is not valid JSON: ${(cause as Error).message}`, { cause });
  }
}

/**
 * Decodes an event from the wire: `timestamp` becomes a `Date`, unknown fields are kept.
 * Does not check `data` against its schema: call `validateEvent` for that.
 *
 * @throws {@link DecodeError} on invalid UTF-8, malformed JSON, a non-object, or a missing or
 *   invalid `eventId`/`eventType`/`version`/`timestamp`
 */
export function decodeEvent(bytes: Uint8Array | string): DomainEvent {
  return toEvent(parseJson(bytes), false);
}

/**
 * The NATS headers of an event: `Nats-Msg-Id`, `event-type`, `event-version`,
 * `content-type: application/json`, and `correlation-id`/`causation-id` only when set.
 *
 * @throws {@link EncodeError} when a value contains a control character (CR/LF would break the header block)
 */
export function eventHeaders(event: BaseEvent): Record<string, string> {
  const headers: Record<string, string> = {
    [EventHeaders.MSG_ID]: headerValue(EventHeaders.MSG_ID, event.eventId),
    [EventHeaders.EVENT_TYPE]: headerValue(EventHeaders.EVENT_TYPE, event.eventType),
    [EventHeaders.EVENT_VERSION]: headerValue(EventHeaders.EVENT_VERSION, event.version),
    [EventHeaders.CONTENT_TYPE]: EVENT_CONTENT_TYPE,
  };
  if (event.correlationId !== undefined) headers[EventHeaders.CORRELATION_ID] = headerValue(EventHeaders.CORRELATION_ID, event.correlationId);
  if (event.causationId !== undefined) headers[EventHeaders.CAUSATION_ID] = headerValue(EventHeaders.CAUSATION_ID, event.causationId);
  return headers;
}

// Checked as each header is set (every publish builds them), not in a second pass over the entries.
function headerValue(name: string, value: unknown): string {
  if (typeof value !== 'string' || CONTROL_CHARS.test(value)) {
    throw new EncodeError(`Header ${name} must be a string without control characters`);
  }
  return value;
}

/** Encodes one token message `{ token, isComplete, seq, nodeId? }` (the body on `model.token.stream.<executionId>`). */
export function encodeTokenMessage(message: TokenMessage): Uint8Array {
  return encoder.encode(JSON.stringify(message));
}

/**
 * Decodes one token message, e.g. in a browser reading `model.token.stream.<executionId>`.
 *
 * @throws {@link DecodeError} when it is not JSON or not `{ token: string, isComplete: boolean, seq: integer >= 0, nodeId?: subject token }`
 */
export function decodeTokenMessage(bytes: Uint8Array | string): TokenMessage {
  const parsed = tokenMessageSchema.safeParse(parseJson(bytes));
  if (!parsed.success) {
    const why = parsed.error.issues.map((i) => `${i.path.map(String).join('.') || '(root)'}: ${i.message}`).join('; ');
    throw new DecodeError(`Not a token message: ${why}`, { cause: parsed.error });
  }
  return parsed.data;
}
