// The set-up that `npm start` and `npm test` run first (`prestart`, `pretest`), so that on a
// machine with Node 20 and nothing else those two commands are the whole set-up:
//   1. install the workspace (`npm ci`) when node_modules is missing or older than the lock file;
//   2. find nats-server (NATS_SERVER_BIN, PATH, /usr/sbin), or install Debian's package when we
//      are root with apt-get; otherwise say in one line what to run;
//   3. before the tests, or when NATS_IDEMPOTENCY_STORE=redis: make Redis answer at REDIS_URL
//      (local only), installing and starting redis-server the same way.
// Plain JavaScript with Node's own modules only: it runs before anything is installed.
import { spawnSync } from 'node:child_process';
import { connect } from 'node:net';
import { accessSync, constants, existsSync, statSync } from 'node:fs';
import { delimiter, dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { URL, fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const say = (line) => console.log(`[setup] ${line}`);

function mtime(path) {
  return existsSync(path) ? statSync(path).mtimeMs : undefined;
}

/** npm writes node_modules/.package-lock.json on every install: older than the lock file means stale. */
function workspaceIsStale() {
  const installed = mtime(join(root, 'node_modules', '.package-lock.json'));
  const lock = mtime(join(root, 'package-lock.json'));
  return installed === undefined || (lock !== undefined && lock > installed);
}

function run(command, args) {
  const result = spawnSync(command, args, { cwd: root, stdio: 'inherit' });
  return result.status === 0;
}

function executable(path) {
  try {
    accessSync(path, constants.X_OK);
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

function findOnPath(name) {
  return (process.env.PATH ?? '').split(delimiter).filter(Boolean).map((dir) => join(dir, name)).find(executable);
}

function findBinary(name, envVariable) {
  const fromEnv = envVariable === undefined ? undefined : process.env[envVariable];
  if (fromEnv) return executable(fromEnv) ? fromEnv : undefined;
  return findOnPath(name) ?? [`/usr/sbin/${name}`, `/usr/bin/${name}`].find(executable);
}

const canInstallPackages = process.getuid?.() === 0 && findOnPath('apt-get') !== undefined;

/** Finds `binary`, installing Debian's `pkg` when we may; false (after one line of advice) when it stays missing. */
function ensureBinary(binary, pkg, envVariable, advice) {
  if (findBinary(binary, envVariable) !== undefined) return true;
  if (canInstallPackages) {
    say(`installing ${pkg} (apt-get install -y ${pkg})`);
    const installed = run('apt-get', ['install', '-y', pkg]) || (run('apt-get', ['update']) && run('apt-get', ['install', '-y', pkg]));
    if (installed && findBinary(binary, envVariable) !== undefined) return true;
  }
  say(advice);
  return false;
}

/** Resolves true when something answers Redis's PING on host:port. */
function redisAnswers(host, port) {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const done = (answer) => {
      socket.destroy();
      resolve(answer);
    };
    socket.setTimeout(1000, () => done(false));
    socket.on('error', () => done(false));
    socket.on('connect', () => socket.write('PING\r\n'));
    socket.on('data', (chunk) => done(chunk.toString().startsWith('+PONG')));
  });
}

async function ensureRedis() {
  const url = new URL(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
  const host = url.hostname === 'localhost' ? '127.0.0.1' : url.hostname;
  const port = Number(url.port || 6379);
  if (await redisAnswers(host, port)) return;
  if (host !== '127.0.0.1') {
    say(`no Redis answers at ${url.host}: start it there, or unset REDIS_URL`);
    return;
  }
  if (!ensureBinary('redis-server', 'redis-server', undefined, 'no Redis: run `sudo apt-get install -y redis-server` and start it, or set REDIS_URL')) return;
  say(`starting redis-server on 127.0.0.1:${port} (no persistence)`);
  run(findBinary('redis-server'), ['--daemonize', 'yes', '--bind', '127.0.0.1', '--port', String(port), '--save', '', '--appendonly', 'no']);
  for (let i = 0; i < 50 && !(await redisAnswers(host, port)); i++) await sleep(100);
}

if (workspaceIsStale()) {
  say('installing the workspace (npm ci)');
  if (!run('npm', ['ci', '--no-audit', '--no-fund'])) {
    say('npm ci failed: run it yourself and read its error');
    process.exit(1);
  }
}

// npm start can still use a server that answers at NATS_URL; the tests need the binary.
ensureBinary('nats-server', 'nats-server', 'NATS_SERVER_BIN', 'no nats-server found: run `sudo apt-get install -y nats-server`, or set NATS_SERVER_BIN to a nats-server binary');

if (process.env.npm_lifecycle_event === 'pretest' || process.env.NATS_IDEMPOTENCY_STORE === 'redis') await ensureRedis();
