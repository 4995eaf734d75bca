/**
 * A supervisor for worker processes in crash tests: restarts the worker each time it dies, like
 * systemd or Kubernetes would, until stopped.
 */
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ServiceProcess } from '@multi-agent/testing';

const support = fileURLToPath(new URL('./', import.meta.url));

export class Supervisor {
  /** Processes started so far (the first start included). */
  starts = 0;
  private current: ServiceProcess | undefined;
  private active = true;
  private readonly loop: Promise<void>;

  /**
   * @param name - worker label; each process is `<name>-<start number>` (its WORKER_NAME)
   * @param env - environment of {@link effect-worker.ts}
   */
  constructor(
    readonly name: string,
    private readonly env: Record<string, string>,
  ) {
    this.loop = this.run();
  }

  /** The process running now (undefined between a death and the restart). */
  get process(): ServiceProcess | undefined {
    return this.current?.running === true ? this.current : undefined;
  }

  private async run(): Promise<void> {
    while (this.active) {
      this.starts += 1;
      const label = `${this.name}-${this.starts}`;
      this.current = await ServiceProcess.start(join(support, 'effect-worker.ts'), {
        execArgv: ['--import', 'tsx'],
        env: { ...this.env, WORKER_NAME: label },
        name: label,
        debug: process.env.TEST_LOG !== undefined,
      });
      await this.current.exited;
    }
  }

  /** Stops restarting and stops the running process (SIGTERM, then SIGKILL). */
  async stop(): Promise<void> {
    this.active = false;
    await this.current?.stop();
    await this.loop;
  }
}
