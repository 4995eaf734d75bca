/** `multi-agent trace <correlationId>`: one flow as a causation tree. */
import type { NatsClient } from '@multi-agent/nats-client';
import type { Io } from '../output.js';
import { causationTree, readFlow, renderTree } from '../trace.js';

/** Prints the flow's causation tree; exit code 1 when no event has that id. */
export async function traceCommand(client: NatsClient, io: Io, correlationId: string): Promise<number> {
  const roots = causationTree(await readFlow(client, correlationId));
  if (roots.length === 0) {
    io.err(`no events with correlation id ${correlationId}`);
    return 1;
  }
  for (const line of renderTree(roots)) io.out(line);
  return 0;
}
