/**
 * `npm run bench [-- --quick] [-- --only=publish,consume] [-- --record]`
 *
 * Runs each workload (ours against its baseline, alternating rounds, on a fresh nats-server per
 * workload), prints the Markdown result table on stdout (progress goes to stderr), and writes
 * `bench/results/<stamp>-<mode>.{json,svg,md}`. `--record` also rewrites the checked-in sample
 * `bench/RESULTS.md` and `bench/RESULTS.svg`.
 */
import { natsServerBinary } from '@multi-agent/testing';
import { Redis } from 'ioredis';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, release, totalmem, type as osType } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { REDIS_URL } from './fixtures.js';
import type { BenchContext, ResultRow } from './harness.js';
import { machineNote, markdownTable, ratioChart } from './report.js';
import type { RunMeta, RunReport } from './report.js';
import { bullmqWorkload } from './workloads/bullmq.js';
import { consumeWorkload } from './workloads/consume.js';
import { latencyWorkload } from './workloads/latency.js';
import { memoryEventCount, memoryWorkload } from './workloads/memory.js';
import { publishWorkload } from './workloads/publish.js';
import { requestWorkload } from './workloads/request.js';
import { tokensWorkload } from './workloads/tokens.js';

interface Workload {
  id: string;
  run(ctx: BenchContext): Promise<ResultRow[]>;
  /** Skipped by `--quick`. */
  fullOnly?: boolean;
}

const WORKLOADS: Workload[] = [
  { id: 'publish', run: publishWorkload },
  { id: 'consume', run: consumeWorkload },
  { id: 'latency', run: latencyWorkload },
  { id: 'tokens', run: tokensWorkload },
  { id: 'request', run: requestWorkload },
  { id: 'bullmq', run: bullmqWorkload },
  { id: 'memory', run: memoryWorkload, fullOnly: true },
];

const USAGE = `usage: npm run bench [-- --quick] [-- --only=${WORKLOADS.map((w) => w.id).join(',')}] [-- --record]
  --quick    small counts, few rounds, no 1M memory run (~20-30 s)
  --only     run only these workloads (comma-separated)
  --record   also rewrite bench/RESULTS.md and bench/RESULTS.svg (the checked-in sample)
env: BENCH_MEMORY_EVENTS (default 1000000), BENCH_REDIS_URL (default redis://127.0.0.1:6379)`;

interface Args {
  quick: boolean;
  only?: string[];
  record: boolean;
}

function parseArgs(argv: string[]): Args {
  const args: Args = { quick: false, record: false };
  for (const arg of argv) {
    if (arg === '--quick') args.quick = true;
    else if (arg === '--record') args.record = true;
    else if (arg.startsWith('--only=')) args.only = arg.slice('--only='.length).split(',').filter(Boolean);
    else if (arg === '--help' || arg === '-h') {
      console.log(USAGE);
      process.exit(0);
    } else {
      console.error(`unknown argument ${arg}\n${USAGE}`);
      process.exit(2);
    }
  }
  const unknown = args.only?.filter((id) => !WORKLOADS.some((w) => w.id === id)) ?? [];
  if (unknown.length > 0) {
    console.error(`unknown workload ${unknown.join(', ')}\n${USAGE}`);
    process.exit(2);
  }
  return args;
}

function tryRun(cmd: string, args: string[]): string {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return 'unknown';
  }
}

async function redisVersion(): Promise<string> {
  const redis = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1, retryStrategy: () => null });
  try {
    await redis.connect();
    const info = await redis.info('server');
    return /redis_version:(\S+)/.exec(info)?.[1] ?? 'unknown';
  } catch (err) {
    throw new Error(`Redis at ${REDIS_URL} does not answer (needed by the consume and bullmq workloads; set BENCH_REDIS_URL): ${String(err)}`);
  } finally {
    redis.disconnect();
  }
}

/** The 1-minute load average; `os.loadavg()` always has three entries (zeros where the OS has none). */
function loadAverage1m(): number {
  const [oneMinute] = loadavg();
  if (oneMinute === undefined) throw new Error('os.loadavg() returned no 1-minute load average');
  return oneMinute;
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const benchDir = dirname(fileURLToPath(import.meta.url));
  const selected = WORKLOADS.filter((w) => (args.only === undefined || args.only.includes(w.id)) && !(args.quick && w.fullOnly));
  const needsRedis = selected.some((w) => w.id === 'consume' || w.id === 'bullmq');
  const dirty = tryRun('git', ['-C', benchDir, 'status', '--porcelain']) !== '';
  const env: Record<string, string> = {};
  if (selected.some((w) => w.id === 'memory')) env.BENCH_MEMORY_EVENTS = String(memoryEventCount());
  const meta: RunMeta = {
    date: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
    mode: args.quick ? 'quick' : 'full',
    workloads: selected.map((w) => w.id),
    durationSeconds: 0,
    commit: `${tryRun('git', ['-C', benchDir, 'rev-parse', '--short', 'HEAD'])}${dirty ? '+changes' : ''}`,
    node: process.version,
    natsServer: tryRun(natsServerBinary(), ['--version']).replace(/^nats-server:\s*v?/, ''),
    redis: needsRedis ? await redisVersion() : 'not used',
    cpu: cpus()[0]?.model.trim() ?? 'unknown',
    cores: cpus().length,
    memoryGb: totalmem() / 1024 ** 3,
    os: `${osType()} ${release()}`,
    loadStart: loadAverage1m(),
    loadEnd: 0,
    env,
  };
  const ctx: BenchContext = {
    quick: args.quick,
    runId: `b${randomBytes(4).toString('hex')}`,
    log: (message) => process.stderr.write(`${message}\n`),
  };
  ctx.log(`bench ${meta.mode} run ${ctx.runId}: ${meta.workloads.join(', ')}`);

  const started = performance.now();
  const rows: ResultRow[] = [];
  for (const workload of selected) {
    const t0 = performance.now();
    rows.push(...(await workload.run(ctx)));
    ctx.log(`  ${workload.id} took ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  }
  meta.durationSeconds = (performance.now() - started) / 1000;
  meta.loadEnd = loadAverage1m();

  const report: RunReport = { meta, rows };
  const note = machineNote(meta);
  const table = markdownTable(rows);
  const markdown = `${note.split('\n').map((l) => `${l}  `).join('\n')}\n\n${table}\n`;
  console.log(`\n${markdown}`);

  const resultsDir = join(benchDir, 'results');
  mkdirSync(resultsDir, { recursive: true });
  const stamp = `${meta.date.replace(/[:]/g, '').replace(/Z$/, '')}-${meta.mode}`;
  const svg = ratioChart(report);
  const outputs: [name: string, content: string][] = [
    [`${stamp}.json`, `${JSON.stringify(report, null, 2)}\n`],
    [`${stamp}.svg`, svg],
    [`${stamp}.md`, markdown],
  ];
  const written = outputs.map(([name, content]) => {
    const path = join(resultsDir, name);
    writeFileSync(path, content);
    return path;
  });
  if (args.record) {
    writeFileSync(join(benchDir, 'RESULTS.svg'), svg);
    writeFileSync(join(benchDir, 'RESULTS.md'), recordedResults(markdown));
    written.push(join(benchDir, 'RESULTS.md'), join(benchDir, 'RESULTS.svg'));
  }
  ctx.log(`wrote ${written.map((p) => relative(process.cwd(), p)).join(', ')}`);
}

/** The checked-in sample: the table of a full run, its machine note, and the chart. */
function recordedResults(markdown: string): string {
  return [
    '# Benchmark results (sample)',
    '',
    'A recorded run of `npm run bench -- --record` (see [README.md](README.md) for how to run and read it).',
    'Numbers from a 2-core machine: compare the ratios, not the absolute rates. The bracket after each',
    'ratio is its 90% interval over the rounds; where it is wide, one run cannot settle the target.',
    '',
    '![ratios](RESULTS.svg)',
    '',
    markdown,
  ].join('\n');
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
