import type { NextFunction, Request, Response } from 'express';
import { MetricsService } from './metrics.service';

/** The route label of a request no route answered (an unknown path, or a method a path does not have). */
export const UNMATCHED = 'unmatched';

const NOT_FOUND = Symbol('answered by the not-found handler');
const LABEL = Symbol('the route label given by the handler that answered');
type Labelled = Request & { [NOT_FOUND]?: true; [LABEL]?: string };

/** Names what answered a request that no route did, e.g. the console's static files: one label for all of them. */
export function labelRoute(req: object, label: string): void {
  (req as Labelled)[LABEL] = label;
}

/**
 * The route pattern that answered a request (`/api/v1/ingest/:source`), never its URL: paths carry
 * values callers choose, and each would become a time series of its own.
 */
export function routeLabel(req: Request): string {
  const labelled = (req as Labelled)[LABEL];
  if (labelled !== undefined) return labelled;
  if ((req as Labelled)[NOT_FOUND]) return UNMATCHED;
  const path = (req.route as { path?: unknown } | undefined)?.path;
  return typeof path === 'string' ? req.baseUrl + path : UNMATCHED;
}

/**
 * Wraps the framework's not-found handler so that what it answers is labelled unmatched. Nest
 * mounts middleware meant for every path (the request logger) as catch-all routes such as
 * `/api/v1/{*path}`; an unknown path passes through one of them, which would otherwise be the
 * last route the router recorded.
 */
export function labelledNotFound(handler: (req: Request, res: Response, next: NextFunction) => unknown) {
  return (req: Request, res: Response, next: NextFunction): unknown => {
    (req as Labelled)[NOT_FOUND] = true;
    return handler(req, res, next);
  };
}

/**
 * Counts and times every response. Mounted before routing, so it sees every request, also those
 * that guards, filters or the 404 handler answer; the labels are read once the response is sent,
 * when the router has recorded the route that matched. On the ingest path this costs one listener
 * and two map updates per request.
 */
export function httpMetrics(metrics: MetricsService) {
  return (req: Request, res: Response, next: NextFunction): void => {
    const start = performance.now();
    res.once('finish', () => metrics.httpRequest(routeLabel(req), req.method, res.statusCode, (performance.now() - start) / 1000));
    next();
  };
}
