/**
 * A source's `headers` setting: the request headers copied into each event's Kafka record headers
 * (ingestion/record-headers.ts builds them), and the names it may not take.
 */

/** The record headers the control plane sets itself; a source's allow-list may not name them. */
export const OWN_HEADERS = {
  source: 'pipeline-source',
  schemaVersion: 'pipeline-schema-version',
  deliveryId: 'pipeline-delivery-id',
  idempotencyKey: 'idempotency-key',
  traceparent: 'traceparent',
  tracestate: 'tracestate',
} as const;

/** Request headers that hold credentials: never copied into Kafka, where every consumer would read them. */
export const CREDENTIAL_HEADERS = ['authorization', 'proxy-authorization', 'cookie', 'x-api-key'];

/** How many request headers a source may copy, and how long a copied value may be (UTF-8 bytes). */
export const MAX_COPIED_HEADERS = 16;
export const MAX_HEADER_VALUE_BYTES = 4096;

/** An HTTP header name (RFC 9110 token). */
const HEADER_NAME = /^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,64}$/;

/**
 * A source's `headers` setting checked: a list of distinct request header names, lower-cased, none of
 * ours and no credential. Throws one message naming what to fix.
 */
export function parseCopiedHeaders(value: unknown, where: string): string[] {
  if (!Array.isArray(value) || value.some((v) => typeof v !== 'string')) {
    throw new Error(`${where}: headers must be a list of request header names, e.g. [X-Shop-Id, User-Agent]`);
  }
  if (value.length > MAX_COPIED_HEADERS) throw new Error(`${where}: headers names ${value.length} headers; at most ${MAX_COPIED_HEADERS}`);
  const names = (value as string[]).map((name) => {
    if (!HEADER_NAME.test(name)) throw new Error(`${where}: headers: "${name}" is not an HTTP header name`);
    const lower = name.toLowerCase();
    if (Object.values<string>(OWN_HEADERS).includes(lower) || lower.startsWith('pipeline-')) {
      throw new Error(`${where}: headers: "${name}" is set by the pipeline itself (${Object.values(OWN_HEADERS).join(', ')}, pipeline-*)`);
    }
    if (CREDENTIAL_HEADERS.includes(lower)) throw new Error(`${where}: headers: "${name}" holds credentials and is never copied into Kafka`);
    return lower;
  });
  const twice = names.filter((n, i) => names.indexOf(n) !== i);
  if (twice.length) throw new Error(`${where}: headers names "${twice[0]}" twice`);
  return names;
}
