/** What the examples need beyond the guide's code: waiting until a subscription has handled its events. */
import type { NatsClient } from '@multi-agent/nats-client';
import { deriveDurableName } from '@multi-agent/nats-client';

/**
 * Resolves once the durable consumer of `subject` (named `durableName`, or derived from the
 * service) has acked `count` events. Polls the consumer state on the server.
 */
export async function handled(client: NatsClient, subject: string, count: number, durableName?: string): Promise<void> {
  const name = durableName ?? deriveDurableName(client.serviceName, subject);
  const stream = subject.startsWith('dlq.') ? 'DLQ' : 'EVENTS';
  const deadline = Date.now() + 15_000;
  for (;;) {
    const info = await client.jetstream.jsm.consumers.info(stream, name);
    if (info.ack_floor.consumer_seq >= count && info.num_ack_pending === 0) return;
    if (Date.now() > deadline) throw new Error(`${name} acked ${info.ack_floor.consumer_seq}/${count} events in time`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}
