import type { IncomingMessage, ServerResponse } from 'node:http';

/**
 * The headers of every API answer: a JSON body is never sniffed into something a browser would run,
 * and no cache keeps an answer (they carry events, keys' results and state that changes).
 */
export const API_HEADERS: Readonly<Record<string, string>> = { 'X-Content-Type-Options': 'nosniff', 'Cache-Control': 'no-store' };

/** API_HEADERS as the flat name, value, name, value list res.writeHead takes: built once for the hot routes. */
export const API_HEADER_LIST: string[] = Object.entries(API_HEADERS).flat();

/**
 * The Swagger UI's Content-Security-Policy. @nestjs/swagger serves its init script as a file
 * (swagger-ui-init.js), so no inline script is needed; its index has an inline <style> (hence
 * 'unsafe-inline' for styles only) and its CSS uses data: images. "Try it out" calls the API itself.
 */
export const DOCS_CSP = [
  "default-src 'self'",
  "img-src 'self' data:",
  "style-src 'self' 'unsafe-inline'",
  "script-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

/** /docs and what it loads (not /docs-json, the document itself, an API answer). */
const DOCS = /^\/docs(?:[/?]|$)/;

/**
 * Express middleware: API_HEADERS on every answer (the console's static files set their own caching
 * over it), and on the Swagger UI its policy and no framing. The hot routes write the same headers
 * themselves (hot-routes.ts).
 */
export function securityHeaders(req: IncomingMessage, res: ServerResponse, next: () => void): void {
  for (let i = 0; i < API_HEADER_LIST.length; i += 2) res.setHeader(API_HEADER_LIST[i], API_HEADER_LIST[i + 1]);
  if (DOCS.test(req.url ?? '')) {
    res.setHeader('Content-Security-Policy', DOCS_CSP);
    res.setHeader('X-Frame-Options', 'DENY');
  }
  next();
}
