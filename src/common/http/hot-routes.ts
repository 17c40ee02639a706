import { INestApplication, Logger } from '@nestjs/common';
import { PinoLogger } from 'nestjs-pino';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { MetricsService } from '../../metrics/metrics.service';
import { ApiKeys } from '../auth/api-keys';
import { APP_CONFIG, AppConfig } from '../config/app-config';
import { errorAnswer } from '../errors/all-exceptions.filter';
import { requestId } from './request-id.middleware';
import { API_HEADER_LIST } from './security-headers';

/** A request once it has its id (see request-id.middleware.ts). */
export type HotRequest = IncomingMessage & { id?: string };

/** What a hot route answers: a status and a JSON body already written out (as text, or as its UTF-8 bytes). */
export interface HotAnswer {
  status: number;
  body: string | Buffer;
  headers?: Record<string, string>;
}

/**
 * A route served straight off the HTTP server, ahead of Express and Nest (see serveHotRoutes): one
 * method and a path `<segment>/:param` under the global prefix, e.g. `ingest/:source`.
 */
export interface HotRoute {
  method: 'GET' | 'POST';
  /** The path under the prefix, as the controller declares it: one literal segment, then one parameter. */
  path: `${string}/:${string}`;
  /** Whether a request for this parameter proves itself otherwise than with an API key (a signed source). */
  signed?(param: string): boolean;
  /** The answer; a thrown error is answered in the one error shape, as the exceptions filter would. */
  answer(req: HotRequest, param: string, query: string | undefined): Promise<HotAnswer>;
}

type Listener = (req: IncomingMessage, res: ServerResponse) => void;

/** The headers of every hot answer, as one flat list built once: the content type and those of every API answer. */
const HOT_HEADERS: string[] = ['Content-Type', 'application/json; charset=utf-8', ...API_HEADER_LIST];

/**
 * Serves the routes every event and every read takes (POST /ingest/{source}, GET /records/{source})
 * straight off the HTTP server, ahead of Express and Nest: the same API key check as the guard, the
 * same request id, error shape, metrics and request log line, and the same service call as the
 * controller — without the router walk, middleware chain, guard, pipe and interceptor plumbing and
 * per-request child logger, which cost more CPU than the work itself.
 *
 * Only the canonical spelling is served here (exact prefix and segment, one parameter that decodes);
 * every other request, including spellings Express also matches (a trailing slash, another letter
 * case), goes on to Express, where the controllers serve the same routes and OpenAPI documents them.
 */
export function serveHotRoutes(app: INestApplication, prefix: string, routes: HotRoute[]): void {
  const server = app.getHttpServer() as Server;
  const keys = new ApiKeys(app.get<AppConfig>(APP_CONFIG).http.apiKeys);
  const metrics = app.get(MetricsService);
  const served = routes.map((route) => new Served(route, prefix, keys, metrics));
  const router = server.listeners('request') as Listener[];
  server.removeAllListeners('request');
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    for (const route of served) if (route.take(req as HotRequest, res)) return;
    for (const listener of router) listener.call(server, req, res);
  });
}

class Served {
  private readonly pattern: RegExp;
  private readonly label: string;
  private readonly logger = new Logger('Errors');

  constructor(
    private readonly route: HotRoute,
    prefix: string,
    private readonly keys: ApiKeys,
    private readonly metrics: MetricsService,
  ) {
    const [segment] = route.path.split('/:');
    this.pattern = new RegExp(`^/${escape(prefix)}/${escape(segment)}/([^/?#]+)(?:\\?([^#]*))?$`);
    this.label = `/${prefix}/${route.path}`;
  }

  /** Serves the request if it is this route's; answers whether it did. */
  take(req: HotRequest, res: ServerResponse): boolean {
    if (req.method !== this.route.method) return false;
    const match = req.url === undefined ? null : this.pattern.exec(req.url);
    const param = match ? decoded(match[1]) : undefined;
    if (param === undefined) return false;
    void this.serve(req, res, param, match![2]);
    return true;
  }

  private async serve(req: HotRequest, res: ServerResponse, param: string, query: string | undefined): Promise<void> {
    const start = performance.now();
    requestId(req, res, noop);
    res.once('finish', () => this.finished(req, res, start));
    let answer: HotAnswer;
    try {
      // The guard's rule: a signed request proves itself by its signature (checked by the service), but
      // credentials sent anyway must agree with each other.
      if (this.route.signed?.(param)) ApiKeys.presentedKey(req.headers);
      else this.keys.check(req.headers);
      answer = await this.route.answer(req, param, query);
    } catch (err) {
      const error = errorAnswer(err, String(req.id), this.metrics, this.logger, req.url?.split('?')[0]);
      answer = { status: error.statusCode, body: JSON.stringify(error.body), headers: error.headers };
    }
    if (res.headersSent) return;
    for (const [name, value] of Object.entries(answer.headers ?? {})) res.setHeader(name, value);
    // Answered before the body arrived (a refusal): closing beats draining a body nobody will read.
    if (!req.complete) res.setHeader('Connection', 'close');
    // Text is encoded once: measured and then encoded again otherwise.
    const body = typeof answer.body === 'string' ? Buffer.from(answer.body) : answer.body;
    res.setHeader('Content-Length', body.length);
    res.writeHead(answer.status, HOT_HEADERS);
    res.end(body);
  }

  /** What every route records once its answer is sent: the request metrics and the request log line. */
  private finished(req: HotRequest, res: ServerResponse, start: number): void {
    const ms = performance.now() - start;
    this.metrics.httpRequest(this.label, this.route.method, res.statusCode, ms / 1000);
    const level = res.statusCode >= 500 ? 'error' : res.statusCode >= 400 ? 'warn' : 'info';
    const log = PinoLogger.root;
    if (log?.isLevelEnabled(level)) {
      log[level]({ req: { id: req.id, method: req.method, url: req.url }, res: { statusCode: res.statusCode }, responseTime: Math.round(ms) }, 'request completed');
    }
  }
}

/** A path segment decoded, or undefined when it does not decode (Express then answers it). */
function decoded(segment: string): string | undefined {
  try {
    return decodeURIComponent(segment);
  } catch {
    return undefined;
  }
}

const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

const noop = () => undefined;
