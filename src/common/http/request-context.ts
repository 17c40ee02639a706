import type { IncomingMessage, ServerResponse } from 'node:http';
import { requestId } from './request-id.middleware';
import { TraceContext, traceContext } from './trace-context';

const noop = () => undefined;

/**
 * What every request gets first, on every path (Express's middleware and the hot routes): its id
 * (X-Request-Id) and its trace (traceresponse).
 */
export function requestContext(req: IncomingMessage & { id?: string; trace?: TraceContext }, res: ServerResponse, next: () => void): void {
  requestId(req, res, noop);
  traceContext(req, res, next);
}
