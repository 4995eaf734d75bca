/**
 * Summarises a V8 `.cpuprofile` (from `node --cpu-prof`): time by package (self), and the
 * hottest functions by self and by total (inclusive) time.
 *
 *   node --cpu-prof --cpu-prof-dir=bench/results/profiles --import tsx bench/run.ts --only=publish
 *   npx tsx bench/profile-summary.ts bench/results/profiles/CPU.*.cpuprofile [--top=25] [--focus=REGEX]
 *
 * `--focus=REGEX` keeps only samples whose stack has a function (name or file) matching REGEX,
 * e.g. `--focus=publisher.ts` for the time spent under our publish path.
 */
import { readFileSync } from 'node:fs';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
  columnNumber: number;
}

interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** The package (or runtime bucket) a frame belongs to. */
function packageOf(frame: CallFrame): string {
  const { url, functionName } = frame;
  if (url === '') return functionName.startsWith('(') ? functionName : '(native)';
  if (url.startsWith('node:')) return 'node';
  const pkg = /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url)?.[1];
  if (pkg !== undefined) return pkg;
  const ws = /\/(packages|services)\/([^/]+)\//.exec(url);
  if (ws !== null) return `${ws[1]}/${ws[2]}`;
  if (url.includes('/bench/')) return 'bench';
  return url;
}

function frameKey(frame: CallFrame): string {
  const file = frame.url.replace(/^.*\/(node_modules|packages|services|bench)\//, '$1/').replace(/^file:\/\//, '');
  return `${frame.functionName || '(anonymous)'}  ${file}:${frame.lineNumber + 1}:${frame.columnNumber + 1}`;
}

function table(title: string, entries: [string, number][], total: number, top: number): string {
  const lines = [title];
  for (const [key, us] of entries.sort((a, b) => b[1] - a[1]).slice(0, top)) {
    lines.push(`${(us / 1000).toFixed(0).padStart(8)} ms ${((100 * us) / total).toFixed(1).padStart(5)}%  ${key}`);
  }
  return lines.join('\n');
}

function summarise(path: string, top: number, focus: RegExp | undefined): string {
  const profile = JSON.parse(readFileSync(path, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const frameOf = (id: number): CallFrame => {
    const node = byId.get(id);
    if (node === undefined) throw new Error(`${path}: node ${id} is sampled or a parent but not in the profile's nodes`);
    return node.callFrame;
  };
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);

  const self = new Map<string, number>();
  const inclusive = new Map<string, number>();
  const packages = new Map<string, number>();
  let total = 0;
  profile.samples.forEach((id, i) => {
    const delta = profile.timeDeltas[i] ?? 0;
    const leaf = frameOf(id);
    const stack: CallFrame[] = [leaf];
    for (let cur = parent.get(id); cur !== undefined; cur = parent.get(cur)) stack.push(frameOf(cur));
    if (focus !== undefined && !stack.some((f) => focus.test(f.functionName) || focus.test(f.url))) return;
    total += delta;
    self.set(frameKey(leaf), (self.get(frameKey(leaf)) ?? 0) + delta);
    packages.set(packageOf(leaf), (packages.get(packageOf(leaf)) ?? 0) + delta);
    for (const key of new Set(stack.map(frameKey))) inclusive.set(key, (inclusive.get(key) ?? 0) + delta);
  });
  return [
    `${path}: ${(total / 1000).toFixed(0)} ms sampled${focus === undefined ? '' : ` under /${focus.source}/`}`,
    table('\nself time by package', [...packages], total, top),
    table('\nself time by function', [...self], total, top),
    table('\ntotal (inclusive) time by function', [...inclusive], total, top),
  ].join('\n');
}

const args = process.argv.slice(2);
const top = Number(args.find((a) => a.startsWith('--top='))?.slice(6) ?? 25);
const focusArg = args.find((a) => a.startsWith('--focus='))?.slice(8);
const files = args.filter((a) => !a.startsWith('--'));
if (files.length === 0) {
  console.error('usage: tsx bench/profile-summary.ts <file.cpuprofile>... [--top=25] [--focus=REGEX]');
  process.exit(2);
}
for (const file of files) console.log(`${summarise(file, top, focusArg === undefined ? undefined : new RegExp(focusArg))}\n`);
