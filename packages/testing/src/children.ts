// Internal: every nats-server child and temp dir this package creates, so that none outlives
// the test process even when a test forgets stop().
import type { ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';

const live = new Set<ChildProcess>();
const dirs = new Set<string>();
let hooked = false;

function cleanupNow(): void {
  for (const child of live) {
    try {
      child.kill('SIGKILL');
    } catch {
      // already gone
    }
  }
  live.clear();
  for (const dir of dirs) {
    try {
      // The SIGKILLed server may still be dying and writing; retries cover ENOTEMPTY.
      rmSync(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 20 });
    } catch {
      // best effort at exit
    }
  }
  dirs.clear();
}

function onSignal(signal: NodeJS.Signals): void {
  cleanupNow();
  // We were added with `once`; if nobody else handles the signal, restore its default action
  // (terminate) by raising it again now that our listener is gone.
  if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
}

function hook(): void {
  if (hooked) return;
  hooked = true;
  process.once('exit', cleanupNow);
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
}

/** Tracks a running child until it exits; SIGKILLs it if this process exits first. */
export function trackChild(child: ChildProcess): void {
  hook();
  live.add(child);
  child.once('exit', () => live.delete(child));
}

/** Tracks a temp dir until {@link untrackDir}; removes it if this process exits first. */
export function trackDir(dir: string): void {
  hook();
  dirs.add(dir);
}

/** Stops tracking a temp dir (after removing it). */
export function untrackDir(dir: string): void {
  dirs.delete(dir);
}
