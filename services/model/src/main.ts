/** Process entry of the model service (what `npm start` runs). */
import { envInt, runService } from '@multi-agent/service-kit';
import { modelDefaults, startModelService } from './model-service.js';
import { providerFromEnv } from './providers/from-env.js';

await runService({
  name: 'model',
  defaultHealthPort: 9104,
  start: async (client, env, logger) => {
    const provider = providerFromEnv(env);
    logger.info({ provider: provider.name, model: provider.defaultModel }, 'model provider selected');
    return startModelService(client, { provider, concurrency: envInt(env, 'MODEL_CONCURRENCY', modelDefaults.concurrency, 1, 1000) });
  },
});
