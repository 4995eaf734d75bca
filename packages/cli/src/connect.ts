/** The client the command uses: the environment's config, optionally another server, quiet logs. */
import { NatsClient, defaultNatsConfig, parseServers } from '@multi-agent/nats-client';
import { pino } from 'pino';

/**
 * Connects a client for a CLI command; the DLQ watcher stays off (the CLI only looks). For
 * `provisioning` the client leaves the streams to the `provision` command, which creates them.
 */
export async function connectCli(server: string | undefined, provisioning = false): Promise<NatsClient> {
  const client = new NatsClient(
    {
      ...defaultNatsConfig,
      ...(server === undefined ? {} : { servers: parseServers(server, '--server') }),
      ...(provisioning ? { provision: true } : {}),
      maxReconnectAttempts: 0,
    },
    'multi-agent-cli',
    // Logs go to stderr: stdout carries the command's output (--json must stay parseable).
    { logger: pino({ level: process.env.LOG_LEVEL ?? 'warn' }, pino.destination(2)), deadLetterWatcher: false, setUpStreams: !provisioning },
  );
  await client.connect();
  return client;
}
