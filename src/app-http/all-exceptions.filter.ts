import { ArgumentsHost, Catch, ExceptionFilter, HttpException, HttpStatus, Logger } from '@nestjs/common';
import { STATUS_CODES } from 'node:http';
import type { Request, Response } from 'express';
import { noteUpstream } from '../common/logging/request-log';
import { MetricsService } from '../metrics/metrics.service';
import { AppError, ErrorDetail, UpstreamRejectedError, UpstreamTimeoutError, UpstreamUnavailableError } from '../common/errors/errors';
import { errorBody, ErrorResponseDto } from '../common/errors/error-response.dto';

/** What an error is answered with: its status, its headers and the one error shape. */
export interface ErrorAnswer {
  statusCode: number;
  headers: Record<string, string>;
  body: ErrorResponseDto;
}

/**
 * The answer to an error, ours or the framework's; counts those a dependency caused and logs the
 * unexpected ones (a 5xx that is not one of our errors). Shared by the filter and the route served
 * ahead of Nest's router, so every route answers errors alike.
 */
export function errorAnswer(exception: unknown, requestId: string, metrics: MetricsService, logger: Logger, path?: string): ErrorAnswer {
  if (exception instanceof UpstreamUnavailableError || exception instanceof UpstreamTimeoutError || exception instanceof UpstreamRejectedError) {
    metrics.upstreamError(exception.upstream, exception.statusCode);
  }
  const { statusCode, message, details, upstream, headers } = describe(exception);
  if (statusCode >= 500 && !(exception instanceof AppError)) logger.error({ err: exception, path }, 'unhandled error');
  return { statusCode, headers, body: errorBody(statusCode, message, requestId, details, upstream) };
}

/** Turns every error, ours or the framework's, into the one error shape, counting those a dependency caused. */
@Catch()
export class AllExceptionsFilter implements ExceptionFilter {
  private readonly logger = new Logger('Errors');

  constructor(private readonly metrics: MetricsService) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    const ctx = host.switchToHttp();
    const req = ctx.getRequest<Request & { id?: string }>();
    const res = ctx.getResponse<Response>();

    const report = AllExceptionsFilter.healthReport(exception);
    if (report) {
      // Readiness answers its own documented body, the same report whether it is 200 or 503.
      if (!res.headersSent) res.status(report.statusCode).json(report.body);
      return;
    }
    const answer = errorAnswer(exception, String(req.id ?? ''), this.metrics, this.logger, req.path);
    noteUpstream(res, answer.body.upstream);
    if (res.headersSent) return;
    for (const [name, value] of Object.entries(answer.headers)) res.setHeader(name, value);
    // Refused before the body arrived (a 401 before reading it): closing beats draining a body nobody will read.
    if (req.complete === false) res.setHeader('Connection', 'close');
    res.status(answer.statusCode).json(answer.body);
  }

  /** The readiness report terminus raises when a dependency is down ({status, info, error, details}), if this is one. */
  private static healthReport(exception: unknown): { statusCode: number; body: object } | undefined {
    if (!(exception instanceof HttpException)) return undefined;
    const r = exception.getResponse() as Record<string, unknown>;
    const isReport =
      typeof r === 'object' && r !== null && r.message === undefined && typeof r.status === 'string' && 'info' in r && 'error' in r && 'details' in r;
    return isReport ? { statusCode: exception.getStatus(), body: r } : undefined;
  }
}

interface Described {
  statusCode: number;
  message: string;
  details?: ErrorDetail[];
  upstream?: string;
  headers: Record<string, string>;
}

function describe(exception: unknown): Described {
  if (exception instanceof AppError) {
    const { statusCode, message, details, upstream, headers } = exception;
    return { statusCode, message, details, upstream, headers };
  }
  if (exception instanceof HttpException) {
    const statusCode = exception.getStatus();
    const response = exception.getResponse();
    if (typeof response === 'string') return { statusCode, message: response, headers: {} };
    const r = response as { message?: unknown; details?: unknown };
    // A list of messages (the framework's validation): one detail per message.
    if (Array.isArray(r.message)) {
      return { statusCode, message: r.message.join('; '), details: r.message.map((m) => ({ message: String(m) })), headers: {} };
    }
    return {
      statusCode,
      message: typeof r.message === 'string' ? r.message : exception.message,
      details: isDetailList(r.details) ? r.details : undefined,
      headers: {},
    };
  }
  // Errors from Node's HTTP layer carry a status (e.g. a malformed or oversized body).
  const e = exception as { status?: number; statusCode?: number; message?: string };
  const status = e?.status ?? e?.statusCode;
  if (typeof status === 'number' && status >= 400 && status < 500) {
    return { statusCode: status, message: e.message ?? STATUS_CODES[status] ?? 'Bad Request', headers: {} };
  }
  return { statusCode: HttpStatus.INTERNAL_SERVER_ERROR, message: 'Internal server error', headers: {} };
}

const isDetailList = (value: unknown): value is ErrorDetail[] =>
  Array.isArray(value) && value.every((d) => typeof d === 'object' && d !== null && !Array.isArray(d));
