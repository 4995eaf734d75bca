/** What the gateway's routes share: the bus client, the workflows, the execution store, settings. */
import type { NatsClient } from '@multi-agent/nats-client';
import type { ExecutionStore, OutboxPublisher, WorkflowDefinition } from '@multi-agent/service-kit';

/** Dependencies and settings of the routes. */
export interface GatewayContext {
  client: NatsClient;
  workflows: Map<string, WorkflowDefinition>;
  store: ExecutionStore;
  /** Publishes the events a transition of the gateway decided (a cancellation). */
  outbox: OutboxPublisher;
  /** Most messages `GET /api/executions/:id/events` looks at. */
  eventScanLimit: number;
  /** Interval of SSE keep-alive comments (ms). */
  sseHeartbeatMs: number;
  /** Silence on a token stream after which the SSE answer checks whether the execution ended (ms). */
  tokenIdleMs: number;
}

/** JSON schema of an ID that becomes a subject token. */
export const idSchema = { type: 'string', pattern: '^[A-Za-z0-9_-]{1,128}$' } as const;
