import { createHmac, timingSafeEqual } from 'node:crypto';
import { SignatureScheme, SourceSignature } from '../catalogs/source-signature';

/** Request headers as Node hands them over (lower-case names); other spellings are found too. */
export type SignatureHeaders = Readonly<Record<string, string | string[] | undefined>>;

/** Why a delivery's signature was refused. */
export type SignatureProblem = 'missing_header' | 'malformed_header' | 'timestamp_too_old' | 'timestamp_in_future' | 'no_match';

/**
 * The outcome of a check. Only what the signature covers is answered, since whoever captured a
 * delivery can change any other header: `deliveryId`, the sender's id of the delivery where the scheme
 * signs it in a header (`webhook-id`, standard-webhooks), and `signedTimestamp`, the timestamp the
 * signature covers (standard-webhooks, stripe, hmac-sha256 with a timestamp header). GitHub's
 * `X-GitHub-Delivery` is not signed, so it is not answered. Stripe's id is the `id` of the JSON body:
 * the caller reads it after parsing, so the body is parsed once, by the events parser.
 * A refusal's message says what is wrong, never what the signature should have been.
 */
export type SignatureCheck = { ok: true; deliveryId?: string; signedTimestamp?: string } | { ok: false; problem: SignatureProblem; message: string };

const HMAC_BYTES = 32;
const HEX_DIGEST = /^[0-9a-fA-F]{64}$/;
const BASE64_DIGEST = /^[A-Za-z0-9+/]{43}=?$/;
const UNIX_SECONDS = /^\d{1,12}$/;

/**
 * Checks the signature of one delivery: an HMAC-SHA256 over the raw body exactly as received
 * (never a re-serialised parse), compared in constant time with every signature the delivery
 * carries, under every key of the source (rotation). Where the scheme signs a timestamp, a delivery
 * older or further in the future than the tolerance is refused, so a captured one cannot be
 * replayed later. `nowMs` is the current time in milliseconds since the epoch.
 */
export function verifySignature(signature: SourceSignature, headers: SignatureHeaders, body: Buffer, nowMs: number): SignatureCheck {
  switch (signature.scheme) {
    case 'standard-webhooks':
      return standardWebhooks(signature.keys, signature.toleranceSeconds, headers, body, nowMs);
    case 'github':
      return github(signature.keys, headers, body);
    case 'stripe':
      return stripe(signature.keys, signature.toleranceSeconds, headers, body, nowMs);
    case 'hmac-sha256':
      return hmacSha256(signature, headers, body, nowMs);
  }
}

/**
 * The refusal of a delivery that lacks a header its scheme needs, or undefined: the part of the check
 * that needs no body, so a request can be refused before its body is read (see SignaturePrecheck).
 * The same refusal verifySignature answers for such a delivery.
 */
export function missingSignatureHeaders(signature: SourceSignature, headers: SignatureHeaders): Extract<SignatureCheck, { ok: false }> | undefined {
  const needed = (names: string[]) => Object.fromEntries(names.map((name) => [name, header(headers, name)]));
  switch (signature.scheme) {
    case 'standard-webhooks':
      return missingHeaders('standard-webhooks', needed(['webhook-id', 'webhook-timestamp', 'webhook-signature']));
    case 'github':
      return missingHeaders('github', needed(['X-Hub-Signature-256']));
    case 'stripe':
      return missingHeaders('stripe', needed(['Stripe-Signature']));
    case 'hmac-sha256':
      return missingHeaders('hmac-sha256', needed(signature.timestampHeader ? [signature.header, signature.timestampHeader] : [signature.header]));
  }
}

function standardWebhooks(keys: Buffer[], toleranceSeconds: number, headers: SignatureHeaders, body: Buffer, nowMs: number): SignatureCheck {
  const id = header(headers, 'webhook-id');
  const timestamp = header(headers, 'webhook-timestamp');
  const signatures = header(headers, 'webhook-signature');
  const missing = missingHeaders('standard-webhooks', { 'webhook-id': id, 'webhook-timestamp': timestamp, 'webhook-signature': signatures });
  if (missing) return missing;
  // Space-separated "v1,<base64>" entries; other versions (v1a, ...) are skipped, as the reference libraries do.
  // Node joins a repeated header with ", ", hence the trailing commas dropped.
  const candidates = signatures!
    .split(/\s+/)
    .map((entry) => entry.replace(/,$/, ''))
    .filter((entry) => entry.startsWith('v1,') && BASE64_DIGEST.test(entry.slice(3)))
    .map((entry) => Buffer.from(entry.slice(3), 'base64'));
  if (candidates.length === 0) {
    return refused('malformed_header', 'webhook-signature holds no "v1,<base64 of the HMAC-SHA256>" signature');
  }
  const stale = outsideTolerance('webhook-timestamp', timestamp!, toleranceSeconds, nowMs);
  if (stale) return stale;
  if (!anyMatches(keys, [Buffer.from(`${id}.${timestamp}.`), body], candidates)) return noMatch('webhook-signature');
  return { ok: true, deliveryId: id, signedTimestamp: timestamp };
}

function github(keys: Buffer[], headers: SignatureHeaders, body: Buffer): SignatureCheck {
  const signature = header(headers, 'x-hub-signature-256');
  const missing = missingHeaders('github', { 'X-Hub-Signature-256': signature });
  if (missing) return missing;
  const hex = signature!.startsWith('sha256=') ? signature!.slice('sha256='.length) : '';
  if (!HEX_DIGEST.test(hex)) return refused('malformed_header', 'X-Hub-Signature-256 must be "sha256=<hex of the HMAC-SHA256 of the body>"');
  if (!anyMatches(keys, [body], [Buffer.from(hex, 'hex')])) return noMatch('X-Hub-Signature-256');
  return { ok: true };
}

function stripe(keys: Buffer[], toleranceSeconds: number, headers: SignatureHeaders, body: Buffer, nowMs: number): SignatureCheck {
  const value = header(headers, 'stripe-signature');
  const missing = missingHeaders('stripe', { 'Stripe-Signature': value });
  if (missing) return missing;
  const pairs = value!.split(',').map((item) => {
    const eq = item.indexOf('=');
    return eq < 0 ? ['', ''] : [item.slice(0, eq).trim(), item.slice(eq + 1).trim()];
  });
  const timestamps = pairs.filter(([k]) => k === 't').map(([, v]) => v);
  // Only v1 is HMAC-SHA256; v0 (and any later scheme) is ignored, as Stripe's libraries do.
  const candidates = pairs.filter(([k, v]) => k === 'v1' && HEX_DIGEST.test(v)).map(([, v]) => Buffer.from(v, 'hex'));
  if (timestamps.length !== 1 || candidates.length === 0) {
    return refused('malformed_header', 'Stripe-Signature must be "t=<unix seconds>,v1=<hex HMAC-SHA256>[,v1=...]" with one t and at least one v1');
  }
  const stale = outsideTolerance('Stripe-Signature t', timestamps[0], toleranceSeconds, nowMs);
  if (stale) return stale;
  if (!anyMatches(keys, [Buffer.from(`${timestamps[0]}.`), body], candidates)) return noMatch('Stripe-Signature');
  return { ok: true, signedTimestamp: timestamps[0] };
}

function hmacSha256(signature: Extract<SourceSignature, { scheme: 'hmac-sha256' }>, headers: SignatureHeaders, body: Buffer, nowMs: number): SignatureCheck {
  const value = header(headers, signature.header);
  const timestamp = signature.timestampHeader ? header(headers, signature.timestampHeader) : undefined;
  const missing = missingHeaders('hmac-sha256', {
    [signature.header]: value,
    ...(signature.timestampHeader ? { [signature.timestampHeader]: timestamp } : {}),
  });
  if (missing) return missing;
  const digest = signature.encoding === 'hex' ? HEX_DIGEST : BASE64_DIGEST;
  if (!digest.test(value!)) {
    return refused(
      'malformed_header',
      `${signature.header} must hold the ${signature.encoding} of an HMAC-SHA256 (${signature.encoding === 'hex' ? '64 hex digits' : '44 base64 characters'})`,
    );
  }
  const candidate = Buffer.from(value!, signature.encoding);
  if (!signature.timestampHeader) {
    return anyMatches(signature.keys, [body], [candidate]) ? { ok: true } : noMatch(signature.header);
  }
  const stale = outsideTolerance(signature.timestampHeader, timestamp!, signature.toleranceSeconds, nowMs);
  if (stale) return stale;
  return anyMatches(signature.keys, [Buffer.from(`${timestamp}.`), body], [candidate]) ? { ok: true, signedTimestamp: timestamp } : noMatch(signature.header);
}

/**
 * Whether any candidate equals the HMAC of the signed parts under any key. Every pair is compared,
 * each with timingSafeEqual on two 32-byte buffers, so the time taken says nothing about how close
 * a guess came, nor which key or signature matched.
 */
function anyMatches(keys: Buffer[], signed: Buffer[], candidates: Buffer[]): boolean {
  let matched = false;
  for (const key of keys) {
    const hmac = createHmac('sha256', key);
    for (const part of signed) hmac.update(part);
    const expected = hmac.digest();
    for (const candidate of candidates) {
      // Candidates were decoded from 64 hex digits or 44 base64 characters: always 32 bytes.
      const equal = candidate.length === HMAC_BYTES && timingSafeEqual(candidate, expected);
      matched = matched || equal;
    }
  }
  return matched;
}

function outsideTolerance(name: string, value: string, toleranceSeconds: number, nowMs: number): SignatureCheck | undefined {
  if (!UNIX_SECONDS.test(value)) return refused('malformed_header', `${name} must be a Unix time in whole seconds`);
  const age = Math.floor(nowMs / 1000) - Number(value);
  if (age > toleranceSeconds) {
    return refused('timestamp_too_old', `${name} is ${age} s old; deliveries older than ${toleranceSeconds} s are refused (a replay, or a clock far behind)`);
  }
  if (-age > toleranceSeconds) {
    return refused('timestamp_in_future', `${name} is ${-age} s in the future; at most ${toleranceSeconds} s of clock difference is accepted`);
  }
  return undefined;
}

function missingHeaders(scheme: SignatureScheme, values: Record<string, string | undefined>): Extract<SignatureCheck, { ok: false }> | undefined {
  const missing = Object.entries(values)
    .filter(([, v]) => v === undefined)
    .map(([name]) => name);
  if (missing.length === 0) return undefined;
  return refused(
    'missing_header',
    `Missing ${missing.length > 1 ? 'headers' : 'header'} ${missing.join(', ')}: this source accepts only deliveries signed with ${scheme}; an API key does not replace the signature`,
  );
}

const noMatch = (name: string) =>
  refused('no_match', `No signature in ${name} matches the source's signing secret(s): check the secret, and that the body is sent exactly as it was signed`);

const refused = (problem: SignatureProblem, message: string): Extract<SignatureCheck, { ok: false }> => ({ ok: false, problem, message });

/** A header's value by case-insensitive name; a repeated header (an array) is joined as Node joins others. Empty counts as absent. */
function header(headers: SignatureHeaders, name: string): string | undefined {
  const lower = name.toLowerCase();
  const key = Object.prototype.hasOwnProperty.call(headers, lower) ? lower : Object.keys(headers).find((k) => k.toLowerCase() === lower);
  const value = key === undefined ? undefined : headers[key];
  const text = Array.isArray(value) ? value.join(', ') : value;
  return text === undefined || text.trim() === '' ? undefined : text.trim();
}
