import type { IncomingMessage, ServerResponse } from 'node:http';
import { parseTraceparent, TraceContext, traceContext, traceOf, traceparentOf } from './trace-context';

const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const PARENT = '00f067aa0ba902b7';
const VALID = `00-${TRACE}-${PARENT}-01`;

describe('parseTraceparent', () => {
  it('reads a version 00 traceparent', () => {
    expect(parseTraceparent(VALID)).toEqual({ traceId: TRACE, parentId: PARENT, flags: '01' });
    expect(parseTraceparent(`00-${TRACE}-${PARENT}-00`)).toEqual({ traceId: TRACE, parentId: PARENT, flags: '00' });
  });

  it('reads a later version by its first four fields, as the spec asks', () => {
    expect(parseTraceparent(`cc-${TRACE}-${PARENT}-01-what-comes-later`)).toEqual({ traceId: TRACE, parentId: PARENT, flags: '01' });
  });

  it.each([
    ['absent', undefined],
    ['empty', ''],
    ['version ff', `ff-${TRACE}-${PARENT}-01`],
    ['version 00 with more after the flags', `00-${TRACE}-${PARENT}-01-extra`],
    ['a trace id of zeros', `00-${'0'.repeat(32)}-${PARENT}-01`],
    ['a parent id of zeros', `00-${TRACE}-${'0'.repeat(16)}-01`],
    ['uppercase hex', `00-${TRACE.toUpperCase()}-${PARENT}-01`],
    ['a short trace id', `00-${TRACE.slice(1)}-${PARENT}-01`],
    ['not hex', `00-${TRACE.replace('4', 'g')}-${PARENT}-01`],
    ['two headers joined by Node', `${VALID}, ${VALID}`],
    ['repeated lines given as a list', [VALID, VALID]],
  ])('refuses %s', (_what, value) => {
    expect(parseTraceparent(value)).toBeUndefined();
  });
});

describe('traceOf', () => {
  it("continues the caller's trace under a new span of its own, with the caller's flags and tracestate", () => {
    const trace = traceOf({ traceparent: VALID, tracestate: 'congo=t61rcWkgMzE,rojo=00f067aa0ba902b7' });

    expect(trace).toEqual({
      traceId: TRACE,
      parentId: PARENT,
      spanId: expect.stringMatching(/^[0-9a-f]{16}$/),
      flags: '01',
      state: 'congo=t61rcWkgMzE,rojo=00f067aa0ba902b7',
    });
    expect(trace.spanId).not.toBe(PARENT);
  });

  it('starts a new sampled trace when the traceparent is absent or unparsable, never refusing the request', () => {
    for (const headers of [{}, { traceparent: 'garbage' }, { traceparent: `ff-${TRACE}-${PARENT}-01`, tracestate: 'a=b' }]) {
      const trace = traceOf(headers);
      expect(trace).toEqual({ traceId: expect.stringMatching(/^[0-9a-f]{32}$/), spanId: expect.stringMatching(/^[0-9a-f]{16}$/), flags: '01' });
      expect(trace.traceId).not.toBe(TRACE);
    }
    expect(traceOf({}).traceId).not.toBe(traceOf({}).traceId);
  });

  it('drops a tracestate that is too long or not printable ASCII, keeping the trace', () => {
    expect(traceOf({ traceparent: VALID, tracestate: `a=${'x'.repeat(511)}` }).state).toBeUndefined();
    expect(traceOf({ traceparent: VALID, tracestate: 'a=\u00e9' }).state).toBeUndefined();
    expect(traceOf({ traceparent: VALID, tracestate: `a=${'x'.repeat(508)}` }).state).toBe(`a=${'x'.repeat(508)}`);
  });
});

describe('traceContext', () => {
  it('gives the request its trace and answers traceresponse naming this request’s span', () => {
    const req = { headers: { traceparent: VALID } } as unknown as IncomingMessage & { trace?: TraceContext };
    const set: Record<string, string> = {};
    const res = { setHeader: (name: string, value: string) => (set[name] = value) } as unknown as ServerResponse;
    const next = jest.fn();

    traceContext(req, res, next);

    expect(req.trace?.traceId).toBe(TRACE);
    expect(set.traceresponse).toBe(`00-${TRACE}-${req.trace!.spanId}-01`);
    expect(traceparentOf(req.trace!)).toBe(set.traceresponse);
    expect(next).toHaveBeenCalledTimes(1);
  });
});
