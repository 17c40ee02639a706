import { incompatibilities, unsupportedKeywords } from './schema-compatibility';

const ORDER = {
  type: 'object',
  required: ['order_id', 'amount'],
  properties: {
    order_id: { type: 'string', minLength: 1 },
    amount: { type: 'number', minimum: 0 },
    status: { type: 'string', enum: ['new', 'paid'] },
    items: { type: 'array', items: { type: 'object' } },
  },
};
const withProperty = (name: string, schema: Record<string, unknown>) => ({ ...ORDER, properties: { ...ORDER.properties, [name]: schema } });
const backward = (next: Record<string, unknown> | boolean, previous: Record<string, unknown> | boolean = ORDER) =>
  incompatibilities(previous, next, 'backward');

describe('incompatibilities, backward (the new schema accepts every event the previous one accepted)', () => {
  it('finds nothing between a schema and itself, or a copy with its keys in another order', () => {
    expect(backward(ORDER)).toEqual([]);
    expect(backward(JSON.parse(JSON.stringify({ properties: ORDER.properties, required: ORDER.required, type: 'object' })))).toEqual([]);
  });

  it('accepts a new optional property, a widened type, a removed requirement, looser bounds and more enum values', () => {
    const next = {
      type: 'object',
      required: ['order_id'],
      properties: {
        order_id: { type: 'string' },
        amount: { type: ['number', 'string'], minimum: -10 },
        status: { type: 'string', enum: ['new', 'paid', 'refunded'] },
        items: { type: 'array' },
        note: { description: 'free text' },
      },
    };
    expect(backward(next)).toEqual([]);
  });

  it('names a typed property added to an open schema: the previous one accepted any value under that name', () => {
    expect(backward(withProperty('note', { type: 'string' }))).toEqual([{ field: '/properties/note/type', message: 'narrowed from any type to string' }]);
    const closed = { ...ORDER, additionalProperties: false };
    expect(backward({ ...closed, properties: { ...ORDER.properties, note: { type: 'string' } } }, closed)).toEqual([]);
  });

  it('names a narrowed type at its path', () => {
    expect(backward(withProperty('amount', { type: 'integer', minimum: 0 }))).toEqual([
      { field: '/properties/amount/type', message: 'narrowed from number to integer' },
    ]);
  });

  it('takes integer to number as a widening, and number to integer as a narrowing', () => {
    expect(backward({ type: 'number' }, { type: 'integer' })).toEqual([]);
    expect(backward({ type: 'integer' }, { type: 'number' })).toHaveLength(1);
  });

  it('names a new required field', () => {
    expect(backward({ ...ORDER, required: [...ORDER.required, 'currency'] })).toEqual([
      { field: '/properties/currency', message: 'narrowed: "currency" is now required' },
    ]);
  });

  it('names a removed enum value, and an enum where there was none', () => {
    expect(backward(withProperty('status', { type: 'string', enum: ['new'] }))).toEqual([
      { field: '/properties/status/enum', message: 'narrowed: "paid" no longer allowed' },
    ]);
    expect(backward(withProperty('order_id', { type: 'string', minLength: 1, enum: ['a'] }))[0].field).toBe('/properties/order_id/enum');
  });

  it('names every tightened bound', () => {
    const next = withProperty('amount', { type: 'number', minimum: 1, maximum: 100 });
    expect(backward(next)).toEqual([
      { field: '/properties/amount/minimum', message: 'narrowed from 0 to 1' },
      { field: '/properties/amount/maximum', message: 'narrowed from no bound to 100' },
    ]);
    expect(backward(withProperty('order_id', { type: 'string', minLength: 2 }))[0].field).toBe('/properties/order_id/minLength');
    expect(backward({ type: 'array', maxItems: 3 }, { type: 'array' })[0].field).toBe('/maxItems');
    expect(backward({ type: 'number', exclusiveMinimum: 0 }, { type: 'number' })[0].field).toBe('/exclusiveMinimum');
  });

  it('calls a new or changed pattern or format incompatible (it cannot prove the new one accepts as much)', () => {
    expect(backward(withProperty('order_id', { type: 'string', minLength: 1, pattern: '^o-' }))[0].field).toBe('/properties/order_id/pattern');
    expect(backward({ type: 'string', format: 'uuid' }, { type: 'string', format: 'email' })[0].field).toBe('/format');
    expect(backward({ type: 'string', format: 'email' }, { type: 'string', format: 'email' })).toEqual([]);
  });

  it('names additionalProperties closed where it was open', () => {
    expect(backward({ ...ORDER, additionalProperties: false })).toEqual([{ field: '/additionalProperties', message: 'narrowed: closed where it was open' }]);
  });

  it('accepts closing additionalProperties that was already closed, and opening one that was closed', () => {
    const closed = { ...ORDER, additionalProperties: false };
    expect(backward(closed, closed)).toEqual([]);
    expect(backward(ORDER, closed)).toEqual([]);
  });

  it('names a property removed from a closed schema: events that carried it are refused now', () => {
    const closed = { ...ORDER, additionalProperties: false };
    const rest: Record<string, unknown> = { ...ORDER.properties };
    delete rest.status;
    expect(backward({ ...closed, properties: rest }, closed)).toEqual([
      { field: '/properties/status', message: 'narrowed: "status" is no longer allowed (additionalProperties is false)' },
    ]);
  });

  it('checks a new property against what the previous schema allowed for unnamed properties', () => {
    const typedRest = { type: 'object', additionalProperties: { type: 'string' } };
    expect(backward({ ...typedRest, properties: { x: { type: 'string' } } }, typedRest)).toEqual([]);
    expect(backward({ ...typedRest, properties: { x: { type: 'string', maxLength: 3 } } }, typedRest)).toEqual([
      { field: '/properties/x/maxLength', message: 'narrowed from no bound to 3' },
    ]);
  });

  it('names a narrowed type added to a property of any type', () => {
    expect(backward({ properties: { a: { type: 'string' } } }, { properties: { a: {} } })).toEqual([
      { field: '/properties/a/type', message: 'narrowed from any type to string' },
    ]);
  });

  it('recurses into items and nested objects', () => {
    const next = withProperty('items', { type: 'array', items: { type: 'object', required: ['sku'] } });
    expect(backward(next)).toEqual([{ field: '/properties/items/items/properties/sku', message: 'narrowed: "sku" is now required' }]);
  });

  it('handles boolean schemas: false accepts nothing, true everything', () => {
    expect(backward(true)).toEqual([]);
    expect(backward(false)).toEqual([{ field: '/', message: 'narrowed: accepts nothing any more' }]);
    expect(backward(ORDER, false)).toEqual([]);
  });

  it('reports one entry per incompatible path', () => {
    const next = {
      ...ORDER,
      required: [...ORDER.required, 'currency'],
      additionalProperties: false,
      properties: { ...ORDER.properties, amount: { type: 'integer' } },
    };
    expect(backward(next).map((e) => e.field)).toEqual(['/properties/currency', '/properties/amount/type', '/additionalProperties']);
  });
});

describe('incompatibilities, forward, full and none', () => {
  it('forward: the previous schema accepts every event the new one accepts (an optional field may be dropped, not a required one added back)', () => {
    const widened = withProperty('amount', { type: ['number', 'string'], minimum: 0 });
    expect(incompatibilities(ORDER, widened, 'forward')).toEqual([{ field: '/properties/amount/type', message: 'widened from number to number or string' }]);
    expect(incompatibilities(ORDER, { ...ORDER, required: [...ORDER.required, 'currency'] }, 'forward')).toEqual([]);
  });

  it('full: both ways', () => {
    expect(incompatibilities(ORDER, ORDER, 'full')).toEqual([]);
    expect(incompatibilities(ORDER, { ...ORDER, required: ['order_id'] }, 'full').map((e) => e.field)).toEqual(['/properties/amount']);
    expect(incompatibilities(ORDER, { ...ORDER, required: [...ORDER.required, 'x'] }, 'full').map((e) => e.field)).toEqual(['/properties/x']);
  });

  it('none: every change goes', () => {
    expect(incompatibilities(ORDER, false, 'none')).toEqual([]);
  });
});

describe('unsupportedKeywords', () => {
  it('accepts the schemas of config/sources.yaml', () => {
    expect(
      unsupportedKeywords({
        ...ORDER,
        properties: { ...ORDER.properties, post_code: { type: ['string', 'integer'] }, email: { type: 'string', format: 'email' } },
      }),
    ).toEqual([]);
  });

  it('names each keyword outside the subset, at its path', () => {
    expect(unsupportedKeywords({ type: 'object', properties: { a: { oneOf: [{ type: 'string' }] } }, $ref: '#/x' })).toEqual([
      expect.objectContaining({ field: '/$ref' }),
      expect.objectContaining({ field: '/properties/a/oneOf' }),
    ]);
  });

  it('names a keyword of the wrong shape', () => {
    expect(unsupportedKeywords({ type: 'text' })).toEqual([expect.objectContaining({ field: '/type' })]);
    expect(unsupportedKeywords({ required: 'a' })).toEqual([expect.objectContaining({ field: '/required' })]);
    expect(unsupportedKeywords({ minimum: '1' })).toEqual([expect.objectContaining({ field: '/minimum' })]);
    expect(unsupportedKeywords([])).toEqual([expect.objectContaining({ field: '/' })]);
  });
});
