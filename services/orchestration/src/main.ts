/** Process entry of the orchestration service (what `npm start` runs). */
import { defaultWorkflowsDir, envInt, envString, loadWorkflows, runService } from '@multi-agent/service-kit';
import { orchestrationDefaults, startOrchestration } from './orchestration.js';

await runService({
  name: 'orchestration',
  defaultHealthPort: 9101,
  start: async (client, env, logger) => {
    const dir = envString(env, 'WORKFLOWS_DIR', defaultWorkflowsDir());
    const workflows = await loadWorkflows(dir);
    logger.info({ dir, workflows: [...workflows.keys()] }, 'workflows loaded');
    return startOrchestration(client, {
      workflows,
      defaultNodeTimeoutMs: envInt(env, 'ORCHESTRATION_NODE_TIMEOUT_MS', orchestrationDefaults.defaultNodeTimeoutMs, 1),
      sweepIntervalMs: envInt(env, 'ORCHESTRATION_SWEEP_INTERVAL_MS', orchestrationDefaults.sweepIntervalMs, 10),
      outboxGraceMs: envInt(env, 'ORCHESTRATION_OUTBOX_GRACE_MS', orchestrationDefaults.outboxGraceMs, 0),
      startupGraceMs: envInt(env, 'ORCHESTRATION_STARTUP_GRACE_MS', orchestrationDefaults.startupGraceMs, 0),
      staleRequestMs: envInt(env, 'ORCHESTRATION_STALE_REQUEST_MS', orchestrationDefaults.staleRequestMs, 1),
      concurrency: envInt(env, 'ORCHESTRATION_CONCURRENCY', orchestrationDefaults.concurrency, 1, 1000),
    });
  },
});
