import { ArgumentsHost, Catch, ExceptionFilter, HttpException, HttpStatus, Logger } from '@nestjs/common';
import { STATUS_CODES } from 'node:http';
import type { Request, Response } from 'express';
import { MetricsService } from '../../metrics/metrics.service';
import { AppError, UpstreamRejectedError, UpstreamTimeoutError, UpstreamUnavailableError } from './errors';
import { ErrorResponseDto } from './error-response.dto';

/** Turns every error, ours or the framework's, into the one error shape, counting those a dependency caused. */
@Catch()
export class AllExceptionsFilter implements ExceptionFilter {
  private readonly logger = new Logger('Errors');

  constructor(private readonly metrics: MetricsService) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    const ctx = host.switchToHttp();
    const req = ctx.getRequest<Request & { id?: string }>();
    const res = ctx.getResponse<Response>();
    const { statusCode, message, details, headers } = this.describe(exception);

    if (exception instanceof UpstreamUnavailableError || exception instanceof UpstreamTimeoutError || exception instanceof UpstreamRejectedError) {
      this.metrics.upstreamError(exception.upstream, statusCode);
    }
    if (statusCode >= 500 && !(exception instanceof AppError)) {
      this.logger.error({ err: exception, path: req.path }, 'unhandled error');
    }
    if (res.headersSent) return;
    const body: ErrorResponseDto = {
      statusCode,
      error: STATUS_CODES[statusCode] ?? 'Error',
      message,
      ...(details === undefined ? {} : { details }),
      requestId: String(req.id ?? ''),
    };
    for (const [name, value] of Object.entries(headers)) res.setHeader(name, value);
    res.status(statusCode).json(body);
  }

  private describe(exception: unknown): {
    statusCode: number;
    message: string;
    details?: unknown;
    headers: Record<string, string>;
  } {
    if (exception instanceof AppError) {
      return { statusCode: exception.statusCode, message: exception.message, details: exception.details, headers: exception.headers };
    }
    if (exception instanceof HttpException) {
      const statusCode = exception.getStatus();
      const response = exception.getResponse();
      if (typeof response === 'string') return { statusCode, message: response, headers: {} };
      const r = response as { message?: unknown; details?: unknown };
      // class-validator's ValidationPipe answers with a list of messages.
      if (Array.isArray(r.message)) {
        return { statusCode, message: r.message.join('; '), details: r.message, headers: {} };
      }
      const known = typeof r.message === 'string';
      return {
        statusCode,
        message: known ? (r.message as string) : exception.message,
        // A structured body without a message (terminus' readiness report) is passed on whole.
        details: known ? r.details : response,
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
}
