/** Process entry of the agent service (what `npm start` runs). */
import { envInt, runService } from '@multi-agent/service-kit';
import { startAgentService } from './agent-service.js';

await runService({
  name: 'agent',
  defaultHealthPort: 9102,
  start: (client, env) =>
    startAgentService(client, {
      concurrency: envInt(env, 'AGENT_CONCURRENCY', 8, 1, 1000),
      modelTimeoutMs: envInt(env, 'AGENT_MODEL_TIMEOUT_MS', 120_000, 1),
      toolTimeoutMs: envInt(env, 'AGENT_TOOL_TIMEOUT_MS', 10_000, 1),
    }),
});
