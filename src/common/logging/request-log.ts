import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TraceContext } from '../http/trace-context';

/** Where the error answer leaves the dependency at fault, for the request log line to name it. */
const UPSTREAM = Symbol('upstream');

type Answered = ServerResponse & { [UPSTREAM]?: string };

export type RequestLogLevel = 'info' | 'warn' | 'error';

/** Notes on the response that its answer is a dependency's fault (the error's `upstream`). */
export function noteUpstream(res: ServerResponse, upstream: string | undefined): void {
  if (upstream !== undefined) (res as Answered)[UPSTREAM] = upstream;
}

/**
 * The level of a request's log line, on every path (pino-http's and the hot routes'): a dependency's
 * outage (503/504 naming it) is expected and answered as documented, so it warns as a 4xx does; any
 * other 5xx, or an error the answer did not handle, is an error.
 */
export function requestLogLevel(res: ServerResponse, err?: unknown): RequestLogLevel {
  const status = res.statusCode;
  if (err !== undefined || status >= 500) {
    return err === undefined && (status === 503 || status === 504) && (res as Answered)[UPSTREAM] !== undefined ? 'warn' : 'error';
  }
  return status >= 400 ? 'warn' : 'info';
}

/**
 * The fields of a request's log line: the request and the response as they are, for the logger's own
 * req and res serializers to turn into `req` {id, method, url} and `res` {statusCode}, the time taken,
 * the request's trace id (trace-context.ts), and the dependency at fault when there is one. No error object: an unexpected error is logged once,
 * with its stack, where it is answered.
 */
export function requestLogFields(req: IncomingMessage, res: ServerResponse, responseTime: number): Record<string, unknown> {
  const upstream = (res as Answered)[UPSTREAM];
  const traceId = (req as IncomingMessage & { trace?: TraceContext }).trace?.traceId;
  return { req, res, responseTime, ...(traceId === undefined ? {} : { traceId }), ...(upstream === undefined ? {} : { upstream }) };
}

export const REQUEST_LOG_MESSAGE = 'request completed';
