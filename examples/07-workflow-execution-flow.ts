// Guide, "Example: Workflow Execution Flow": gateway, orchestration and agent service as
// three clients in one process. The guide's steps run as written; the names it leaves free
// (workflowId, agentId, executeAgent...) are defined first.
import { NatsClient, defaultNatsConfig } from '@multi-agent/nats-client';
import { EventSubjects } from '@multi-agent/events';
import { v4 as uuidv4 } from 'uuid';
import { handled } from './support.js';

const workflowId = 'workflow-123';
const userId = 'user-456';
const executionId = uuidv4();
const agentId = 'researcher';
const nodeId = 'node-1';
const input = { topic: 'event buses' };
async function executeAgent(data: unknown): Promise<string> {
  return `researched ${JSON.stringify((data as { input: unknown }).input)}`;
}

const gateway = new NatsClient(defaultNatsConfig, 'gateway');
const orchestration = new NatsClient(defaultNatsConfig, 'orchestration');
const agentService = new NatsClient(defaultNatsConfig, 'agent');
await Promise.all([gateway.connect(), orchestration.connect(), agentService.connect()]);

{
  const natsClient = orchestration;
  // --- guide ---
  // 2. Orchestration service picks up and starts execution
  await natsClient.subscribe(
    EventSubjects.WORKFLOW_EXECUTION_REQUESTED,
    async (event) => {
      await natsClient.publish({
        eventType: EventSubjects.EXECUTION_STARTED,
        data: { executionId, workflowId, userId },
      });
      
      // Execute each node
      await natsClient.publish({
        eventType: EventSubjects.AGENT_EXECUTION_REQUESTED,
        data: { agentId, executionId, nodeId, input },
      });
    }
  );
  // --- guide ---
}

{
  const natsClient = agentService;
  // --- guide ---
  // 3. Agent service processes
  await natsClient.subscribe(
    EventSubjects.AGENT_EXECUTION_REQUESTED,
    async (event) => {
      const result = await executeAgent(event.data);
      
      await natsClient.publish({
        eventType: EventSubjects.AGENT_EXECUTION_COMPLETED,
        data: { agentId, executionId, nodeId, output: result },
      });
    }
  );
  // --- guide ---
}

{
  const natsClient = orchestration;
  // --- guide ---
  // 4. Orchestration service continues workflow
  await natsClient.subscribe(
    EventSubjects.AGENT_EXECUTION_COMPLETED,
    async (event) => {
      // Move to next node or complete execution
    }
  );
  // --- guide ---
}

{
  const natsClient = gateway;
  // --- guide ---
  // 1. Gateway receives request
  await natsClient.publish({
    eventType: EventSubjects.WORKFLOW_EXECUTION_REQUESTED,
    data: { workflowId, userId, executionId },
  });
  // --- guide ---
}

await handled(orchestration, EventSubjects.AGENT_EXECUTION_COMPLETED, 1);
const completed = await gateway.jetstream.jsm.streams.getMessage('EVENTS', {
  last_by_subj: EventSubjects.AGENT_EXECUTION_COMPLETED,
});
console.log(`completed output=${JSON.stringify(completed?.json<{ data: { output: string } }>().data.output)}`);
await Promise.all([gateway.close(), orchestration.close(), agentService.close()]);
