import { parseCopiedHeaders } from '../catalogs/source-headers';
import { BadRequestError } from '../common/errors/errors';
import { recordHeaders } from './record-headers';

const TRACE = { traceId: '4bf92f3577b34da6a3ce929d0e0e4736', parentId: '00f067aa0ba902b7', spanId: 'a0b1c2d3e4f50617', flags: '01' };

describe('recordHeaders', () => {
  it("carries ours: the source, the schema version, the delivery id, the idempotency key and the trace with this request's span", () => {
    expect(recordHeaders({ source: 'orders', schemaVersion: 3, trace: { ...TRACE, state: 'rojo=1' }, idempotencyKey: 'order-7', deliveryId: 'msg_1' })).toEqual(
      {
        'pipeline-source': 'orders',
        'pipeline-schema-version': '3',
        'pipeline-delivery-id': 'msg_1',
        'idempotency-key': 'order-7',
        traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-a0b1c2d3e4f50617-01',
        tracestate: 'rojo=1',
      },
    );
    expect(recordHeaders({ source: 'clicks' })).toEqual({ 'pipeline-source': 'clicks' });
  });

  it('copies the request headers the source names that the request has, by their lower-case names', () => {
    const headers = recordHeaders({
      source: 'orders',
      request: { 'x-shop-id': 'shop-42', 'user-agent': 'curl/8', 'x-not-copied': 'no', 'x-api-key': 'secret' },
      copied: ['x-shop-id', 'user-agent', 'x-absent'],
    });

    expect(headers).toEqual({ 'x-shop-id': 'shop-42', 'user-agent': 'curl/8', 'pipeline-source': 'orders' });
  });

  it('reads a value as the UTF-8 bytes Node decoded as Latin-1, and joins a repeated header as Node does', () => {
    const latin1 = Buffer.from('café ☕', 'utf8').toString('latin1');
    expect(recordHeaders({ source: 's', request: { 'x-name': latin1, 'x-list': ['a', 'b'] }, copied: ['x-name', 'x-list'] })).toMatchObject({
      'x-name': 'café ☕',
      'x-list': 'a, b',
    });
  });

  it('refuses a copied value that is not UTF-8, or over 4 KB, naming the header', () => {
    const bad = () => recordHeaders({ source: 's', request: { 'x-name': Buffer.from([0x63, 0xe9]).toString('latin1') }, copied: ['x-name'] });
    expect(bad).toThrow(BadRequestError);
    expect(bad).toThrow('Header x-name is not UTF-8 text');
    const long = () => recordHeaders({ source: 's', request: { 'x-long': 'x'.repeat(4097) }, copied: ['x-long'] });
    expect(long).toThrow("Header x-long is 4097 bytes; a header copied into the event's record headers holds at most 4096");
    expect(recordHeaders({ source: 's', request: { 'x-long': 'x'.repeat(4096) }, copied: ['x-long'] })['x-long']).toHaveLength(4096);
  });
});

describe('parseCopiedHeaders (a source’s headers setting)', () => {
  const where = 'config/sources.yaml: source "orders"';

  it('lower-cases the names', () => {
    expect(parseCopiedHeaders(['X-Shop-Id', 'User-Agent'], where)).toEqual(['x-shop-id', 'user-agent']);
    expect(parseCopiedHeaders([], where)).toEqual([]);
  });

  it.each([
    ['not a list', 'X-Shop-Id', 'headers must be a list of request header names'],
    ['not names', [1], 'headers must be a list of request header names'],
    ['a name with a space', ['X Shop'], '"X Shop" is not an HTTP header name'],
    ['our traceparent', ['Traceparent'], '"Traceparent" is set by the pipeline itself'],
    ['our idempotency key', ['idempotency-key'], 'is set by the pipeline itself'],
    ['a pipeline- name', ['Pipeline-Anything'], 'is set by the pipeline itself'],
    ['an API key', ['X-API-Key'], '"X-API-Key" holds credentials and is never copied into Kafka'],
    ['the authorization', ['Authorization'], 'holds credentials'],
    ['a cookie', ['cookie'], 'holds credentials'],
    ['a name twice', ['X-A', 'x-a'], 'headers names "x-a" twice'],
    ['17 names', Array.from({ length: 17 }, (_, i) => `x-${i}`), 'headers names 17 headers; at most 16'],
  ])('refuses %s', (_what, value, message) => {
    expect(() => parseCopiedHeaders(value, where)).toThrow(message);
    expect(() => parseCopiedHeaders(value, where)).toThrow(where);
  });
});
