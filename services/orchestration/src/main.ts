/** Process entry of the orchestration service (what `npm start` runs). */
import { defaultWorkflowsDir, envInt, envString, loadWorkflows, runService } from '@multi-agent/service-kit';
import { startOrchestration } from './orchestration.js';

await runService({
  name: 'orchestration',
  defaultHealthPort: 9101,
  start: async (client, env, logger) => {
    const dir = envString(env, 'WORKFLOWS_DIR', defaultWorkflowsDir());
    const workflows = await loadWorkflows(dir);
    logger.info({ dir, workflows: [...workflows.keys()] }, 'workflows loaded');
    return startOrchestration(client, {
      workflows,
      defaultNodeTimeoutMs: envInt(env, 'ORCHESTRATION_NODE_TIMEOUT_MS', 120_000, 1),
      sweepIntervalMs: envInt(env, 'ORCHESTRATION_SWEEP_INTERVAL_MS', 1000, 10),
      outboxGraceMs: envInt(env, 'ORCHESTRATION_OUTBOX_GRACE_MS', 3000, 0),
      startupGraceMs: envInt(env, 'ORCHESTRATION_STARTUP_GRACE_MS', 2000, 0),
      staleRequestMs: envInt(env, 'ORCHESTRATION_STALE_REQUEST_MS', 15 * 60_000, 1),
      concurrency: envInt(env, 'ORCHESTRATION_CONCURRENCY', 16, 1, 1000),
    });
  },
});
