// Guide, "Using the NATS Client" 3. Subscribing to Events.
import { NatsClient, defaultNatsConfig } from '@multi-agent/nats-client';
import { EventSubjects } from '@multi-agent/events';
import { handled } from './support.js';

const natsClient = new NatsClient(defaultNatsConfig, 'my-service');
await natsClient.connect();

// --- guide ---
import { ExecutionNodeCompletedEvent } from '@multi-agent/events';

// Subscribe to all execution node completed events
await natsClient.subscribe(
  EventSubjects.EXECUTION_NODE_COMPLETED,
  async (event: ExecutionNodeCompletedEvent) => {
    console.log('Node completed:', event.data.nodeId);
    // Process the event...
  },
  'my-service-node-completed-handler'
);

// Subscribe with wildcards
await natsClient.subscribe(
  'execution.node.*',
  async (event) => {
    // Handle all node events
  }
);
// --- guide ---

await natsClient.publish({
  eventType: EventSubjects.EXECUTION_NODE_COMPLETED,
  data: { executionId: 'execution-789', nodeId: 'node-1', output: { ok: true } },
});
await natsClient.publish({
  eventType: EventSubjects.EXECUTION_NODE_STARTED,
  data: { executionId: 'execution-789', nodeId: 'node-2' },
});
await handled(natsClient, EventSubjects.EXECUTION_NODE_COMPLETED, 1, 'my-service-node-completed-handler');
await handled(natsClient, 'execution.node.*', 2);
console.log('wildcard handled=2');
await natsClient.close();
