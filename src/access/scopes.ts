/**
 * What a key may do. `ingest:<source>` and `read:<source>` (or `:*`, every source) are per source:
 * POST /ingest, and GET /records, /stats, /dead-letters; `operate` runs the pipeline (streaming,
 * Spark batches, dead-letter replay, DAGs, schedules); `admin` manages keys, the audit trail and
 * sources, and implies every other scope.
 */
export const SCOPE_PATTERN = /^(admin|operate|(ingest|read):(\*|[a-z][a-z0-9_-]{0,63}))$/;

export const SCOPE_FORMAT = 'admin, operate, ingest:<source>, ingest:*, read:<source> or read:*';

/**
 * The rule of a route every valid key may call, whatever it holds (a key asking what it is). It
 * cannot be granted: SCOPE_PATTERN refuses it, so only this rule names it.
 */
export const ANY_KEY = 'any-key';

/**
 * A route's requirement, declared once on its handler (@RequiresScope): a fixed scope (`'operate'`,
 * `'admin'`, `'read:*'`), or a per-source one naming the route parameter that holds the source.
 */
export type ScopeRule = string | { ingest: string } | { read: string };

/** The scope a request needs under `rule`, given its route parameters. */
export type NeededScope = (params: Record<string, string> | undefined) => string;

/** Resolves a rule once, so that a request only substitutes its parameter. */
export function neededScope(rule: ScopeRule): NeededScope {
  if (typeof rule === 'string') return () => rule;
  const [kind, param] = 'ingest' in rule ? ['ingest', rule.ingest] : ['read', rule.read];
  return (params) => `${kind}:${params?.[param] ?? ''}`;
}

/** How the OpenAPI document states a rule: `operate`, `ingest:{source}`. */
export function describeRule(rule: ScopeRule): string {
  if (typeof rule === 'string') return rule;
  return 'ingest' in rule ? `ingest:{${rule.ingest}}` : `read:{${rule.read}}`;
}

/** Whether `scopes` grant `needed`: the scope itself, the wildcard of its kind, or admin. */
export function grants(scopes: ReadonlySet<string>, needed: string): boolean {
  if (needed === ANY_KEY || scopes.has('admin') || scopes.has(needed)) return true;
  const colon = needed.indexOf(':');
  return colon > 0 && scopes.has(`${needed.slice(0, colon)}:*`);
}
