/**
 * `@multi-agent/events`: the event contracts of the Multi-Agent Platform. The envelope
 * (`BaseEvent`), every subject (`EventSubjects`), one typed event per subject with a runtime
 * schema, `createEvent()`, the wire codec, the DLQ record and subject-token guards.
 * No NATS dependency and no Node APIs: usable in a browser or a schema tool.
 *
 * @packageDocumentation
 */
export * from './errors.js';
export * from './base.js';
export * from './subjects.js';
export * from './schemas.js';
export * from './event-map.js';
export * from './events.js';
export * from './contracts.js';
export * from './dead-letter.js';
export * from './registry.js';
export * from './create.js';
export * from './codec.js';
