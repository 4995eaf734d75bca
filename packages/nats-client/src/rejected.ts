/**
 * Hot paths that return a promise without an `async` wrapper (a wrapper costs a promise and two
 * turns per call) still report a synchronous failure as a rejection, as an async function does.
 */

/** A promise rejected with `err`, exactly as thrown. */
export async function rejected(err: unknown): Promise<never> {
  throw err;
}
