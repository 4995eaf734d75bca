/**
 * The orchestration's metrics: transitions applied, and executions that ended, by workflow and
 * status, with their time from the request to the end. Recorded by whichever path ends an
 * execution (an event handler or the sweeper's node timeout), once: only the write that
 * changed the status to a terminal one counts.
 */
import { counter, histogram, isTerminal } from '@multi-agent/service-kit';
import type { ExecutionStatus, StoredExecution } from '@multi-agent/service-kit';
import type { Registry } from 'prom-client';

/** Records what the orchestration's transitions did. */
export class ExecutionMetrics {
  private readonly executions;
  private readonly durations;
  private readonly transitions;

  constructor(registry: Registry) {
    this.executions = counter(registry, 'orchestration_executions_total', 'Executions that ended, by workflow and status.', ['workflow', 'status']);
    this.durations = histogram(
      registry,
      'orchestration_execution_duration_seconds',
      'Time from the execution request to its end, by workflow and status.',
      ['workflow', 'status'],
      [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600],
    );
    this.transitions = counter(registry, 'orchestration_transitions_total', 'State changes applied, by trigger.', ['trigger']);
  }

  /**
   * Records one store write.
   *
   * @param before - the status the transition was decided on
   * @param changed - whether the write applied a change (a redelivered event's does not)
   */
  record(trigger: string, before: ExecutionStatus | undefined, after: StoredExecution | undefined, changed: boolean): void {
    if (!changed || after === undefined) return;
    this.transitions.inc({ trigger });
    const { state } = after;
    if (before === state.status || !isTerminal(state.status)) return;
    const labels = { workflow: state.workflowId, status: state.status };
    this.executions.inc(labels);
    if (state.finishedAt !== undefined) this.durations.observe(labels, Math.max(0, Date.parse(state.finishedAt) - Date.parse(state.requestedAt)) / 1000);
  }
}
