import { Module, RequestMethod } from '@nestjs/common';
import { LoggerModule } from 'nestjs-pino';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { APP_CONFIG, AppConfig } from '../config/app-config';

/**
 * JSON logs through pino, each request line carrying the request id (see request-id.middleware.ts).
 * Credentials and bodies are never logged.
 */
@Module({
  imports: [
    LoggerModule.forRootAsync({
      inject: [APP_CONFIG],
      useFactory: (config: AppConfig) => ({
        // Every route, in the path syntax of Express 5's router (the library's default '*' is the old one).
        forRoutes: [{ path: '{*path}', method: RequestMethod.ALL }],
        pinoHttp: {
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
          customLogLevel: (_req: IncomingMessage, res: ServerResponse, err?: Error) =>
            err || res.statusCode >= 500 ? 'error' : res.statusCode >= 400 ? 'warn' : 'info',
          autoLogging: { ignore: (req: IncomingMessage) => (req.url ?? '').startsWith('/health/') },
        },
      }),
    }),
  ],
})
export class AppLoggerModule {}
