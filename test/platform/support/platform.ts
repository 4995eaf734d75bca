/**
 * Test support: the platform services in this process, each on its own bus client, against a
 * real nats-server from `@multi-agent/testing`. Used by the services' tests; never by `src`.
 */
import { randomUUID } from 'node:crypto';
import { EventSubjects } from '@multi-agent/events';
import type { DomainEvent } from '@multi-agent/events';
import { NatsClient } from '@multi-agent/nats-client';
import type { NatsConfigInput } from '@multi-agent/nats-client';
import { ExecutionStore } from '@multi-agent/service-kit';
import type { ExecutionState, StopService, WorkflowDefinition } from '@multi-agent/service-kit';
import { pino } from 'pino';
import { waitFor as pollUntil } from '@multi-agent/testing';

/** Quiet unless TEST_LOG=debug (or info, warn...). */
export const testLogger = pino({ level: process.env.TEST_LOG ?? 'silent' });

/** A connected client named `service`, with short retries and the KV idempotency store. */
export async function connectService(url: string, service: string, config: NatsConfigInput = {}): Promise<NatsClient> {
  const client = new NatsClient(
    { servers: [url], retryBackoffMs: [100], idempotency: { store: 'kv', ttlMs: 60 * 60 * 1000, maxEntries: 100_000 }, ...config },
    service,
    { logger: testLogger.child({ service }), stopTimeoutMs: 3000 },
  );
  await client.connect();
  return client;
}

/** Polls `check` until it returns a truthy value (15 s default: services take a moment to start). */
export function waitFor<T>(check: () => T | Promise<T>, timeoutMs = 15_000, what = 'condition'): Promise<NonNullable<T>> {
  return pollUntil(check, timeoutMs, what);
}

/** Something started that must be stopped. */
export type Stoppable = StopService;

/** Collects stop functions and runs them in reverse order. */
export class Cleanup {
  private readonly stops: Stoppable[] = [];

  add(stop: Stoppable): void {
    this.stops.push(stop);
  }

  async run(): Promise<void> {
    for (const stop of this.stops.splice(0).reverse()) {
      await stop().catch((err: unknown) => testLogger.warn({ err }, 'cleanup step failed'));
    }
  }
}

/** A minimal workflow map for tests. */
export function workflowMap(...workflows: WorkflowDefinition[]): Map<string, WorkflowDefinition> {
  return new Map(workflows.map((w) => [w.id, w]));
}

/** Publishes `workflow.execution.requested` directly (no gateway) and returns the executionId. */
export async function requestExecution(
  client: NatsClient,
  workflowId: string,
  input: Record<string, unknown> = {},
  executionId = randomUUID(),
): Promise<string> {
  await client.publish({
    eventType: EventSubjects.WORKFLOW_EXECUTION_REQUESTED,
    correlationId: executionId,
    data: { workflowId, userId: 'test-user', executionId, input },
  });
  return executionId;
}

/** Waits until the execution reaches `completed` or `failed` and returns its state. */
export async function waitForEnd(store: ExecutionStore, executionId: string, timeoutMs = 30_000): Promise<ExecutionState> {
  return waitFor(
    async () => {
      const stored = await store.get(executionId);
      return stored !== undefined && (stored.state.status === 'completed' || stored.state.status === 'failed') && stored.state.outbox.length === 0
        ? stored.state
        : undefined;
    },
    timeoutMs,
    `execution ${executionId} to end`,
  );
}

/** Every stored event of an execution (by correlationId), in stream order. */
export async function executionEvents(client: NatsClient, correlationId: string): Promise<DomainEvent[]> {
  const events: DomainEvent[] = [];
  for await (const { event } of client.readEvents({ correlationId })) events.push(event);
  return events;
}

/** The events of one type (and node, when given). */
export function eventsOfType(events: DomainEvent[], type: string, nodeId?: string): DomainEvent[] {
  return events.filter((e) => e.eventType === type && (nodeId === undefined || (e.data as { nodeId?: string }).nodeId === nodeId));
}

/** Opens the EXECUTIONS store on `client`. */
export function openStore(client: NatsClient): Promise<ExecutionStore> {
  return ExecutionStore.open(client.jetstream.js);
}
