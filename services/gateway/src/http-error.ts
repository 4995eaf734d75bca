/**
 * Errors the API answers with: a status and a body `{ error: CODE, message, ...details }`.
 * Every non-2xx answer of the gateway has that shape, so a client branches on `error`.
 */

/** An error with an HTTP status and a stable code. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = 'HttpError';
  }

  /** The JSON body of the answer. */
  body(): Record<string, unknown> {
    return { error: this.code, message: this.message, ...this.details };
  }
}
