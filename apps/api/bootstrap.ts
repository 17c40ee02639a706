import { INestApplication, RequestMethod } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { Logger } from 'nestjs-pino';
import { APP_CONFIG, AppConfig } from '../../src/common/config/app-config';
import { answerClientErrors } from '../../src/common/http/client-errors';
import { declareEnforcedRules } from '../../src/common/http/openapi';
import { requestContext } from '../../src/common/http/request-context';
import { securityHeaders } from '../../src/common/http/security-headers';
import { precompressedAssets } from '../../src/console/console-static';
import { serveHotRoutes } from '../../src/app-http/hot-routes';
import { validationPipe } from '../../src/common/http/validation.pipe';
import { ingestRoute } from '../../src/ingestion/ingest.route';
import { IngestionService } from '../../src/ingestion/ingestion.service';
import { recordsRoute } from '../../src/storage/records/records.route';
import { RecordsService } from '../../src/storage/records/records.service';
import { httpMetrics } from '../../src/metrics/http-metrics.middleware';
import { MeteredExpressAdapter } from '../../src/metrics/metered-express.adapter';
import { MetricsService } from '../../src/metrics/metrics.service';
import { AppModule } from './app.module';

export const API_PREFIX = 'api/v1';

/** Builds the application: prefix, logger, Swagger, the web console and shutdown hooks. Shared by main.ts and the e2e tests. */
export async function createApp(): Promise<INestApplication> {
  const app = await NestFactory.create(AppModule, new MeteredExpressAdapter(), { bufferLogs: true, bodyParser: false, abortOnError: false });
  // What Node refuses before routing (headers over 16 KB, malformed requests) is answered in the one error shape too.
  answerClientErrors(app.getHttpServer());
  // The hot paths, every event's and every read's, are answered before Express routes anything (see hot-routes.ts).
  serveHotRoutes(app, API_PREFIX, [ingestRoute(app.get(IngestionService)), recordsRoute(app.get(RecordsService), validationPipe())]);
  app.use(requestContext);
  app.use(securityHeaders);
  app.use(httpMetrics(app.get(MetricsService)));
  // Before routing: the console's static files are looked up after every route (ConsoleModule).
  const consoleDir = app.get<AppConfig>(APP_CONFIG).console.dir;
  if (consoleDir) app.use(precompressedAssets(consoleDir));
  app.useLogger(app.get(Logger));
  const express = app.getHttpAdapter().getInstance();
  express.disable('x-powered-by');
  // Answers are computed per request; hashing each body for an ETag nobody revalidates only costs CPU.
  express.disable('etag');
  app.setGlobalPrefix(API_PREFIX, {
    exclude: [
      { path: 'health/live', method: RequestMethod.GET },
      { path: 'health/ready', method: RequestMethod.GET },
      { path: 'metrics', method: RequestMethod.GET },
    ],
  });
  app.enableShutdownHooks();

  const document = declareEnforcedRules(
    SwaggerModule.createDocument(
      app,
      new DocumentBuilder()
        .setTitle('Real-time pipeline control plane')
        .setDescription(
          'The one front door to the pipeline: ingest events into Kafka, read what the streaming job stored in ' +
            'Cassandra, and check health. Every route except /health/* and /docs needs an API key; /metrics does too unless METRICS_PUBLIC=true. ' +
            'A key holding scopes (POST /keys) may use the routes whose x-required-scope it holds, and is answered 403 naming the scope elsewhere. ' +
            "POST /ingest for a signed source takes its sender's signature instead of the key.",
        )
        .setVersion('0.1.0')
        .addApiKey({ type: 'apiKey', in: 'header', name: 'X-API-Key' }, 'api-key')
        .addBearerAuth({ type: 'http', scheme: 'bearer', description: 'The API key as a bearer token' }, 'bearer')
        .build(),
    ),
  );
  SwaggerModule.setup('docs', app, document, { jsonDocumentUrl: 'docs-json' });
  return app;
}
