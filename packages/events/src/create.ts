/**
 * Building events: fills the envelope (ID, time, version) and validates before anything is sent.
 *
 * @packageDocumentation
 */
import { v4 as uuidv4 } from 'uuid';
import { DEFAULT_EVENT_VERSION, type DomainEvent } from './base.js';
import type { DeadLetterData, DeadLetterEvent } from './dead-letter.js';
import type { EventDataMap, EventOf } from './event-map.js';
import { validateEvent } from './registry.js';
import { subjects } from './subjects.js';

/**
 * An event whose envelope may be incomplete: `eventId`, `timestamp` and `version` are filled
 * in by {@link completeEnvelope} when left out.
 */
export interface EventInput {
  eventType: string;
  data?: unknown;
  eventId?: string | undefined;
  timestamp?: Date | undefined;
  version?: string | undefined;
  correlationId?: string | undefined;
  causationId?: string | undefined;
}

/**
 * Fills the envelope fields an event leaves out: a new UUID v4 `eventId`, `timestamp` now,
 * `version` {@link DEFAULT_EVENT_VERSION}. Lineage and any extra fields (forward compatibility)
 * travel as given; fields given as `undefined` stay absent, so the event equals its decoded
 * copy. Every envelope on the platform is built here. Does not validate.
 */
export function completeEnvelope(input: EventInput): DomainEvent {
  if (input.eventId !== undefined && input.timestamp !== undefined && input.version !== undefined) {
    return input as DomainEvent;
  }
  const event: DomainEvent = {
    eventId: input.eventId ?? uuidv4(),
    eventType: input.eventType,
    timestamp: input.timestamp ?? new Date(),
    version: input.version ?? DEFAULT_EVENT_VERSION,
    data: input.data,
  };
  const target = event as unknown as Record<string, unknown>;
  // for...in with hasOwn: the keys of Object.entries, without an array per entry.
  for (const key in input) {
    const value: unknown = (input as unknown as Record<string, unknown>)[key];
    if (Object.hasOwn(input, key) && value !== undefined && !(key in event)) target[key] = value;
  }
  return event;
}

/** Envelope fields `createEvent` lets you set; the rest is filled in. */
export interface CreateEventOptions {
  /** Ties the events of one flow together (usually the first event's `eventId`). */
  correlationId?: string;
  /** `eventId` of the event that caused this one. */
  causationId?: string;
  /** Schema version of `data`; default `'1.0'`. */
  version?: string;
  /** Event ID; default a new UUID v4. Set it to make a retried publish deduplicate. */
  eventId?: string;
  /** Creation time; default now. */
  timestamp?: Date;
}

/**
 * Builds a platform event: a new UUID v4 `eventId`, `timestamp` now, `version` `'1.0'` unless
 * given, then validates it against its schema.
 *
 * @example
 * const event = createEvent(EventSubjects.EXECUTION_STARTED, { executionId, workflowId, userId });
 * @throws {@link ValidationError} when the envelope or `data` is invalid
 */
export function createEvent<S extends keyof EventDataMap>(
  eventType: S,
  data: EventDataMap[S],
  options?: CreateEventOptions,
): EventOf<S>;
/**
 * Builds an application-defined event (a type not in {@link EventDataMap}); its data is
 * validated when a schema is registered for it with `registerEventSchema`.
 *
 * @throws {@link ValidationError} when the envelope or a registered `data` schema is violated
 */
export function createEvent<T extends string, D = unknown>(
  // A platform subject must use the typed overload: wrong data for it should not compile.
  eventType: T extends keyof EventDataMap ? never : T,
  data: D,
  options?: CreateEventOptions,
): DomainEvent<T, D>;
export function createEvent(eventType: string, data: unknown, options: CreateEventOptions = {}): DomainEvent {
  return validateEvent(completeEnvelope({ ...options, eventType, data }));
}

/**
 * Builds the DLQ record of a consumer, published on `dlq.<consumer>`.
 *
 * @param data - the record; `data.consumer` names the subject
 * @param options - envelope fields; pass a deterministic `eventId` so a retried dead-lettering
 *   is deduplicated by JetStream instead of doubled
 * @throws {@link SubjectTokenError} when `data.consumer` is not a valid subject token
 * @throws {@link ValidationError} when the record does not match `deadLetterDataSchema`
 */
export function createDeadLetterEvent(data: DeadLetterData, options?: CreateEventOptions): DeadLetterEvent {
  const subject = subjects.deadLetter(data.consumer) as `dlq.${string}`;
  return createEvent(subject, data, options);
}
