// Guide, "Using the NATS Client" 2. Publishing Events.
import { NatsClient, defaultNatsConfig } from '@multi-agent/nats-client';
import { EventSubjects } from '@multi-agent/events';

const natsClient = new NatsClient(defaultNatsConfig, 'my-service');
await natsClient.connect();

// --- guide ---
import { WorkflowExecutionRequestedEvent } from '@multi-agent/events';
import { v4 as uuidv4 } from 'uuid';

const event: WorkflowExecutionRequestedEvent = {
  eventId: uuidv4(),
  eventType: EventSubjects.WORKFLOW_EXECUTION_REQUESTED,
  timestamp: new Date(),
  version: '1.0',
  data: {
    workflowId: 'workflow-123',
    userId: 'user-456',
    executionId: 'execution-789',
    input: { key: 'value' },
  },
};

await natsClient.publish(event);
// --- guide ---

const stored = await natsClient.jetstream.jsm.streams.getMessage('EVENTS', {
  last_by_subj: EventSubjects.WORKFLOW_EXECUTION_REQUESTED,
});
console.log(`stored=${stored?.json<{ eventId: string }>().eventId === event.eventId}`);
await natsClient.close();
