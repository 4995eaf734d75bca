/** `multi-agent trace <correlationId>`: one flow as a causation tree. */
import type { NatsClient } from '@multi-agent/nats-client';
import { Progress, paint, printJson } from '../output.js';
import type { Io } from '../output.js';
import { causationTree, readFlow, renderTree } from '../trace.js';

/** Prints the flow's causation tree (as JSON: the tree's nodes with their events); exit code 1 when no event has that id. */
export async function traceCommand(client: NatsClient, io: Io, correlationId: string, json: boolean): Promise<number> {
  const progress = new Progress(io, `reading the flow ${correlationId} from EVENTS, events found`);
  let roots;
  try {
    progress.update(0);
    const flow = await readFlow(client, correlationId);
    progress.update(flow.length);
    roots = causationTree(flow);
  } finally {
    progress.done();
  }
  if (roots.length === 0) {
    io.err(`no events with correlation id ${correlationId}`);
    return 1;
  }
  if (json) printJson(io, roots);
  else for (const line of renderTree(roots)) io.out(/\.failed /.test(line) ? paint(io, 'red', line) : line);
  return 0;
}
