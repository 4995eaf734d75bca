/**
 * Runs ONE side of a workload on its own and prints its rate and the CPU time per message
 * (user + system) of the client process and, read from /proc on Linux, of the nats-server. With `--prof=FILE` it
 * also records a V8 CPU profile of exactly the measured section (not startup, not pre-filling)
 * through `node:inspector`, the same format `node --cpu-prof` writes.
 *
 *   npx tsx bench/profile.ts publish-ours [count]
 *   npx tsx bench/profile.ts consume-memory 50000 --prof=bench/results/consume-memory.cpuprofile
 *   npx tsx bench/profile-summary.ts bench/results/consume-memory.cpuprofile
 *   npx tsx bench/profile.ts all [count]     # every path, ours beside raw, as a Markdown table
 *
 * Scenarios: publish-ours, publish-raw, consume-none, consume-memory, consume-kv, consume-redis,
 * consume-raw, request-ours, request-raw. Pre-filling (for consume) is not part of the measured
 * section. CPU time per message does not depend on what else the machine runs (the rate does).
 */
import type { NatsClient, NatsConfigInput } from '@multi-agent/nats-client';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { median, windowed } from './harness.js';
import { eventData, eventSubject, openClient, rawEnvelope, REDIS_URL, withServer } from './fixtures.js';
import { drainOurs, drainRaw, prefill } from './workloads/consume.js';
import { WINDOW } from './workloads/publish.js';

type Scenario = (client: NatsClient, count: number, id: string) => Promise<{ setup?: () => Promise<void>; measured: () => Promise<void> }>;

/** The client config of a scenario that needs more than the default (an idempotency store). */
const scenarioConfig: Record<string, NatsConfigInput> = {
  'consume-memory': { idempotency: { store: 'memory', maxEntries: 100_000 } },
  'consume-kv': { idempotency: { store: 'kv', maxEntries: 100_000 } },
  'consume-redis': { idempotency: { store: 'redis', redisUrl: REDIS_URL, maxEntries: 100_000 } },
};

/** `all`: each of our paths beside the raw code it is measured against in `npm run bench`. */
const PAIRS: [path: string, ours: string, raw: string][] = [
  ['publish, 256 in flight', 'publish-ours', 'publish-raw'],
  ['consume, idempotency off', 'consume-none', 'consume-raw'],
  ['consume, memory store', 'consume-memory', 'consume-raw'],
  ['consume, KV store', 'consume-kv', 'consume-raw'],
  ['consume, Redis store', 'consume-redis', 'consume-raw'],
  ['request/reply, 32 in flight', 'request-ours', 'request-raw'],
];

/** Our subscription with the client's idempotency store (the scenario's config picks it). */
const drainWithStore: Scenario = async (client, count, id) => ({
  setup: () => prefill(client, eventSubject(id, 'c'), count),
  measured: async () => {
    await drainOurs(client, eventSubject(id, 'c'), `bench-${id}`, count, {});
  },
});

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
  'consume-memory': drainWithStore,
  'consume-kv': drainWithStore,
  'consume-redis': drainWithStore,
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

/** What one measured run of a scenario cost the client process (and the nats-server process). */
interface Measurement {
  seconds: number;
  /** Client CPU (user + system) µs per message. */
  perMessage: number;
  user: number;
  system: number;
  /** nats-server CPU (user + system) µs per message; undefined where /proc is not there to read. */
  server: number | undefined;
}

const CLOCK_TICKS_PER_SECOND = ((): number => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/** CPU time (user + system, µs) a process used so far, from /proc (Linux); undefined elsewhere. */
function processCpuMicros(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name, which is in parentheses and may hold spaces: utime and stime are the 12th and 13th.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1_000_000) / CLOCK_TICKS_PER_SECOND;
  } catch {
    return undefined;
  }
}

/** Runs one scenario on a fresh server; `profPath` also records a CPU profile of the measured section. */
async function measure(name: string, scenario: Scenario, count: number, profPath?: string): Promise<Measurement> {
  return withServer(async (server) => {
    const client = await openClient(server, scenarioConfig[name] ?? {});
    try {
      const run = await scenario(client, count, `b${randomBytes(4).toString('hex')}`);
      await run.setup?.();
      const profiling = profPath === undefined ? undefined : { path: profPath, session: await startProfiler() };
      const serverBefore = processCpuMicros(server.pid);
      const cpu = process.cpuUsage();
      const started = performance.now();
      await run.measured();
      const seconds = (performance.now() - started) / 1000;
      const used = process.cpuUsage(cpu);
      const serverAfter = processCpuMicros(server.pid);
      const serverUsed = serverBefore === undefined || serverAfter === undefined ? undefined : (serverAfter - serverBefore) / count;
      if (profiling !== undefined) {
        const { profile } = await profiling.session.post('Profiler.stop');
        writeFileSync(profiling.path, JSON.stringify(profile));
        profiling.session.disconnect();
        console.log(`wrote ${profiling.path}`);
      }
      return { seconds, perMessage: (used.user + used.system) / count, user: used.user / count, system: used.system / count, server: serverUsed };
    } finally {
      await client.close();
    }
  });
}

function scenarioNamed(name: string): Scenario {
  const scenario = scenarios[name];
  if (scenario === undefined) {
    console.error(`usage: tsx bench/profile.ts <all|${Object.keys(scenarios).join('|')}> [count] [--prof=FILE.cpuprofile]`);
    process.exit(2);
  }
  return scenario;
}

/** Every pair, each side run once per round (alternating), reported as the median µs/msg. */
async function profileAll(count: number, rounds: number): Promise<void> {
  const results = new Map<string, number[]>();
  const serverResults = new Map<string, number[]>();
  const names = [...new Set(PAIRS.flatMap(([, ours, raw]) => [ours, raw]))];
  for (let round = 0; round < rounds; round++) {
    for (const name of round % 2 === 0 ? names : [...names].reverse()) {
      const { perMessage, server } = await measure(name, scenarioNamed(name), count);
      results.set(name, [...(results.get(name) ?? []), perMessage]);
      if (server !== undefined) serverResults.set(name, [...(serverResults.get(name) ?? []), server]);
      console.error(`round ${round + 1}/${rounds} ${name}: ${perMessage.toFixed(1)} µs/msg, nats-server ${server?.toFixed(1) ?? 'n/a'}`);
    }
  }
  const cpu = (name: string): number => median(results.get(name) ?? []);
  const serverCpu = (name: string): string => {
    const samples = serverResults.get(name) ?? [];
    return samples.length === 0 ? 'n/a' : median(samples).toFixed(1);
  };
  console.log(`CPU per message (user + system, µs), median of ${rounds} runs of ${count.toLocaleString('en-US')} messages each:\n`);
  console.log('| path | client, ours | client, raw | ours - raw | nats-server, ours | nats-server, raw |');
  console.log('| --- | ---: | ---: | ---: | ---: | ---: |');
  for (const [path, ours, raw] of PAIRS) {
    console.log(`| ${path} | ${cpu(ours).toFixed(1)} | ${cpu(raw).toFixed(1)} | ${(cpu(ours) - cpu(raw)).toFixed(1)} | ${serverCpu(ours)} | ${serverCpu(raw)} |`);
  }
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const profPath = args.find((a) => a.startsWith('--prof='))?.slice('--prof='.length);
  const [name = '', countArg] = args.filter((a) => !a.startsWith('--'));
  const count = Number(countArg ?? (name === 'all' ? 20_000 : 100_000));
  if (name === 'all') {
    await profileAll(count, 3);
    return;
  }
  const { seconds, perMessage, user, system, server } = await measure(name, scenarioNamed(name), count, profPath);
  console.log(
    `${name}: ${count} in ${seconds.toFixed(2)} s = ${(count / seconds).toFixed(0)}/s; client CPU ${perMessage.toFixed(1)} µs/msg (user ${user.toFixed(1)}, system ${system.toFixed(1)}); nats-server CPU ${server?.toFixed(1) ?? 'n/a'} µs/msg`,
  );
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
