/**
 * Test support: a durable consumer that takes deliveries and never acks them, which is what a
 * service process dying inside its handler looks like to the server. After `maxDeliver`
 * deliveries the server gives up and emits the MAX_DELIVERIES advisory that the bus client's
 * advisory watcher turns into a DLQ record (reason `max-deliveries`).
 */
import type { NatsClient } from '@multi-agent/nats-client';
import { AckPolicy, DeliverPolicy } from '@nats-io/jetstream';

/** A consumer that never acks; `deliveries` counts what it was handed. */
export interface DyingConsumer {
  deliveries(): number;
  stop(): Promise<void>;
}

/** Creates the durable `name` on EVENTS for `subject`, recorded as run by `service`, from new messages on. */
export async function startDyingConsumer(
  client: NatsClient,
  options: { name: string; subject: string; service: string; maxDeliver: number; ackWaitMs: number },
): Promise<DyingConsumer> {
  const { js, jsm } = client.jetstream;
  await jsm.consumers.add('EVENTS', {
    durable_name: options.name,
    description: `service=${options.service}`,
    filter_subject: options.subject,
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.New,
    max_deliver: options.maxDeliver,
    ack_wait: options.ackWaitMs * 1_000_000,
  });
  const messages = await (await js.consumers.get('EVENTS', options.name)).consume();
  let count = 0;
  const draining = (async () => {
    for await (const _message of messages) count += 1;
  })();
  return {
    deliveries: () => count,
    stop: async () => {
      await messages.close();
      await draining;
    },
  };
}
