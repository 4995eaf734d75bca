/**
 * Runs ONE side of a workload on its own and prints its rate and the client process's CPU time
 * per message (user + system; the nats-server process is not counted). With `--prof=FILE` it
 * also records a V8 CPU profile of exactly the measured section (not startup, not pre-filling)
 * through `node:inspector`, the same format `node --cpu-prof` writes.
 *
 *   npx tsx bench/profile.ts publish-ours [count]
 *   npx tsx bench/profile.ts consume-memory 50000 --prof=bench/results/consume-memory.cpuprofile
 *   npx tsx bench/profile-summary.ts bench/results/consume-memory.cpuprofile
 *
 * Scenarios: publish-ours, publish-raw, consume-none, consume-memory, consume-raw,
 * request-ours, request-raw. Pre-filling (for consume) is not part of the measured section.
 */
import type { NatsClient } from '@multi-agent/nats-client';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { windowed } from './harness.js';
import { eventData, eventSubject, openClient, rawEnvelope, withServer } from './fixtures.js';
import { drainOurs, drainRaw, prefill } from './workloads/consume.js';
import { WINDOW } from './workloads/publish.js';

type Scenario = (client: NatsClient, count: number, id: string) => Promise<{ setup?: () => Promise<void>; measured: () => Promise<void> }>;

const scenarios: Record<string, Scenario> = {
  'publish-ours': async (client, count, id) => ({
    measured: () => windowed(count, WINDOW, (i) => client.publish({ eventType: eventSubject(id, 'p'), data: eventData(i) })),
  }),
  'publish-raw': async (client, count, id) => {
    const { js } = client.jetstream;
    const subject = eventSubject(id, 'p');
    return {
      measured: () =>
        windowed(count, WINDOW, (i) => {
          const { id: msgID, body } = rawEnvelope(subject, eventData(i));
          return js.publish(subject, body, { msgID });
        }),
    };
  },
  'consume-none': async (client, count, id) => ({
    setup: () => prefill(client, eventSubject(id, 'c'), count),
    measured: async () => {
      await drainOurs(client, eventSubject(id, 'c'), `bench-${id}`, count, { idempotency: false });
    },
  }),
  'consume-memory': async (client, count, id) => ({
    setup: () => prefill(client, eventSubject(id, 'c'), count),
    measured: async () => {
      await drainOurs(client, eventSubject(id, 'c'), `bench-${id}`, count, {});
    },
  }),
  'consume-raw': async (client, count, id) => ({
    setup: () => prefill(client, eventSubject(id, 'c'), count),
    measured: async () => {
      await drainRaw(client, eventSubject(id, 'c'), `bench-${id}`, count);
    },
  }),
  'request-ours': async (client, count, id) => {
    const subject = `tool.execute.${id}.request`;
    await client.subscribe(subject, async () => ({ ok: true }), undefined, { concurrency: 64 });
    return { measured: () => windowed(count, 32, (i) => client.request(subject, { eventType: subject, data: eventData(i) })) };
  },
  'request-raw': async (client, count, id) => {
    const subject = `tool.execute.${id}.request`;
    const nc = client.natsConnection;
    nc.subscribe(subject, {
      callback: (err, msg) => {
        if (err === null) msg.respond(rawEnvelope(`${subject}.response`, { ok: true }).body);
      },
    });
    return {
      measured: () => windowed(count, 32, async (i) => (await nc.request(subject, rawEnvelope(subject, eventData(i)).body)).json<unknown>()),
    };
  },
};

async function startProfiler(): Promise<Session> {
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: 100 });
  await session.post('Profiler.start');
  return session;
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const profPath = args.find((a) => a.startsWith('--prof='))?.slice('--prof='.length);
  const [name = '', countArg] = args.filter((a) => !a.startsWith('--'));
  const scenario = scenarios[name];
  if (scenario === undefined) {
    console.error(`usage: tsx bench/profile.ts <${Object.keys(scenarios).join('|')}> [count] [--prof=FILE.cpuprofile]`);
    process.exit(2);
  }
  const count = Number(countArg ?? 100_000);
  await withServer(async (server) => {
    const client = await openClient(server);
    try {
      const run = await scenario(client, count, `b${randomBytes(4).toString('hex')}`);
      await run.setup?.();
      const profiling = profPath === undefined ? undefined : { path: profPath, session: await startProfiler() };
      const cpu = process.cpuUsage();
      const started = performance.now();
      await run.measured();
      const seconds = (performance.now() - started) / 1000;
      const used = process.cpuUsage(cpu);
      if (profiling !== undefined) {
        const { profile } = await profiling.session.post('Profiler.stop');
        writeFileSync(profiling.path, JSON.stringify(profile));
        profiling.session.disconnect();
        console.log(`wrote ${profiling.path}`);
      }
      const perMsg = (used.user + used.system) / count;
      console.log(`${name}: ${count} in ${seconds.toFixed(2)} s = ${(count / seconds).toFixed(0)}/s; client CPU ${perMsg.toFixed(1)} µs/msg (user ${(used.user / count).toFixed(1)}, system ${(used.system / count).toFixed(1)})`);
    } finally {
      await client.close();
    }
  });
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
