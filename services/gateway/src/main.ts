/** Process entry of the gateway (what `npm start` runs). */
import { defaultWorkflowsDir, envInt, envString, loadWorkflows, runService } from '@multi-agent/service-kit';
import { gatewayAuthFromEnv } from './auth/config.js';
import { gatewayDefaults, startGateway } from './gateway.js';

await runService({
  name: 'gateway',
  // The gateway serves /healthz, /readyz and /metrics on its own port.
  defaultHealthPort: false,
  start: async (client, env, logger) => {
    const dir = envString(env, 'WORKFLOWS_DIR', defaultWorkflowsDir());
    const workflows = await loadWorkflows(dir);
    const gateway = await startGateway(client, {
      workflows,
      port: envInt(env, 'PORT', gatewayDefaults.port, 0, 65535),
      host: envString(env, 'HOST', gatewayDefaults.host),
      eventScanLimit: envInt(env, 'GATEWAY_EVENT_SCAN_LIMIT', gatewayDefaults.eventScanLimit, 1),
      tokenIdleMs: envInt(env, 'GATEWAY_TOKEN_IDLE_MS', gatewayDefaults.tokenIdleMs, 100),
      bodyLimitBytes: envInt(env, 'GATEWAY_BODY_LIMIT_BYTES', gatewayDefaults.bodyLimitBytes, 1024),
      auth: gatewayAuthFromEnv(env),
      rateLimitMax: envInt(env, 'GATEWAY_RATE_LIMIT_MAX', gatewayDefaults.rateLimitMax, 1),
      rateLimitWindowMs: envInt(env, 'GATEWAY_RATE_LIMIT_WINDOW_MS', gatewayDefaults.rateLimitWindowMs, 1000),
      maxStreamsPerIdentity: envInt(env, 'GATEWAY_MAX_STREAMS_PER_CALLER', gatewayDefaults.maxStreamsPerIdentity, 1),
    });
    logger.info({ url: gateway.url, workflows: [...workflows.keys()] }, `web console at ${gateway.url}`);
    return gateway;
  },
});
