import { METHODS } from 'node:http';
import type { NextFunction, Request, Response } from 'express';
import { errorBody } from '../errors/error-response.dto';

/** What the not-found handler needs of Express' router: its layers, each maybe a route with methods. */
interface RouterLayer {
  route?: { path: string; methods: Record<string, boolean>; _methods(): string[] };
  match(path: string): unknown;
}
export interface RouterLike {
  stack: RouterLayer[];
}

/**
 * The methods the routes matching `path` answer (HEAD included with GET), or none when no route has
 * the path. A path that a route names literally is that resource alone, as in the OpenAPI document:
 * /schedules/preview answers GET, whatever /schedules/{id} answers.
 */
export function allowedMethods(router: RouterLike | undefined, path: string): string[] {
  // Catch-all routes (middleware mounted for every method, e.g. the request logger's) say nothing about the resource.
  const routes = (router?.stack ?? []).filter((layer) => layer.route && !isCatchAll(layer.route.methods) && layer.match(path)).map((layer) => layer.route!);
  const literal = routes.filter((route) => !/[:*]/.test(route.path));
  const methods = new Set<string>();
  for (const route of literal.length > 0 ? literal : routes) for (const method of route._methods()) methods.add(method);
  return [...methods];
}

const isCatchAll = (methods: Record<string, boolean>) => methods._all || METHODS.every((m) => methods[m.toLowerCase()]);

/**
 * Wraps the framework's not-found handler: a path some route has, asked with a method none of its
 * routes answers (TRACE included), is a 405 whose Allow lists the methods, in the one error shape.
 * A path no route has stays a 404.
 */
export function methodNotAllowed(router: () => RouterLike | undefined, notFound: (req: Request, res: Response, next: NextFunction) => unknown) {
  return (req: Request, res: Response, next: NextFunction): unknown => {
    const allowed = allowedMethods(router(), req.path);
    if (allowed.length === 0) return notFound(req, res, next);
    res.setHeader('Allow', allowed.join(', '));
    res
      .status(405)
      .json(errorBody(405, `${req.method} is not allowed on ${req.path}; it answers ${allowed.join(', ')}`, String((req as { id?: string }).id ?? '')));
    return undefined;
  };
}
