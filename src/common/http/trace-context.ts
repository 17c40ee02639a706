import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';

/**
 * A request's place in a W3C trace (https://www.w3.org/TR/trace-context/): the caller's trace when it
 * sent a valid `traceparent`, else a new one. `spanId` is this request's own span: the parent of what it
 * publishes to Kafka and of the micro-batch that stores it.
 */
export interface TraceContext {
  /** 32 lowercase hex digits, never all zeros. */
  traceId: string;
  /** The caller's span (from its traceparent); absent when this request started the trace. */
  parentId?: string;
  /** This request's span: 16 lowercase hex digits. */
  spanId: string;
  /** The trace flags, 2 hex digits (01: sampled). */
  flags: string;
  /** The caller's tracestate, kept only with a valid traceparent. */
  state?: string;
}

const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$/;
const ZEROS = /^0+$/;
/** tracestate: at most 32 list members of printable ASCII; the spec asks vendors to pass on 512 characters. */
const TRACESTATE = /^[\x20-\x2b\x2d-\x7e]*(,[\x20-\x2b\x2d-\x7e]*){0,31}$/;
const TRACESTATE_MAX = 512;

/**
 * The caller's trace parsed from `traceparent`, or undefined when it is absent or not valid (a version
 * `ff`, a version 00 with anything after the flags, ids all zeros, uppercase hex, two headers joined).
 * A later version is read by its first four fields, as the spec asks.
 */
export function parseTraceparent(value: string | string[] | undefined): { traceId: string; parentId: string; flags: string } | undefined {
  if (typeof value !== 'string') return undefined;
  const m = TRACEPARENT.exec(value.trim());
  if (!m) return undefined;
  const [, version, traceId, parentId, flags, rest] = m;
  if (version === 'ff' || (version === '00' && rest !== undefined)) return undefined;
  if (ZEROS.test(traceId) || ZEROS.test(parentId)) return undefined;
  return { traceId, parentId, flags };
}

/** The trace a request takes part in: the caller's (with its tracestate when that is well-formed), or a new, sampled one. */
export function traceOf(headers: IncomingMessage['headers']): TraceContext {
  const spanId = newId(8);
  const caller = parseTraceparent(headers.traceparent);
  if (!caller) return { traceId: newId(16), spanId, flags: '01' };
  const state = headers.tracestate;
  const keep = typeof state === 'string' && state.length <= TRACESTATE_MAX && TRACESTATE.test(state) && state.trim() !== '';
  return { traceId: caller.traceId, parentId: caller.parentId, spanId, flags: caller.flags, ...(keep ? { state: state.trim() } : {}) };
}

/** `traceparent` naming this request's span: what is published with its events, and answered to the caller. */
export function traceparentOf(trace: TraceContext): string {
  return `00-${trace.traceId}-${trace.spanId}-${trace.flags}`;
}

/**
 * Gives the request its trace (req.trace) and answers it in `traceresponse` (W3C Trace Context Level 2),
 * so a caller that sent none learns the trace its events are stored under. Mounted next to the request id.
 */
export function traceContext(req: IncomingMessage & { trace?: TraceContext }, res: ServerResponse, next: () => void): void {
  req.trace = traceOf(req.headers);
  res.setHeader('traceresponse', traceparentOf(req.trace));
  next();
}

/** Lowercase hex of `bytes` random bytes, never all zeros. */
function newId(bytes: number): string {
  for (;;) {
    const id = randomBytes(bytes).toString('hex');
    if (!ZEROS.test(id)) return id;
  }
}
