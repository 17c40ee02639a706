import type { ExecutionContext, Type } from '@nestjs/common';
import type { IncomingHttpHeaders } from 'node:http';

/** What a route check sees of a request: its headers and its route parameters (decoded). */
export interface CheckedRequest {
  headers: IncomingHttpHeaders;
  params: Record<string, string>;
}

/** A controller's handler, as Nest hands it to a guard. */
export type Handler = ReturnType<ExecutionContext['getHandler']>;

/** One handler's check, resolved once: throws (one of our errors, or Nest's) to refuse the request. */
export type RouteCheck = (req: CheckedRequest) => void;

/**
 * A guard whose rule for a handler is resolved once, from that handler's metadata: Nest calls it as a
 * guard, and the routes served ahead of Express (app-http/hot-routes.ts) run the same check, so a rule
 * is declared once, on the controller's handler, and holds on every path. Undefined: nothing to check.
 */
export interface CompiledGuard {
  checkFor(controller: Type, handler: Handler): RouteCheck | undefined;
}

export const isCompiledGuard = (guard: object): guard is CompiledGuard => typeof (guard as Partial<CompiledGuard>).checkFor === 'function';

/** A guard's canActivate over its compiled checks, each resolved on the first request of its handler. */
export class CompiledChecks {
  private readonly checks = new WeakMap<object, RouteCheck | null>();

  constructor(private readonly guard: CompiledGuard) {}

  run(controller: Type, handler: Handler, req: CheckedRequest): true {
    let check = this.checks.get(handler);
    if (check === undefined) {
      check = this.guard.checkFor(controller, handler) ?? null;
      this.checks.set(handler, check);
    }
    check?.(req);
    return true;
  }
}
