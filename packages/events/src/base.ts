/**
 * The event envelope every message on the bus carries.
 *
 * @packageDocumentation
 */

/** The envelope shared by every event (the guide's `BaseEvent`). */
export interface BaseEvent {
  /** Unique event ID (UUID v4). Also the JetStream `Nats-Msg-Id` and the idempotency key. */
  eventId: string;
  /** Event subject, e.g. `"workflow.execution.requested"`. The event is published on this subject. */
  eventType: string;
  /** When the event was created. Travels as an ISO-8601 string, is a `Date` again on receipt. */
  timestamp: Date;
  /** Ties together every event of one flow (usually the first event's `eventId`). */
  correlationId?: string | undefined;
  /** `eventId` of the event that caused this one. */
  causationId?: string | undefined;
  /** Schema version of `data`, e.g. `"1.0"`. */
  version: string;
}

/** An event carrying data; what the guide's examples build. */
export interface DomainEvent<TType extends string = string, TData = unknown> extends BaseEvent {
  /** The event subject, narrowed to a literal for the platform's typed events. */
  eventType: TType;
  /** The payload; validated against the schema registered for (`eventType`, `version`). */
  data: TData;
}

/** The version new events get when none is given. */
export const DEFAULT_EVENT_VERSION = '1.0';
