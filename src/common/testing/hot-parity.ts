import { IncomingHttpHeaders, request } from 'node:http';

/** An answer as a client sees it. */
export interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
  /** The JSON body, if any: a route's answer or the one error shape. */
  body?: { requestId?: string; message?: string; eventIds?: string[]; [field: string]: unknown };
}

/** Sends a request as given, the path byte for byte (no client re-encodes it). */
export function send(port: number, method: string, path: string, headers: Record<string, string> = {}, body: string | Buffer = ''): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method, path, headers: { 'Content-Length': String(Buffer.byteLength(body)), ...headers } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        resolve({ status: res.statusCode!, headers: res.headers, text, body: text === '' ? undefined : JSON.parse(text) });
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}

const CONNECTION_HEADERS = ['date', 'connection', 'keep-alive'];
const TRACERESPONSE = /^00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$/;

/**
 * What a client compares of two answers: the status, the headers but the connection's, and the body,
 * with event ids by count (they are new per request, as is the span in traceresponse). `withoutIds` leaves out the request id too (in
 * X-Request-Id and an error's requestId), for two requests that each got one of their own.
 */
export function observed({ status, headers, body }: Answer, { withoutIds = false } = {}): object {
  const dropped = withoutIds ? [...CONNECTION_HEADERS, 'x-request-id'] : CONNECTION_HEADERS;
  const rest = Object.fromEntries(Object.entries(headers).filter(([name]) => !dropped.includes(name)));
  // A new span per request: compared by its shape.
  if (typeof rest.traceresponse === 'string' && TRACERESPONSE.test(rest.traceresponse)) rest.traceresponse = 'a traceresponse';
  let shownBody: unknown = body?.eventIds ? { ...body, eventIds: body.eventIds.length } : body;
  if (withoutIds && body && 'requestId' in body) {
    shownBody = Object.fromEntries(Object.entries(shownBody as Record<string, unknown>).filter(([field]) => field !== 'requestId'));
  }
  return { status, headers: rest, body: shownBody };
}

/**
 * The parity harness of a hot route (app-http/hot-routes.ts): the same request sent to the hot route
 * and, spelled with a trailing slash (which only Express takes), to the controller behind Nest's
 * guards, pipes and filter. `reachedExpress` lists what a last middleware saw, to check that each
 * request was answered by the one it was meant for.
 */
export async function hotAndNest(
  port: number,
  reachedExpress: string[],
  method: string,
  path: string,
  headers: Record<string, string> = {},
  body: string | Buffer = '',
): Promise<[Answer, Answer]> {
  const [route, query] = path.split('?');
  const nestPath = `${route}/${query === undefined ? '' : `?${query}`}`;
  const hot = await send(port, method, path, headers, body);
  const nest = await send(port, method, nestPath, headers, body);
  if (reachedExpress.includes(`${method} ${path}`)) throw new Error(`${method} ${path} reached Express: the hot route did not answer it`);
  if (!reachedExpress.includes(`${method} ${nestPath}`)) throw new Error(`${method} ${nestPath} did not reach Express`);
  return [hot, nest];
}
