/**
 * State-changing routes (start, cancel, replay, purge) take only `application/json` bodies. A
 * page on another site can make a browser send a form (`application/x-www-form-urlencoded`,
 * `multipart/form-data`, `text/plain`) but not a JSON request, nor one with an
 * `Authorization` header, without a CORS preflight, which this server never answers. So a
 * cross-site form post is refused before it can change anything, even before the bearer token
 * (which a browser never adds by itself) is missed.
 */
import type { FastifyRequest } from 'fastify';
import { HttpError } from '../http-error.js';

/** An `onRequest` hook (it runs before the body is parsed): 415 `UNSUPPORTED_MEDIA_TYPE` unless the body is declared JSON. */
export async function requireJsonBody(request: FastifyRequest): Promise<void> {
  const [declared = ''] = (request.headers['content-type'] ?? '').split(';');
  const type = declared.trim().toLowerCase();
  if (type !== 'application/json') {
    throw new HttpError(415, 'UNSUPPORTED_MEDIA_TYPE', `this route takes a JSON body (content-type: application/json), got ${type === '' ? 'none' : `"${type}"`}`);
  }
}

/** Like {@link requireJsonBody}, for a route whose body is optional: a request without one passes. */
export async function requireJsonBodyIfAny(request: FastifyRequest): Promise<void> {
  const { 'content-length': length, 'transfer-encoding': chunked } = request.headers;
  if ((length === undefined || length === '0') && chunked === undefined) return;
  await requireJsonBody(request);
}
