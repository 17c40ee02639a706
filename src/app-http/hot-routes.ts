import { INestApplication, Logger } from '@nestjs/common';
import { ModulesContainer } from '@nestjs/core';
import type { GuardsContextCreator } from '@nestjs/core/guards';
import { ExternalContextCreator } from '@nestjs/core/helpers/external-context-creator';
import { PinoLogger } from 'nestjs-pino';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { HotAnswer, HotRequest, HotRoute } from '../common/http/hot-route';
import { CheckedRequest, Handler, isCompiledGuard, RouteCheck } from '../common/http/route-check';
import { requestContext } from '../common/http/request-context';
import { API_HEADER_LIST } from '../common/http/security-headers';
import { noteUpstream, REQUEST_LOG_MESSAGE, requestLogFields, requestLogLevel } from '../common/logging/request-log';
import { MetricsService } from '../metrics/metrics.service';
import { errorAnswer } from './all-exceptions.filter';

type Listener = (req: IncomingMessage, res: ServerResponse) => void;

/** The headers of every hot answer, as one flat list built once: the content type and those of every API answer. */
const HOT_HEADERS: string[] = ['Content-Type', 'application/json; charset=utf-8', ...API_HEADER_LIST];

/**
 * Serves the routes every event and every read takes (POST /ingest/{source}, GET /records/{source})
 * straight off the HTTP server, ahead of Express and Nest: the guards Nest runs for the controller's
 * handler (global ones first, then the controller's and the handler's), each resolved once at
 * start-up into its check (CompiledGuard), the same request id, error shape, metrics and request log
 * line, and the same service call as the controller — without the router walk, middleware chain,
 * guard, pipe and interceptor plumbing and per-request child logger, which cost more CPU than the
 * work itself. A guard that cannot be resolved this way stops the start-up: teach it CompiledGuard.
 * The global pipes, filters and interceptors are not run here but mirrored (the validation pipe by
 * the records route, the exceptions filter by errorAnswer); hot-routes.tripwire.spec.ts fails when
 * their set changes.
 *
 * Only the canonical spelling is served here (exact prefix and segment, one parameter that decodes);
 * every other request, including spellings Express also matches (a trailing slash, another letter
 * case), goes on to Express, where the controllers serve the same routes and OpenAPI documents them.
 */
export function serveHotRoutes(app: INestApplication, prefix: string, routes: HotRoute[]): void {
  const server = app.getHttpServer() as Server;
  const metrics = app.get(MetricsService);
  const served = routes.map((route) => new Served(route, prefix, routeChecks(app, route), metrics));
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
  private readonly param: string;
  private readonly logger = new Logger('Errors');

  constructor(
    private readonly route: HotRoute,
    prefix: string,
    private readonly checks: RouteCheck[],
    private readonly metrics: MetricsService,
  ) {
    const [segment, param] = route.path.split('/:');
    this.param = param;
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
    requestContext(req, res, noop);
    res.once('finish', () => this.finished(req, res, start));
    let answer: HotAnswer;
    try {
      if (this.checks.length > 0) {
        const checked: CheckedRequest = { headers: req.headers, params: { [this.param]: param } };
        for (const check of this.checks) check(checked);
      }
      answer = await this.route.answer(req, param, query);
    } catch (err) {
      const error = errorAnswer(err, String(req.id), this.metrics, this.logger, req.url?.split('?')[0]);
      noteUpstream(res, error.body.upstream);
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
    const level = requestLogLevel(res);
    const log = PinoLogger.root;
    if (log?.isLevelEnabled(level)) log[level](requestLogFields(req, res, Math.round(ms)), REQUEST_LOG_MESSAGE);
  }
}

/**
 * The checks of the guards Nest runs for the route's handler, in Nest's order, resolved once: the
 * same guard instances, asked for their rule of this handler.
 */
function routeChecks(app: INestApplication, route: HotRoute): RouteCheck[] {
  const handler = (route.controller.prototype as Record<string, Handler | undefined>)[route.handler];
  const host = [...app.get(ModulesContainer).entries()].find(([, moduleRef]) => moduleRef.controllers.has(route.controller));
  if (typeof handler !== 'function' || host === undefined) {
    throw new Error(`hot-routes.ts: ${route.controller.name}.${route.handler} is no handler of this application's controllers`);
  }
  const [moduleKey, moduleRef] = host;
  const controller = moduleRef.controllers.get(route.controller)!.instance;
  const guards = guardsCreator(app).create(controller, handler as (...args: unknown[]) => unknown, moduleKey);
  return guards.flatMap((guard) => {
    if (!isCompiledGuard(guard)) {
      throw new Error(`hot-routes.ts cannot run the guard ${guard.constructor.name} of ${route.controller.name}.${route.handler}: make it a CompiledGuard`);
    }
    const check = guard.checkFor(route.controller, handler);
    return check ? [check] : [];
  });
}

/** Nest's own resolution of a handler's guards (global, controller, handler), as the router uses it. */
function guardsCreator(app: INestApplication): GuardsContextCreator {
  const creator = app.get<ExternalContextCreator, { guardsContextCreator?: GuardsContextCreator }>(ExternalContextCreator).guardsContextCreator;
  if (!creator) throw new Error('hot-routes.ts: this version of @nestjs/core keeps no guardsContextCreator in ExternalContextCreator');
  return creator;
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
