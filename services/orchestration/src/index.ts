/**
 * `@multi-agent/orchestration-service`: runs workflow DAGs over the bus, with execution state
 * in a JetStream KV bucket changed only by compare-and-set.
 *
 * @packageDocumentation
 */
export { orchestrationDefaults, startOrchestration } from './orchestration.js';
export type { OrchestrationOptions } from './orchestration.js';
export { expireNodes, nextDeadline, settleNode, startExecution } from '@multi-agent/service-kit';
export type { NodeOutcome, StartRequest, TransitionContext } from '@multi-agent/service-kit';
export { OutboxPublisher } from '@multi-agent/service-kit';
export { Sweeper } from './sweeper.js';
export type { SweeperOptions } from './sweeper.js';
