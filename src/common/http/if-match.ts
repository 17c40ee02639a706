/**
 * Whether an If-Match header value lets a change apply over a resource whose ETag is `etag`: `*`, or
 * one of its listed tags (a weak `W/` tag compared by its value).
 */
export function ifMatchAllows(ifMatch: string, etag: string): boolean {
  const wanted = ifMatch.split(',').map((t) => t.trim().replace(/^W\//, ''));
  return wanted.includes('*') || wanted.includes(etag);
}
