/**
 * `@multi-agent/service-kit`: what the platform services share. Workflow definitions (schema,
 * validation, loading) and `{{ }}` templates, the execution state record and its KV store,
 * the tool request/reply protocol, deterministic event IDs, env parsing, the ops HTTP server
 * and the process runner of `services/<name>/src/main.ts`.
 *
 * @packageDocumentation
 */
// Env parsing is the client's, so a bad value reads the same whichever side rejects it.
export { envBool, envInt, envIntList, envOneOf, envString, envUrl } from '@multi-agent/nats-client';
export type { Env } from '@multi-agent/nats-client';
export * from './stable-id.js';
export * from './item-at.js';
export * from './template.js';
export * from './workflow/schema.js';
export * from './workflow/validate.js';
export * from './workflow/loader.js';
export * from './workflow/agents.js';
export * from './execution/state.js';
export * from './execution/limits.js';
export * from './failure.js';
export * from './claim-check.js';
export * from './execution/store.js';
export * from './execution/transitions.js';
export * from './execution/outbox.js';
export * from './execution/summary.js';
export * from './tool-call.js';
export * from './metrics.js';
export * from './ops-server.js';
export * from './run-service.js';
export * from './telemetry.js';
export * from './bus-access.js';
export * from './audit.js';
export * from './bus-permissions.js';
