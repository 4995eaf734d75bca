/**
 * Event contracts as values. Each typed event (`WorkflowExecutionRequestedEvent`...) is also a
 * value of the same name, so `import { WorkflowExecutionRequestedEvent } from
 * '@multi-agent/events'` works at runtime as the guide writes it, and the value is useful:
 * build, recognise and check that event.
 *
 * @packageDocumentation
 */
import type { BaseEvent } from './base.js';
import { DEFAULT_EVENT_VERSION } from './base.js';
import { createEvent } from './create.js';
import type { CreateEventOptions } from './create.js';
import type { EventDataMap, EventOf } from './event-map.js';
import { resolveEventSchema } from './registry.js';

/** The runtime side of one typed event. */
export interface EventContract<S extends keyof EventDataMap> {
  /** The subject (= `eventType`). */
  readonly subject: S;
  /** The schema version `create` stamps. */
  readonly version: string;
  /** Builds the event (new eventId, now, version) and validates it. */
  create(data: EventDataMap[S], options?: CreateEventOptions): EventOf<S>;
  /** True when `event` is this event type, of a version this package reads, and its data matches that version's schema. */
  is(event: BaseEvent): event is EventOf<S>;
}

/** The contract value for a platform subject. */
export function eventContract<S extends keyof EventDataMap>(subject: S): EventContract<S> {
  return Object.freeze({
    subject,
    version: DEFAULT_EVENT_VERSION,
    create: (data: EventDataMap[S], options?: CreateEventOptions) => createEvent(subject, data, options),
    is: (event: BaseEvent): event is EventOf<S> => {
      if (event.eventType !== subject) return false;
      let schema;
      try {
        schema = resolveEventSchema(subject, event.version)?.schema;
      } catch {
        return false; // a version this package cannot read
      }
      return schema === undefined || schema.safeParse((event as { data?: unknown }).data).success;
    },
  });
}
