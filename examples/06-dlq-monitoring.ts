// Guide, "Dead Letter Queue": Monitoring DLQ. A handler that always fails feeds the DLQ.
import { NatsClient, NonRetryableError, defaultNatsConfig } from '@multi-agent/nats-client';
import { handled } from './support.js';

const natsClient = new NatsClient(defaultNatsConfig, 'my-service');
await natsClient.connect();

// --- guide ---
// Subscribe to DLQ
await natsClient.subscribe('dlq.*', async (dlqEvent) => {
  console.error('Event failed:', dlqEvent);
  // Alert, log, or retry manually
});
// --- guide ---

await natsClient.subscribe(
  'vector.upserted',
  () => {
    throw new NonRetryableError('vector index is read-only');
  },
  'vector-indexer',
);
await natsClient.publish({ eventType: 'vector.upserted', data: { collection: 'docs', ids: ['d1'] } });
await handled(natsClient, 'dlq.*', 1);
const [record] = await natsClient.deadLetters.list('vector-indexer');
console.log(`dlq reason=${record?.record.reason} consumer=${record?.record.consumer}`);
await natsClient.close();
