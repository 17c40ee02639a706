import { BadRequestError } from '../common/errors/errors';
import { TraceContext, traceparentOf } from '../common/http/trace-context';
import { MAX_HEADER_VALUE_BYTES, OWN_HEADERS } from '../catalogs/source-headers';
import type { SignatureHeaders } from './webhook-signature.verifier';

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** What the record headers of one request's events are made of. */
export interface HeaderFacts {
  source: string;
  schemaVersion?: number;
  trace?: TraceContext;
  idempotencyKey?: string;
  /** A signed delivery's id, as the sender's scheme signs it. */
  deliveryId?: string;
  /** The request's headers and the names the source copies from them (lower-case). */
  request?: SignatureHeaders;
  copied?: string[];
}

/**
 * The Kafka record headers of a request's events: ours (source, schema version, delivery id, idempotency
 * key, trace) and the request headers the source copies that the request has. A copied value must be
 * UTF-8 text (Node reads header bytes as Latin-1: they are read back as bytes and decoded) of at most
 * MAX_HEADER_VALUE_BYTES; otherwise the request is refused naming the header.
 */
export function recordHeaders(f: HeaderFacts): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of f.copied ?? []) {
    const raw = f.request?.[name];
    if (raw === undefined) continue;
    out[name] = copiedValue(name, Array.isArray(raw) ? raw.join(', ') : raw);
  }
  out[OWN_HEADERS.source] = f.source;
  if (f.schemaVersion !== undefined) out[OWN_HEADERS.schemaVersion] = String(f.schemaVersion);
  if (f.deliveryId !== undefined) out[OWN_HEADERS.deliveryId] = f.deliveryId;
  if (f.idempotencyKey !== undefined) out[OWN_HEADERS.idempotencyKey] = f.idempotencyKey;
  if (f.trace) {
    out[OWN_HEADERS.traceparent] = traceparentOf(f.trace);
    if (f.trace.state !== undefined) out[OWN_HEADERS.tracestate] = f.trace.state;
  }
  return out;
}

function copiedValue(name: string, latin1: string): string {
  const bytes = Buffer.from(latin1, 'latin1');
  if (bytes.length > MAX_HEADER_VALUE_BYTES) {
    throw new BadRequestError(
      `Header ${name} is ${bytes.length} bytes; a header copied into the event's record headers holds at most ${MAX_HEADER_VALUE_BYTES}`,
    );
  }
  try {
    return utf8.decode(bytes);
  } catch {
    throw new BadRequestError(`Header ${name} is not UTF-8 text: a header copied into the event's record headers must be`);
  }
}
