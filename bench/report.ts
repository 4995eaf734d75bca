/**
 * Reporting: the Markdown table (stdout and RESULTS.md), the JSON record, and an SVG chart of
 * the ratios drawn by hand (no chart library).
 */
import { formatNumber } from './harness.js';
import type { ResultRow, Target } from './harness.js';

/** Where and how a run happened. */
export interface RunMeta {
  date: string;
  mode: 'quick' | 'full';
  workloads: string[];
  durationSeconds: number;
  commit: string;
  node: string;
  natsServer: string;
  redis: string;
  cpu: string;
  cores: number;
  memoryGb: number;
  os: string;
  /** 1-minute load average when the run started and ended (other work on the machine shows here). */
  loadStart: number;
  loadEnd: number;
  env: Record<string, string>;
}

export interface RunReport {
  meta: RunMeta;
  rows: ResultRow[];
}

function targetText(target: Target | undefined): string {
  if (target === undefined) return '';
  return 'min' in target ? `≥ ${target.min.toFixed(2)}×` : `≤ ${target.max.toFixed(2)}×`;
}

function valueText(value: number, unit: string): string {
  return `${formatNumber(value)} ${unit}`;
}

const VERDICT_TEXT = { PASS: 'PASS', MISS: '**MISS**', UNSURE: '*UNSURE*', info: '–' } as const;

/** ` [low–high] n=rounds` of a comparison row. */
function intervalText(row: ResultRow): string {
  if (row.interval === undefined || row.roundRatios === undefined) return '';
  return ` [${row.interval.low.toFixed(2)}–${row.interval.high.toFixed(2)}] n=${row.roundRatios.length}`;
}

function escapeCell(text: string): string {
  return text.replace(/\|/g, '\\|');
}

/** The result table in GitHub Markdown, then the notes of rows that have one. */
export function markdownTable(rows: ResultRow[]): string {
  const lines = [
    '| Workload | Metric | Ours | Baseline | Ours / baseline | Target | Result |',
    '| --- | --- | --- | --- | ---: | ---: | :---: |',
  ];
  const notes: string[] = [];
  for (const row of rows) {
    const ours = `${valueText(row.ours.median, row.unit)} (${row.ours.label})`;
    const base = row.baseline === undefined ? '' : `${valueText(row.baseline.median, row.unit)} (${row.baseline.label})`;
    const ratio = row.ratio === undefined ? '' : `${row.ratio.toFixed(2)}× ${row.better === 'higher' ? '↑' : '↓'}${intervalText(row)}`;
    let result = VERDICT_TEXT[row.verdict];
    if (row.note !== undefined) {
      if (!notes.includes(row.note)) notes.push(row.note);
      result += ` [${notes.indexOf(row.note) + 1}]`;
    }
    lines.push(
      `| ${[row.workload, row.metric, ours, base, ratio, targetText(row.target), result].map(escapeCell).join(' | ')} |`,
    );
  }
  lines.push(
    '',
    '↑ higher is better, ↓ lower is better (latency, memory). Ours and baseline: medians over the recorded rounds.',
    'Ours / baseline: the median of the per-round ratios (both sides run back to back in each round), its bootstrap',
    '90% interval in brackets, and the number of rounds. PASS: the whole interval meets the target; MISS: none of it',
    'does; UNSURE: the interval straddles the target.',
  );
  if (notes.length > 0) lines.push('', ...notes.map((n, i) => `[${i + 1}] ${n}`));
  return lines.join('\n');
}

/** The machine and run note printed above the table. */
export function machineNote(meta: RunMeta): string {
  const env = Object.entries(meta.env).map(([k, v]) => `${k}=${v}`);
  return [
    `${meta.mode} run, ${meta.date}, ${meta.durationSeconds.toFixed(0)} s, commit ${meta.commit}`,
    `${meta.cores} × ${meta.cpu}, ${meta.memoryGb.toFixed(0)} GB, ${meta.os}; Node ${meta.node}; nats-server ${meta.natsServer}; Redis ${meta.redis}`,
    `1-minute load average ${meta.loadStart.toFixed(2)} at start, ${meta.loadEnd.toFixed(2)} at end${env.length > 0 ? `; ${env.join(' ')}` : ''}`,
  ].join('\n');
}

// ---------------------------------------------------------------------------------------------
// SVG

const COLORS = { PASS: '#2e7d32', MISS: '#c62828', UNSURE: '#e08a00', info: '#5c7a99' } as const;

function esc(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

/** A row the chart draws a bar for: one with a finite, positive ratio. */
type ChartedRow = ResultRow & { ratio: number };

function isCharted(row: ResultRow): row is ChartedRow {
  return row.ratio !== undefined && Number.isFinite(row.ratio) && row.ratio > 0;
}

/** Speed relative to the baseline, higher is better for every row: the ratio, inverted for lower-is-better rows. */
function relative(row: ChartedRow): number {
  return row.better === 'higher' ? row.ratio : 1 / row.ratio;
}

/** The target as a floor on {@link relative}. */
function relativeTarget(row: ResultRow): number | undefined {
  if (row.target === undefined) return undefined;
  return 'min' in row.target ? row.target.min : 1 / row.target.max;
}

const TICKS = [0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100];

/**
 * A horizontal bar per comparison on a log scale centred on parity (1 = as fast as the
 * baseline): bars to the left are slower than the baseline, to the right faster. Latency rows
 * are inverted (baseline ÷ ours) so "right is better" holds for every bar. Targets are ticks.
 */
export function ratioChart(report: RunReport): string {
  const rows = report.rows.filter(isCharted);
  const others = report.rows.filter((r) => !isCharted(r));
  const width = 960;
  const labelWidth = 430;
  const chartLeft = labelWidth + 10;
  const chartRight = width - 150;
  const top = 78;
  const rowHeight = 38;
  const footer = 44 + others.length * 16;
  const height = top + rows.length * rowHeight + footer;

  const values = rows.flatMap((r) => [relative(r), relativeTarget(r) ?? 1, 1]);
  const lo = Math.min(...values, 0.5) / 1.15;
  const hi = Math.max(...values, 2) * 1.15;
  const x = (v: number): number => chartLeft + ((Math.log(v) - Math.log(lo)) / (Math.log(hi) - Math.log(lo))) * (chartRight - chartLeft);

  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="Helvetica, Arial, sans-serif" font-size="12">`,
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
    `<text x="16" y="24" font-size="16" font-weight="bold">Event bus client vs baselines: ours ÷ baseline (median of per-round ratios)</text>`,
    `<text x="16" y="44" fill="#555">${esc(`${report.meta.mode} run ${report.meta.date}, ${report.meta.cores} cores, nats-server ${report.meta.natsServer}, commit ${report.meta.commit}`)}</text>`,
    `<text x="16" y="62" fill="#555">Log scale; right of 1 = faster than the baseline. Latency rows are inverted (baseline ÷ ours). Black tick = target; thin line = 90% interval.</text>`,
  );
  for (const t of TICKS.filter((t) => t >= lo && t <= hi)) {
    const tx = x(t);
    out.push(
      `<line x1="${tx.toFixed(1)}" y1="${top - 6}" x2="${tx.toFixed(1)}" y2="${top + rows.length * rowHeight}" stroke="${t === 1 ? '#222' : '#ddd'}" stroke-width="${t === 1 ? 1.5 : 1}"/>`,
      `<text x="${tx.toFixed(1)}" y="${top + rows.length * rowHeight + 14}" text-anchor="middle" fill="#555">${t}</text>`,
    );
  }
  rows.forEach((row, i) => {
    const y = top + i * rowHeight;
    const rel = relative(row);
    const color = COLORS[row.verdict];
    const x1 = x(Math.min(1, rel));
    const x2 = x(Math.max(1, rel));
    const baseline = row.baseline;
    if (baseline === undefined) throw new Error(`row "${row.workload}: ${row.metric}" has a ratio but no baseline`);
    out.push(
      `<text x="16" y="${y + 15}" font-weight="bold">${esc(clip(`${row.workload}: ${row.metric}`, 68))}</text>`,
      `<text x="16" y="${y + 30}" fill="#555" font-size="11">${esc(clip(`${row.ours.label} vs ${baseline.label}`, 80))}</text>`,
      `<rect x="${x1.toFixed(1)}" y="${y + 8}" width="${Math.max(1, x2 - x1).toFixed(1)}" height="20" fill="${color}" opacity="0.85"><title>${esc(`${row.workload} ${row.metric}: ${row.ratio.toFixed(3)}× (${row.verdict})`)}</title></rect>`,
    );
    if (row.interval !== undefined) {
      const [a, b] = [row.interval.low, row.interval.high].map((v) => x(row.better === 'higher' ? v : 1 / v)) as [number, number];
      out.push(`<line x1="${Math.min(a, b).toFixed(1)}" y1="${y + 18}" x2="${Math.max(a, b).toFixed(1)}" y2="${y + 18}" stroke="#222" stroke-width="1.5"/>`);
    }
    const target = relativeTarget(row);
    if (target !== undefined) {
      const tx = x(target).toFixed(1);
      out.push(`<line x1="${tx}" y1="${y + 4}" x2="${tx}" y2="${y + 32}" stroke="#000" stroke-width="2.5"/>`);
    }
    const label = row.better === 'higher' ? `${rel.toFixed(2)}×` : `${rel.toFixed(2)}× (lat ${row.ratio.toFixed(2)}×)`;
    out.push(
      `<text x="${chartRight + 6}" y="${y + 22}" fill="${color}" font-weight="bold">${esc(label)}${row.verdict === 'info' ? '' : ` ${row.verdict}`}</text>`,
    );
  });
  let fy = top + rows.length * rowHeight + 34;
  for (const row of others) {
    out.push(
      `<text x="16" y="${fy}" fill="${COLORS[row.verdict]}">${esc(`${row.workload}: ${row.metric}: ${formatNumber(row.ours.median)} ${row.unit}${row.verdict === 'info' ? '' : ` — ${row.verdict}`}`)}</text>`,
    );
    fy += 16;
  }
  const legendX = width - 300;
  (['PASS', 'MISS', 'UNSURE', 'info'] as const).forEach((v, i) => {
    out.push(
      `<rect x="${legendX + i * 75}" y="${height - 20}" width="12" height="12" fill="${COLORS[v]}"/>`,
      `<text x="${legendX + i * 75 + 17}" y="${height - 10}">${v === 'info' ? 'no target' : v}</text>`,
    );
  });
  out.push('</svg>');
  return out.join('\n');
}
