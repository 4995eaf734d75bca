/** Process entry of the agent service (what `npm start` runs). */
import { envInt, runService } from '@multi-agent/service-kit';
import { agentDefaults, startAgentService } from './agent-service.js';

await runService({
  name: 'agent',
  defaultHealthPort: 9102,
  start: (client, env) =>
    startAgentService(client, {
      concurrency: envInt(env, 'AGENT_CONCURRENCY', agentDefaults.concurrency, 1, 1000),
      modelTimeoutMs: envInt(env, 'AGENT_MODEL_TIMEOUT_MS', agentDefaults.modelTimeoutMs, 1),
      toolTimeoutMs: envInt(env, 'AGENT_TOOL_TIMEOUT_MS', agentDefaults.toolTimeoutMs, 1),
    }),
});
