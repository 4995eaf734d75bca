/**
 * One token stream per execution (`model.token.stream.<executionId>`), shared by every model
 * call of that execution. Two rules keep it readable and well-formed:
 * - the inferences of one execution stream one at a time (a parallel fan-out would otherwise
 *   interleave two texts word by word); executions still run in parallel with each other;
 * - the stream is completed once, when the execution ends, and nothing is streamed after that;
 * - successive inferences are separated by a blank line, so the stream reads as paragraphs.
 */

const MAX_TRACKED = 10_000;

/** Adds to a bounded set: the oldest entries go first (a Set iterates in insertion order). */
function remember(set: Set<string>, value: string): void {
  const oldest = set.values().next();
  if (set.size >= MAX_TRACKED && oldest.done !== true) set.delete(oldest.value);
  set.add(value);
}

/** Per-execution lock and closed flags. */
export class ExecutionStreams {
  private readonly tails = new Map<string, Promise<void>>();
  private readonly closed = new Set<string>();
  private readonly started = new Set<string>();

  /** Runs `fn` once every earlier `exclusive` call for the same execution has finished. */
  async exclusive<T>(executionId: string, fn: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(executionId) ?? Promise.resolve();
    let release!: () => void;
    const mine = new Promise<void>((resolve) => (release = resolve));
    const tail = previous.then(() => mine);
    this.tails.set(executionId, tail);
    await previous;
    try {
      return await fn();
    } finally {
      release();
      if (this.tails.get(executionId) === tail) this.tails.delete(executionId);
    }
  }

  /** Records that an inference streams into this execution; returns false for the first one. */
  markStreaming(executionId: string): boolean {
    if (this.started.has(executionId)) return true;
    remember(this.started, executionId);
    return false;
  }

  /** True once the execution's stream was completed. */
  isClosed(executionId: string): boolean {
    return this.closed.has(executionId);
  }

  /** Marks the stream completed; returns false when it already was. */
  close(executionId: string): boolean {
    if (this.closed.has(executionId)) return false;
    remember(this.closed, executionId);
    this.started.delete(executionId);
    return true;
  }
}
