/**
 * One token stream per execution (`model.token.stream.<executionId>`), shared by every model
 * call of that execution. Each token carries the id of the node whose inference produced it, so
 * readers show the nodes apart, and:
 * - inferences of different nodes stream at the same time (the branches of a fan-out overlap);
 *   the inferences of one node take turns, so a node's tokens read as one text after another;
 * - successive inferences of one node are separated by a blank line (with that node's id);
 * - the stream is completed once, when the execution ends, and nothing is streamed after that.
 * Calls without a node (a `model.inference.requested` outside a workflow) count as one node.
 */
import { subjects } from '@multi-agent/events';
import type { PublishStreamOptions } from '@multi-agent/nats-client';

/** Streamed between two inferences of one node (it is not part of either text). */
export const PARAGRAPH = '\n\n';

const MAX_TRACKED = 10_000;

/** Adds to a bounded map: the oldest entries go first (a Map iterates in insertion order). */
function remember<V>(map: Map<string, V>, key: string, value: V): V {
  const oldest = map.keys().next();
  if (map.size >= MAX_TRACKED && oldest.done !== true) map.delete(oldest.value);
  map.set(key, value);
  return value;
}

/** How the streams publish a token: `NatsClient.publishStream`. */
export type PublishToken = (subject: string, token: string, isComplete: boolean, options?: PublishStreamOptions) => Promise<void>;

/** Streams one token of an inference; resolves once it is on its way (or dropped, once the stream is complete). */
export type EmitToken = (token: string) => Promise<void>;

/** The token streams of the executions this service works for: whose turn, who streamed, which ended. */
export class ExecutionStreams {
  /** Per execution and node: the end of the last inference waiting or running. */
  private readonly turns = new Map<string, Promise<void>>();
  /** Per execution: the nodes that have streamed an inference already. */
  private readonly streamed = new Map<string, Set<string>>();
  private readonly closed = new Map<string, true>();

  /** @param publish - sends one token (the service's `client.publishStream`) */
  constructor(private readonly publish: PublishToken) {}

  /**
   * Runs one inference of `nodeId` in `executionId` once the node's earlier inferences are done;
   * `run` streams its tokens through the `emit` it is given.
   */
  async inference<T>(executionId: string, nodeId: string | undefined, run: (emit: EmitToken) => Promise<T>): Promise<T> {
    return this.inTurn(`${executionId}/${nodeId ?? ''}`, () => run(this.emitter(executionId, nodeId)));
  }

  /** Completes the execution's stream (an empty token with `isComplete`), once; later tokens are dropped. */
  async complete(executionId: string): Promise<void> {
    if (this.closed.has(executionId)) return;
    remember(this.closed, executionId, true);
    this.streamed.delete(executionId);
    await this.publish(subjects.tokenStream(executionId), '', true);
  }

  private emitter(executionId: string, nodeId: string | undefined): EmitToken {
    const subject = subjects.tokenStream(executionId);
    const options = nodeId === undefined ? {} : { nodeId };
    const node = nodeId ?? '';
    let first = true;
    // Each publish is called in the same tick as the closed check: the publisher numbers tokens
    // in call order, so no token of an inference lands after the completion token.
    const send = (token: string): Promise<void> => (this.closed.has(executionId) ? Promise.resolve() : this.publish(subject, token, false, options));
    return async (token) => {
      if (this.closed.has(executionId)) return;
      if (first) {
        first = false;
        const nodes = this.streamed.get(executionId) ?? remember(this.streamed, executionId, new Set<string>());
        if (nodes.has(node)) await send(PARAGRAPH);
        nodes.add(node);
      }
      await send(token);
    };
  }

  private async inTurn<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const previous = this.turns.get(key) ?? Promise.resolve();
    let release!: () => void;
    const mine = new Promise<void>((resolve) => (release = resolve));
    const tail = previous.then(() => mine);
    this.turns.set(key, tail);
    await previous;
    try {
      return await fn();
    } finally {
      release();
      if (this.turns.get(key) === tail) this.turns.delete(key);
    }
  }
}
