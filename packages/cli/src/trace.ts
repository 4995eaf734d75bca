/**
 * Reconstructs one flow from the EVENTS stream: every event whose `correlationId` (or eventId,
 * for the first one) is the given id, read through the correlation index (so the whole stream
 * is not scanned), arranged as a causation tree.
 */
import type { DomainEvent } from '@multi-agent/events';
import type { NatsClient } from '@multi-agent/nats-client';

/** One event of a flow, with the events it caused. */
export interface TraceNode {
  event: DomainEvent;
  subject: string;
  seq: number;
  children: TraceNode[];
}

/**
 * Every stored event of the flow `correlationId`, in stream order: those the correlation
 * indexer listed, plus a header scan of the events it has not indexed yet (all of EVENTS when
 * no indexer ever ran).
 */
export async function readFlow(client: NatsClient, correlationId: string): Promise<Omit<TraceNode, 'children'>[]> {
  return (await client.readCorrelation(correlationId)).events;
}

/** Arranges a flow by `causationId`; events whose cause is not in the flow are roots. */
export function causationTree(flow: readonly Omit<TraceNode, 'children'>[]): TraceNode[] {
  const nodes = new Map(flow.map((f) => [f.event.eventId, { ...f, children: [] as TraceNode[] }]));
  const roots: TraceNode[] = [];
  for (const node of nodes.values()) {
    const parent = node.event.causationId === undefined ? undefined : nodes.get(node.event.causationId);
    if (parent !== undefined && parent !== node) parent.children.push(node);
    else roots.push(node);
  }
  return roots;
}

/** Text lines of a causation tree: event type, time offset from the first event, eventId. */
export function renderTree(roots: readonly TraceNode[]): string[] {
  const start = Math.min(...roots.map((r) => r.event.timestamp.getTime()));
  const lines: string[] = [];
  const walk = (node: TraceNode, prefix: string, last: boolean, depth: number): void => {
    const branch = depth === 0 ? '' : last ? '└─ ' : '├─ ';
    const offset = `+${node.event.timestamp.getTime() - start}ms`;
    lines.push(`${prefix}${branch}${node.event.eventType}  ${offset}  ${node.event.eventId}`);
    const childPrefix = depth === 0 ? '' : `${prefix}${last ? '   ' : '│  '}`;
    node.children.forEach((child, i) => walk(child, childPrefix, i === node.children.length - 1, depth + 1));
  };
  roots.forEach((root) => walk(root, '', true, 0));
  return lines;
}
