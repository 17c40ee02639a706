import { existsSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname, join } from 'node:path';
import { labelRoute } from '../metrics/http-metrics.middleware';

/** The route label of the console's static files in the HTTP metrics (one series, whatever the file). */
export const CONSOLE_ROUTE = 'console';

/**
 * The console's Content-Security-Policy: its own scripts, styles and API calls only. No inline
 * script or style is allowed (the build emits none; the chart library styles through the CSSOM,
 * which the policy does not govern), nothing may frame the page, and forms post nowhere else.
 */
export const CONSOLE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "connect-src 'self'",
  "manifest-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

const TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
};

/** Files whose names carry a hash of their content (Vite's assets/): cached for a year, never revalidated. */
const HASHED = /\/assets\/[^/]+-[\w-]{8,}\.\w+(\.gz)?$/;

/**
 * The headers of every file of the console: its policy, no sniffing, no referrer, and caching
 * (index.html is revalidated each time, so a new build is picked up at the next load). A `.gz`
 * file stands for the file without the suffix (see precompressedAssets).
 */
export function setConsoleHeaders(res: ServerResponse, path: string): void {
  const req = (res as ServerResponse & { req?: IncomingMessage }).req;
  if (req) labelRoute(req, CONSOLE_ROUTE);
  res.setHeader('Content-Security-Policy', CONSOLE_CSP);
  res.setHeader('X-Content-Type-Options', 'nosniff');
  res.setHeader('Referrer-Policy', 'no-referrer');
  res.setHeader('X-Frame-Options', 'DENY');
  res.setHeader('Cross-Origin-Opener-Policy', 'same-origin');
  res.setHeader('Cache-Control', HASHED.test(path) ? 'public, max-age=31536000, immutable' : 'no-cache');
  if (path.endsWith('.gz')) {
    res.setHeader('Content-Encoding', 'gzip');
    res.setHeader('Content-Type', TYPES[extname(path.slice(0, -3))] ?? 'application/octet-stream');
  }
  if (/\.(js|css|svg)(\.gz)?$/.test(path)) res.setHeader('Vary', 'Accept-Encoding');
}

/** Whether the client takes gzip (a q=0 refuses it). */
export function acceptsGzip(header: string | undefined): boolean {
  if (!header) return false;
  return header.split(',').some((part) => {
    const [coding, ...params] = part
      .trim()
      .split(';')
      .map((s) => s.trim());
    if (coding !== 'gzip' && coding !== '*') return false;
    const q = params.find((p) => p.startsWith('q='));
    return q === undefined || Number(q.slice(2)) > 0;
  });
}

/**
 * Serves the build's gzipped copy of an asset (`x.js.gz`, written by the console's build) to a
 * client that accepts gzip, by pointing the request at it before the static files are looked up.
 * Only the console's assets are concerned; any other request passes untouched.
 */
export function precompressedAssets(dir: string) {
  return (req: IncomingMessage, _res: ServerResponse, next: () => void): void => {
    const url = req.url ?? '';
    if ((req.method === 'GET' || req.method === 'HEAD') && url.startsWith('/assets/') && /^\/assets\/[\w.-]+\.(js|css|svg)$/.test(url)) {
      if (acceptsGzip(req.headers['accept-encoding']) && existsSync(join(dir, `${url}.gz`))) req.url = `${url}.gz`;
    }
    next();
  };
}
