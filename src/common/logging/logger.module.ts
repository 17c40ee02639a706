import { Module, RequestMethod } from '@nestjs/common';
import { LoggerModule } from 'nestjs-pino';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Options as PinoHttpOptions } from 'pino-http';
import { APP_CONFIG, AppConfig } from '../config/app-config';
import { REQUEST_LOG_MESSAGE, requestLogFields, requestLogLevel } from './request-log';

/**
 * JSON logs through pino, each request line carrying the request id (see request-id.middleware.ts).
 * Credentials and bodies are never logged.
 */
/** pino-http's options: the request log line's shape and level come from request-log.ts, shared with the hot routes. */
export function pinoHttpOptions(config: AppConfig): PinoHttpOptions {
  return {
    level: config.log.level,
    genReqId: (req: IncomingMessage) => (req as IncomingMessage & { id: string }).id,
    serializers: {
      req: (req: { id: string; method: string; url: string }) => ({ id: req.id, method: req.method, url: req.url }),
      res: (res: { statusCode: number }) => ({ statusCode: res.statusCode }),
    },
    redact: {
      paths: ['req.headers.authorization', 'req.headers["x-api-key"]', '*.password', '*.apiKeys'],
      censor: '[redacted]',
    },
    customLogLevel: (_req: IncomingMessage, res: ServerResponse, err?: Error) => requestLogLevel(res, err),
    // One line shape whether pino-http sees an error or not: its own error object for a 5xx would be a
    // made-up "failed with status code" with a stack that names no cause.
    customSuccessObject: (req: IncomingMessage, res: ServerResponse, val: { responseTime: number }) => requestLogFields(req, res, val.responseTime),
    customErrorObject: (req: IncomingMessage, res: ServerResponse, _err: Error, val: { responseTime: number }) => requestLogFields(req, res, val.responseTime),
    customSuccessMessage: () => REQUEST_LOG_MESSAGE,
    customErrorMessage: () => REQUEST_LOG_MESSAGE,
    autoLogging: { ignore: (req: IncomingMessage) => (req.url ?? '').startsWith('/health/') },
  };
}

@Module({
  imports: [
    LoggerModule.forRootAsync({
      inject: [APP_CONFIG],
      useFactory: (config: AppConfig) => ({
        // Every route, in the path syntax of Express 5's router (the library's default '*' is the old one).
        forRoutes: [{ path: '{*path}', method: RequestMethod.ALL }],
        pinoHttp: pinoHttpOptions(config),
      }),
    }),
  ],
})
export class AppLoggerModule {}
