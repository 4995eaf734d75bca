/**
 * The typed failure of a tool. `code` travels to the caller in `error.code` of the reply (or
 * of `tool.execution.failed`), so callers branch on a stable code, not on a message.
 */
import { NonRetryableError } from '@multi-agent/nats-client';

/** Error codes the built-in tools use. */
export type ToolErrorCode =
  | 'UNKNOWN_TOOL'
  | 'INVALID_INPUT'
  | 'INVALID_EXPRESSION'
  | 'DIVISION_BY_ZERO'
  | 'MATH_ERROR'
  | 'INVALID_TIMEZONE'
  | 'INVALID_PATH'
  | 'PATH_NOT_FOUND'
  | 'INVALID_DOCUMENT'
  | 'LIMIT_EXCEEDED';

/**
 * A tool rejected its input or could not compute a result. Retrying the same input cannot
 * help, so it is a `NonRetryableError`: thrown from a bus handler, it is dead-lettered at once.
 */
export class ToolError extends NonRetryableError {
  constructor(
    /** Replaces NonRetryableError's generic code with the tool's. */
    override readonly code: ToolErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'ToolError';
  }
}
