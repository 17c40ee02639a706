import type { IncomingHttpHeaders } from 'node:http';

/** Who a request's key says the caller is, and what it may do. */
export interface Principal {
  /** What the audit trail records: the key's id, or `bootstrap:<4 hex of the key's SHA-256>` for a key of API_KEYS. */
  actor: string;
  /** The key's id; undefined for a key of API_KEYS. */
  keyId?: string;
  name: string;
  scopes: ReadonlySet<string>;
}

/**
 * The one check of a request's key, whatever holds the keys: the access module provides it (keys
 * stored in Cassandra plus API_KEYS); common/ only declares it, for the middleware that must refuse
 * an unauthenticated request before reading its body.
 */
export abstract class Credentials {
  /** The caller the request's key names; throws 401 (UnauthorizedError) for a missing, unknown, revoked or expired key. */
  abstract authenticate(headers: IncomingHttpHeaders): Principal;
}
