import { UnauthorizedError } from '../errors/errors';
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { Credentials, Principal } from './credentials';

const digest = (value: string) => createHash('sha256').update(value).digest();

/** Every scope: the keys of API_KEYS are the operator's own. */
const ADMIN: ReadonlySet<string> = new Set(['admin']);

/**
 * The configured API keys and the one check of a request's credentials: `Authorization: Bearer <key>`
 * or `X-API-Key: <key>`. Used by the guard on every Nest route and by the ingest route served ahead of
 * the router, so both refuse the same requests with the same words.
 */
export class ApiKeys extends Credentials {
  private readonly keys: Buffer[];
  private readonly principals: Principal[];

  constructor(keys: readonly string[]) {
    super();
    this.keys = keys.map(digest);
    // The actor names a key without giving it away: 4 hex digits of its digest tell the operator's keys apart.
    this.principals = this.keys.map((key) => ({ actor: `bootstrap:${key.toString('hex').slice(0, 4)}`, name: 'bootstrap', scopes: ADMIN }));
  }

  /** Throws 401 unless the request presents one of the keys. */
  check(headers: IncomingHttpHeaders): void {
    this.authenticate(headers);
  }

  /** The bootstrap admin the request's key is; 401 unless it presents one of the keys. */
  authenticate(headers: IncomingHttpHeaders): Principal {
    const presented = ApiKeys.presentedKey(headers);
    if (presented === undefined) throw ApiKeys.missing();
    const found = this.find(presented);
    if (found === undefined) throw new UnauthorizedError('Invalid API key');
    return found;
  }

  /** The bootstrap admin `presented` is, if it is one of the keys. */
  find(presented: string): Principal | undefined {
    // Compare digests in constant time so neither the key nor its length leaks through timing.
    const candidate = digest(presented);
    const index = this.keys.findIndex((key) => timingSafeEqual(key, candidate));
    return index < 0 ? undefined : this.principals[index];
  }

  static missing(): UnauthorizedError {
    return new UnauthorizedError('Missing API key: send "Authorization: Bearer <key>" or "X-API-Key: <key>"');
  }

  /** Whether the request presents one of the keys, and nothing contradicting it: check() without the 401. */
  accepts(headers: IncomingHttpHeaders): boolean {
    try {
      this.check(headers);
      return true;
    } catch {
      return false;
    }
  }

  /**
   * The key the request presents, X-API-Key or a bearer token. Both present and different is
   * refused rather than one of them picked: which one a proxy or a client library would honour is
   * anyone's guess.
   */
  static presentedKey(headers: IncomingHttpHeaders): string | undefined {
    const header = headers['x-api-key'];
    const apiKey = typeof header === 'string' && header.length > 0 ? header : undefined;
    const auth = headers.authorization;
    const match = auth ? /^Bearer\s+(\S+)\s*$/i.exec(auth) : null;
    const bearer = match ? match[1] : undefined;
    // A credential that does not check out is refused, even beside a valid one: never ignored.
    if (auth !== undefined && bearer === undefined && apiKey !== undefined) {
      throw new UnauthorizedError('Authorization must be "Bearer <key>" with the same key as X-API-Key, or be left out');
    }
    if (apiKey !== undefined && bearer !== undefined && !timingSafeEqual(digest(apiKey), digest(bearer))) {
      throw new UnauthorizedError('X-API-Key and Authorization carry different keys');
    }
    return apiKey ?? bearer;
  }
}
