/** Process entry of the tool service (what `npm start` runs). */
import { envInt, runService } from '@multi-agent/service-kit';
import { startToolService, toolDefaults } from './tool-service.js';

await runService({
  name: 'tool',
  defaultHealthPort: 9103,
  start: (client, env) => startToolService(client, { concurrency: envInt(env, 'TOOL_CONCURRENCY', toolDefaults.concurrency, 1, 1000) }),
});
