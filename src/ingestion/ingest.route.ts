import { INestApplication, Logger } from '@nestjs/common';
import { PinoLogger } from 'nestjs-pino';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { SourcesRegistry } from '../catalogs/sources.registry';
import { ApiKeys } from '../common/auth/api-keys';
import { APP_CONFIG, AppConfig } from '../common/config/app-config';
import { errorAnswer } from '../common/errors/all-exceptions.filter';
import { requestId } from '../common/http/request-id.middleware';
import { MetricsService } from '../metrics/metrics.service';
import { IngestionService } from './ingestion.service';

type Listener = (req: IncomingMessage, res: ServerResponse) => void;
/** A request once it has its id (see request-id.middleware.ts). */
type Request = IncomingMessage & { id?: string };

const JSON_TYPE = 'application/json; charset=utf-8';

/**
 * Serves `POST /<prefix>/ingest/{source}`, the route every event takes, straight off the HTTP server,
 * ahead of Express and Nest: the same checks in the same order as the controller's route (the API key
 * unless the source is signed, then IngestionService.ingest), the same answers and error shape, the
 * same request id, metrics and request log line — without a router walk, middleware chain, guard,
 * interceptor and per-request child logger, which cost more CPU than the ingest itself.
 *
 * Only the canonical spelling is served here (exact prefix, one path segment, POST); any other request,
 * including other spellings Express would match (a trailing slash, another letter case), goes on to
 * Express, where IngestionController serves the same route and OpenAPI documents it.
 */
export function serveIngestAheadOfRouter(app: INestApplication, prefix: string): void {
  const server = app.getHttpServer() as Server;
  const route = `/${prefix}/ingest/:source`;
  const path = new RegExp(`^/${prefix.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}/ingest/([^/?#]+)(?:\\?|$)`);
  const ingest = new IngestRoute(
    app.get(IngestionService),
    app.get(SourcesRegistry),
    app.get(MetricsService),
    new ApiKeys(app.get<AppConfig>(APP_CONFIG).http.apiKeys),
    route,
  );
  const router = server.listeners('request') as Listener[];
  server.removeAllListeners('request');
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const source = req.method === 'POST' ? sourceOf(path, req.url) : undefined;
    if (source !== undefined) {
      void ingest.serve(req as Request, res, source);
      return;
    }
    for (const listener of router) listener.call(server, req, res);
  });
}

/** The source named by an ingest URL, or undefined for any other URL (or a segment that does not decode). */
function sourceOf(path: RegExp, url: string | undefined): string | undefined {
  const match = url === undefined ? null : path.exec(url);
  if (!match) return undefined;
  try {
    return decodeURIComponent(match[1]);
  } catch {
    return undefined;
  }
}

class IngestRoute {
  private readonly logger = new Logger('Errors');

  constructor(
    private readonly ingestion: IngestionService,
    private readonly sources: SourcesRegistry,
    private readonly metrics: MetricsService,
    private readonly keys: ApiKeys,
    private readonly route: string,
  ) {}

  async serve(req: Request, res: ServerResponse, source: string): Promise<void> {
    const start = performance.now();
    requestId(req, res, noop);
    res.once('finish', () => this.finished(req, res, start));
    try {
      // The guard's rule: a signed source's signature replaces the key (checked by the service), but
      // credentials sent anyway must agree with each other.
      if (this.sources.find(source)?.signature) ApiKeys.presentedKey(req.headers);
      else this.keys.check(req.headers);
      const { headers } = req;
      const { response, replayed } = await this.ingestion.ingest({
        source,
        body: req,
        contentLength: headers['content-length'],
        contentType: headers['content-type'],
        contentEncoding: headers['content-encoding'],
        idempotencyKey: single(headers['idempotency-key']),
        headers,
      });
      if (replayed) res.setHeader('Idempotent-Replayed', 'true');
      send(res, 202, JSON.stringify(response));
    } catch (err) {
      const answer = errorAnswer(err, String(req.id), this.metrics, this.logger, req.url);
      for (const [name, value] of Object.entries(answer.headers)) res.setHeader(name, value);
      send(res, answer.statusCode, JSON.stringify(answer.body));
    }
  }

  /** What every route records once its answer is sent: the request metrics and the request log line. */
  private finished(req: Request, res: ServerResponse, start: number): void {
    const ms = performance.now() - start;
    this.metrics.httpRequest(this.route, 'POST', res.statusCode, ms / 1000);
    const level = res.statusCode >= 500 ? 'error' : res.statusCode >= 400 ? 'warn' : 'info';
    const log = PinoLogger.root;
    if (log?.isLevelEnabled(level)) {
      log[level]({ req: { id: req.id, method: req.method, url: req.url }, res: { statusCode: res.statusCode }, responseTime: Math.round(ms) }, 'request completed');
    }
  }
}

function send(res: ServerResponse, status: number, body: string): void {
  if (res.headersSent) return;
  res.statusCode = status;
  res.setHeader('Content-Type', JSON_TYPE);
  res.setHeader('Content-Length', Buffer.byteLength(body));
  res.end(body);
}

const noop = () => undefined;

/** A header as one string: Node joins the repeated lines of such a header itself, the type says it might not. */
const single = (value: string | string[] | undefined): string | undefined => (Array.isArray(value) ? value.join(', ') : value);
