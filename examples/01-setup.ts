// Guide, "Using the NATS Client" 1. Setup in Service.
// --- guide ---
import { NatsClient, defaultNatsConfig } from '@multi-agent/nats-client';
import { EventSubjects } from '@multi-agent/events';

// Initialize client
const natsClient = new NatsClient(defaultNatsConfig, 'my-service');

// Connect
await natsClient.connect();
// --- guide ---

console.log(`connected=${natsClient.isConnected} subjects=${Object.keys(EventSubjects).length}`);
await natsClient.close();
