import type { Server } from 'node:http';
import { AppConfig } from '../config/app-config';

/** How often Node looks for requests past headersTimeout or requestTimeout (its default, 30 s, would let them run that much longer). */
const CHECK_INTERVAL_MS = 1000;

/**
 * Bounds what one client can hold of the server: the headers must arrive within headersTimeout and
 * the whole request (body included) within requestTimeout, or Node answers 408 and closes the
 * connection; an idle keep-alive connection is closed after keepAliveTimeout; and past
 * maxConnections a new connection is closed at once. Set before listen: Node starts its timeout checks when
 * the server starts listening. In workers mode each worker applies them to its own connections.
 */
export function applyServerLimits(server: Server, http: AppConfig['http']): void {
  server.headersTimeout = http.headersTimeoutMs;
  server.requestTimeout = http.requestTimeoutMs;
  server.keepAliveTimeout = http.keepAliveTimeoutMs;
  server.maxConnections = http.maxConnections;
  (server as Server & { connectionsCheckingInterval: number }).connectionsCheckingInterval = Math.min(CHECK_INTERVAL_MS, http.headersTimeoutMs);
}
