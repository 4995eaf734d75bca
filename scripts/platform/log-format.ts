/**
 * Turns the services' pino JSON lines into short readable lines for the terminal, prefixed
 * with the service name (`[agent]`). Lines that are not JSON pass through unchanged.
 */

const LEVELS: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };
const COLORS = ['\x1b[36m', '\x1b[35m', '\x1b[33m', '\x1b[32m', '\x1b[34m', '\x1b[91m'];
const RESET = '\x1b[0m';
const SKIP = new Set(['level', 'time', 'pid', 'hostname', 'name', 'msg']);

function value(v: unknown): string {
  if (typeof v === 'string') return /\s/.test(v) ? JSON.stringify(v) : v;
  if (typeof v === 'object' && v !== null && 'message' in v && typeof v.message === 'string') return JSON.stringify(v.message);
  return JSON.stringify(v);
}

/** One log line, readable: `12:00:01 INFO  message key=value ...`. */
export function formatLogLine(line: string): string {
  if (!line.startsWith('{')) return line;
  let entry: Record<string, unknown>;
  try {
    entry = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return line;
  }
  const time = typeof entry.time === 'number' ? new Date(entry.time).toISOString().slice(11, 19) : '';
  const level = LEVELS[entry.level as number] ?? String(entry.level);
  const fields = Object.entries(entry)
    .filter(([k]) => !SKIP.has(k))
    .map(([k, v]) => `${k}=${value(v)}`)
    .join(' ');
  return `${time} ${level.padEnd(5)} ${typeof entry.msg === 'string' ? entry.msg : ''}${fields === '' ? '' : `  ${fields}`}`;
}

/** A prefixer for one source: `[name]` padded to `width`, coloured when `color`. */
export function prefixer(name: string, index: number, width: number, color: boolean): (line: string) => string {
  const label = `[${name}]`.padEnd(width + 2);
  const start = color ? (COLORS[index % COLORS.length] ?? '') : '';
  const end = color ? RESET : '';
  return (line) => `${start}${label}${end} ${formatLogLine(line)}`;
}
