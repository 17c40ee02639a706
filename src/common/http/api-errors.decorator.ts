import { applyDecorators } from '@nestjs/common';
import { ApiResponse } from '@nestjs/swagger';
import { ErrorResponseDto } from '../errors/error-response.dto';

const MEANING: Record<number, string> = {
  400: 'Bad input; the message says what to fix',
  401: 'Missing or invalid API key (for a signed source: a missing, invalid or stale signature)',
  404: 'Not found',
  405: 'The path does not answer this method; Allow lists those it does',
  409: 'Conflict (for ingest: the same idempotency key is still being processed)',
  410: 'Gone: the source was archived (its stored records stay readable)',
  412: 'If-Match does not name the current state of the resource; read it again',
  413: 'Body too large',
  415: 'Unsupported Content-Type (or, on ingest, Content-Encoding)',
  422: 'The idempotency key was already used with a different body',
  429: 'A bound on what may run at once, or a rate limit of the key or the source, was reached (the message names it; a rate limit adds RateLimit-Policy and RateLimit); retry after Retry-After seconds',
  502: 'A dependency refused the request',
  503: 'A dependency is unavailable (named in upstream); retry after Retry-After seconds',
  504: 'A dependency did not answer in time',
};

/** What a route says of a status beyond its common meaning, e.g. `{ 503: '...' }`. */
export type RouteMeanings = Partial<Record<number, string>>;

/**
 * Documents the error statuses a route can answer, all in the one error shape; 401 is always included.
 * A last argument of meanings words a status the route's own way (it is documented whether listed or not).
 */
export function ApiErrors(...args: (number | RouteMeanings)[]) {
  const own = (typeof args[args.length - 1] === 'object' ? args.pop() : {}) as RouteMeanings;
  const statuses = [...new Set([401, ...(args as number[]), ...Object.keys(own).map(Number)])];
  return applyDecorators(...statuses.map((status) => ApiResponse({ status, description: own[status] ?? MEANING[status], type: ErrorResponseDto })));
}
