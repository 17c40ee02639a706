import { CallHandler, ExecutionContext, HttpException, Injectable, NestInterceptor } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { catchError, concatMap, from, map, Observable, throwError } from 'rxjs';
import { AppError } from '../common/errors/errors';
import { AUDITED, AuditRule } from './audit-rule';
import { AuditService } from './audit.service';
import { principalOf } from './principal';

interface AuditedRequest {
  method: string;
  id?: string;
  params?: Record<string, string>;
  body?: unknown;
}

/**
 * Records the outcome of each request to an @Audited handler, once it is known: the answer's status,
 * or the status of the error it failed with (a validation 400, a 404, an upstream's 503), awaited
 * before the answer leaves so that GET /audit shows it at once. Refusals by the access guard happen
 * before any interceptor and are recorded by the guard itself.
 */
@Injectable()
export class AuditInterceptor implements NestInterceptor {
  constructor(
    private readonly reflector: Reflector,
    private readonly audit: AuditService,
  ) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const rule = this.reflector.get<AuditRule | undefined>(AUDITED, context.getHandler());
    if (rule === undefined) return next.handle();
    const req = context.switchToHttp().getRequest<AuditedRequest>();
    // Nest sets the declared status (@HttpCode, else 201 for POST) before the interceptors run; a handler may set its own (res.status).
    const res = context.switchToHttp().getResponse<{ statusCode: number }>();
    const record = (outcome: number, answer?: unknown) =>
      from(
        this.audit.record({
          principal: principalOf(req),
          action: rule.action,
          target: targetOf(rule, req, answer),
          requestId: req.id,
          outcome,
          changes: req.body,
        }),
      );
    return next.handle().pipe(
      concatMap((answer) => record(res.statusCode, answer).pipe(map(() => answer))),
      catchError((err: unknown) => record(statusOf(err)).pipe(concatMap(() => throwError(() => err)))),
    );
  }
}

export function targetOf(rule: AuditRule, req: { params?: Record<string, string> }, answer?: unknown): string | undefined {
  if (rule.target === undefined) return undefined;
  const param = req.params?.[rule.target];
  if (param !== undefined) return param;
  const field = typeof answer === 'object' && answer !== null ? (answer as Record<string, unknown>)[rule.target] : undefined;
  return typeof field === 'string' || typeof field === 'number' ? String(field) : undefined;
}

function statusOf(err: unknown): number {
  if (err instanceof AppError) return err.statusCode;
  if (err instanceof HttpException) return err.getStatus();
  return 500;
}
