/** Process entry of the agent service (what `npm start` runs). */
import { defaultWorkflowsDir, envInt, envString, loadWorkflows, runService } from '@multi-agent/service-kit';
import { agentDefaults, startAgentService } from './agent-service.js';

await runService({
  name: 'agent',
  defaultHealthPort: 9102,
  start: async (client, env, logger) => {
    // The agents it runs are the ones the workflow files define: the same files as the orchestration's.
    const dir = envString(env, 'WORKFLOWS_DIR', defaultWorkflowsDir());
    const workflows = await loadWorkflows(dir);
    logger.info({ dir, workflows: [...workflows.keys()] }, 'workflows loaded');
    return startAgentService(client, {
      workflows,
      concurrency: envInt(env, 'AGENT_CONCURRENCY', agentDefaults.concurrency, 1, 1000),
      modelTimeoutMs: envInt(env, 'AGENT_MODEL_TIMEOUT_MS', agentDefaults.modelTimeoutMs, 1),
      toolTimeoutMs: envInt(env, 'AGENT_TOOL_TIMEOUT_MS', agentDefaults.toolTimeoutMs, 1),
      maxSteps: envInt(env, 'AGENT_MAX_STEPS', agentDefaults.maxSteps, 1, 100),
    });
  },
});
