// Guide, "Using the NATS Client" 4. Request/Reply Pattern.
import { NatsClient, defaultNatsConfig } from '@multi-agent/nats-client';
import { v4 as uuidv4 } from 'uuid';

const natsClient = new NatsClient(defaultNatsConfig, 'my-service');
await natsClient.connect();

/** The tool the guide's replier runs. */
async function executeTool(data: unknown): Promise<{ toolId: unknown; output: string }> {
  const { toolId } = data as { toolId: unknown };
  return { toolId, output: 'tool ran' };
}

// --- guide ---
// Service A: Reply to requests
await natsClient.subscribe(
  'tool.execute.request',
  async (request) => {
    // Process request
    const result = await executeTool(request.data);
    
    // Publish response
    await natsClient.publish({
      eventId: uuidv4(),
      eventType: 'tool.execute.response',
      timestamp: new Date(),
      version: '1.0',
      correlationId: request.eventId,
      data: { result },
    });
  }
);

// Service B: Make request
const response = await natsClient.request(
  'tool.execute.request',
  {
    eventId: uuidv4(),
    eventType: 'tool.execute.request',
    timestamp: new Date(),
    version: '1.0',
    data: { toolId: 'tool-123', params: {} },
  },
  5000 // timeout
);
// --- guide ---

console.log(`response=${JSON.stringify(response.data)}`);
await natsClient.close();
