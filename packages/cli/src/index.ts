/**
 * `@multi-agent/cli`: the `multi-agent` command, and the flow reconstruction it uses.
 *
 * @packageDocumentation
 */
export { main, USAGE } from './main.js';
export { causationTree, readFlow, renderTree } from './trace.js';
export type { TraceNode } from './trace.js';
export type { Io } from './output.js';
