import { readContract } from '../common/testing/contracts';
import { durationSeconds } from '../catalogs/buckets';
import { aggregateName, aggregateNames, FieldError, pointerProblem, pointerTokens, ViewSource, viewDefinitionErrors } from './view-definition';

interface ViewsContract {
  valid: { name: string; definition: Record<string, unknown> }[];
  invalid: { name: string; definition: Record<string, unknown>; fields: string[] }[];
}

const NOW = new Date('2026-12-07T12:00:00Z');
const ORDER_SCHEMA = {
  type: 'object',
  properties: {
    amount: { type: 'number' },
    quantity: { type: 'integer' },
    currency: { type: 'string' },
    note: { type: ['string', 'null'] },
    refund: { type: ['number', 'null'] },
    paid_at: { type: 'string', format: 'date-time' },
    ts: { type: 'integer' },
    gift: { type: 'boolean' },
    anything: { description: 'no type' },
    either: { anyOf: [{ type: 'string' }, { type: 'number' }] },
    meta: { type: 'object', additionalProperties: false, properties: { region: { type: 'string' } } },
    labels: { type: 'object', additionalProperties: { type: 'string' } },
    lines: { type: 'array', items: { type: 'object', properties: { price: { type: 'number' }, sku: { type: 'string' } } } },
    tuple: { type: 'array', prefixItems: [{ type: 'string' }] },
    never: false,
  },
};
const CLOSED_SCHEMA = { type: 'object', additionalProperties: false, properties: { amount: { type: 'number' } } };

const SOURCES: Record<string, ViewSource> = {
  orders: { archived: false },
  typed: { archived: false, schema: ORDER_SCHEMA },
  closed: { archived: false, schema: CLOSED_SCHEMA },
  gone: { archived: true },
};
const lookup = (name: string): ViewSource | undefined => SOURCES[name];

const base = { name: 'v', source: 'orders', window: '1m', aggregates: [{ fn: 'count' }] };
const errorsOf = (body: unknown, now = NOW): FieldError[] => viewDefinitionErrors(body, lookup, now);
const fieldsOf = (body: unknown): string[] => errorsOf(body).map((e) => e.field);
const messageAt = (body: unknown, field: string): string | undefined => errorsOf(body).find((e) => e.field === field)?.message;

describe('contracts/views.json (the streaming job judges the same definitions)', () => {
  const contract = readContract<ViewsContract>('views.json');
  const orders = (name: string): ViewSource | undefined => (name === 'orders' ? { archived: false } : undefined);

  it('holds valid and invalid cases, every one over the source orders', () => {
    expect(contract.valid.length).toBeGreaterThanOrEqual(10);
    expect(contract.invalid.length).toBeGreaterThanOrEqual(12);
    for (const c of [...contract.valid, ...contract.invalid]) expect(c.definition.source).toBe('orders');
  });

  it.each(contract.valid.map((c) => [c.name, c.definition] as const))('accepts %s', (_name, definition) => {
    expect(viewDefinitionErrors(definition, orders, NOW)).toEqual([]);
  });

  it.each(contract.invalid.map((c) => [c.name, c.definition, c.fields] as const))('refuses %s at exactly its fields', (_name, definition, fields) => {
    expect(
      viewDefinitionErrors(definition, orders, NOW)
        .map((e) => e.field)
        .sort(),
    ).toEqual([...fields].sort());
  });
});

describe('viewDefinitionErrors', () => {
  it('accepts the smallest definition, and the full one of the docs', () => {
    expect(errorsOf(base)).toEqual([]);
    expect(
      errorsOf({
        name: 'revenue_per_currency',
        source: 'orders',
        window: '1m',
        slide: '30s',
        groupBy: ['/currency'],
        filter: [{ field: '/status', op: '=', value: 'paid' }],
        aggregates: [{ fn: 'count' }, { fn: 'sum', field: '/amount', as: 'revenue' }],
        timeField: '/paid_at',
        lateness: '10m',
        backfillFrom: '2026-12-01T00:00:00Z',
      }),
    ).toEqual([]);
  });

  it('names every broken rule at once, each once', () => {
    const errors = errorsOf({
      name: 'Bad',
      source: 'nowhere',
      window: '7m',
      groupBy: ['currency'],
      filter: [{ field: '/a', op: 'like', value: 'x' }],
      aggregates: [{ fn: 'sum' }],
      timeField: '/',
      lateness: '8d',
      backfillFrom: 'yesterday',
      colour: 'red',
    });

    expect(errors.map((e) => e.field)).toEqual([
      'colour',
      'name',
      'source',
      'window',
      'groupBy/0',
      'filter/0/op',
      'aggregates/0/field',
      'timeField',
      'lateness',
      'backfillFrom',
    ]);
    for (const e of errors) expect(e.message).toEqual(expect.any(String));
  });

  it.each([
    ['an array', []],
    ['null', null],
    ['a string', 'view'],
  ])('refuses a body that is %s as a whole', (_case, body) => {
    expect(errorsOf(body)).toEqual([{ field: 'body', message: expect.stringContaining('JSON object') }]);
  });

  describe('name', () => {
    it.each(['a', 'revenue_per_currency', 'v2', 'a'.repeat(63)])('takes %s', (name) => {
      expect(errorsOf({ ...base, name })).toEqual([]);
    });

    it.each([
      ['missing', undefined, 'is required'],
      ['not a string', 7, 'must be a string'],
      ['empty', '', 'must match'],
      ['upper case', 'Revenue', 'must match'],
      ['starting with a digit', '1st', 'must match'],
      ['with a dash', 'a-b', 'must match'],
      ['surrounded by spaces (refused, not trimmed)', ' v ', 'must match'],
      ['64 long', 'a'.repeat(64), 'must match'],
    ])('refuses a name %s', (_case, name, message) => {
      expect(errorsOf({ ...base, name })).toEqual([{ field: 'name', message: expect.stringContaining(message) }]);
    });
  });

  describe('source', () => {
    it('refuses a missing, unknown or archived source', () => {
      expect(messageAt({ ...base, source: undefined }, 'source')).toBe('is required');
      expect(messageAt({ ...base, source: ['orders'] }, 'source')).toBe('must be a string');
      expect(messageAt({ ...base, source: 'nowhere' }, 'source')).toContain('names no source');
      expect(messageAt({ ...base, source: 'gone' }, 'source')).toContain('archived');
    });
  });

  describe('window and slide', () => {
    it.each(['1s', '90s', '1m', '30m', '1h', '8h', '24h', '1d', '86400s'])('takes a window of %s', (window) => {
      expect(errorsOf({ ...base, window })).toEqual([]);
    });

    it.each([
      ['missing', undefined, 'is required'],
      ['a number', 60, 'must be a duration'],
      ['of 0', '0s', 'must be a duration'],
      ['with a leading zero', '01m', 'must be a duration'],
      ['with a space', '1 m', 'must be a duration'],
      ['in weeks', '1w', 'must be a duration'],
      ['with a fraction', '1.5h', 'must be a duration'],
      ['over a day', '2d', 'at most 1d'],
      ['of 86401s', '86401s', 'at most 1d'],
      ['that does not divide a day (7m)', '7m', 'divide a day'],
      ['that does not divide a day (7s)', '7s', 'divide a day'],
    ])('refuses a window %s', (_case, window, message) => {
      expect(errorsOf({ ...base, window })).toEqual([{ field: 'window', message: expect.stringContaining(message) }]);
    });

    it('takes a slide that divides the window, the window itself included', () => {
      for (const slide of ['1s', '15s', '30s', '1m']) expect(errorsOf({ ...base, slide })).toEqual([]);
    });

    it.each([
      ['longer than the window', '2m', 'at most the window'],
      ['that does not divide the window', '25s', 'divide the window'],
      ['that is no duration', 'half', 'must be a duration'],
      ['null', null, 'must be a duration'],
    ])('refuses a slide %s', (_case, slide, message) => {
      expect(errorsOf({ ...base, slide })).toEqual([{ field: 'slide', message: expect.stringContaining(message) }]);
    });

    it('says nothing of the slide while the window is wrong', () => {
      expect(fieldsOf({ ...base, window: '7m', slide: '1m' })).toEqual(['window']);
    });
  });

  describe('JSON Pointers', () => {
    it.each(['/a', '/a/b/c', '/0', '/a~0b', '/a~1b', '/ a b ', '/é', '/a.b'])('takes %s', (pointer) => {
      expect(pointerProblem(pointer)).toBeUndefined();
    });

    it.each([
      ['not a string', 3],
      ['empty', ''],
      ['only /', '/'],
      ['without the leading /', 'a/b'],
      ['with an empty field name', '/a//b'],
      ['ending in /', '/a/'],
      ["with '", "/it's"],
      ['with \\', '/a\\b'],
      ['with [', '/a[0]'],
      ['with ]', '/a]'],
      ['with ~ not followed by 0 or 1', '/a~2'],
      ['ending in ~', '/a~'],
    ])('refuses a pointer %s', (_case, pointer) => {
      expect(pointerProblem(pointer)).toEqual(expect.any(String));
    });

    it('unescapes ~1 to / and ~0 to ~, in that order', () => {
      expect(pointerTokens('/a~1b/c~0d/e~01')).toEqual(['a/b', 'c~d', 'e~1']);
    });

    it("refuses a pointer whose unescaped name holds what the job's JSON path cannot quote", () => {
      expect(pointerProblem('/a~1b')).toBeUndefined();
      expect(pointerProblem("/a~0'")).toEqual(expect.any(String));
    });
  });

  describe('groupBy', () => {
    it('takes 0 to 3 distinct pointers', () => {
      expect(errorsOf({ ...base, groupBy: [] })).toEqual([]);
      expect(errorsOf({ ...base, groupBy: ['/a', '/b', '/c'] })).toEqual([]);
    });

    it('refuses more than 3, a repeated one (at the repeat), a bad one, and what is no array', () => {
      expect(fieldsOf({ ...base, groupBy: ['/a', '/b', '/c', '/d'] })).toEqual(['groupBy']);
      expect(errorsOf({ ...base, groupBy: ['/a', '/b', '/a'] })).toEqual([{ field: 'groupBy/2', message: 'repeats groupBy/0 (/a)' }]);
      expect(fieldsOf({ ...base, groupBy: ['/a', 'b', 7] })).toEqual(['groupBy/1', 'groupBy/2']);
      expect(fieldsOf({ ...base, groupBy: '/a' })).toEqual(['groupBy']);
    });

    it('names a list over its bound as a whole, without checking its items one by one', () => {
      expect(fieldsOf({ ...base, groupBy: ['a', 'b', 'c', 'd'] })).toEqual(['groupBy']);
      expect(fieldsOf({ ...base, filter: Array.from({ length: 5000 }, () => ({ op: 'nope' })) })).toEqual(['filter']);
      expect(fieldsOf({ ...base, aggregates: Array.from({ length: 5000 }, () => ({ fn: 'nope' })) })).toEqual(['aggregates']);
    });
  });

  describe('filter', () => {
    it('takes every operator with the value it needs', () => {
      const filter = [
        { field: '/s', op: '=', value: 'paid' },
        { field: '/s', op: '!=', value: true },
        { field: '/n', op: '<', value: 3 },
        { field: '/n', op: '<=', value: -2.5 },
        { field: '/n', op: '>', value: 0 },
        { field: '/s', op: '>=', value: 'm' },
        { field: '/s', op: 'in', value: ['a', 1, false] },
        { field: '/s', op: 'exists' },
      ];
      expect(errorsOf({ ...base, filter })).toEqual([]);
    });

    it('takes up to 20 conditions, and no condition', () => {
      expect(errorsOf({ ...base, filter: [] })).toEqual([]);
      expect(errorsOf({ ...base, filter: Array.from({ length: 20 }, () => ({ field: '/a', op: 'exists' })) })).toEqual([]);
      expect(fieldsOf({ ...base, filter: Array.from({ length: 21 }, () => ({ field: '/a', op: 'exists' })) })).toEqual(['filter']);
    });

    it.each([
      ['no array', { status: 'paid' }, ['filter']],
      ['a condition that is no object', ['/a = 1'], ['filter/0']],
      ['an unknown property', [{ field: '/a', op: '=', value: 1, negate: true }], ['filter/0/negate']],
      ['no field', [{ op: 'exists' }], ['filter/0/field']],
      ['a bad field', [{ field: 'a', op: 'exists' }], ['filter/0/field']],
      ['no op', [{ field: '/a', value: 1 }], ['filter/0/op']],
      ['an unknown op', [{ field: '/a', op: '==', value: 1 }], ['filter/0/op']],
      ['in with one value', [{ field: '/a', op: 'in', value: 'x' }], ['filter/0/value']],
      ['in with none', [{ field: '/a', op: 'in', value: [] }], ['filter/0/value']],
      ['in without a value', [{ field: '/a', op: 'in' }], ['filter/0/value']],
      ['in with 101 values', [{ field: '/a', op: 'in', value: Array.from({ length: 101 }, (_, i) => i) }], ['filter/0/value']],
      ['in with an object and a null among them', [{ field: '/a', op: 'in', value: ['x', { y: 1 }, null] }], ['filter/0/value/1', 'filter/0/value/2']],
      ['exists with a value', [{ field: '/a', op: 'exists', value: true }], ['filter/0/value']],
      ['= without a value', [{ field: '/a', op: '=' }], ['filter/0/value']],
      ['= with null', [{ field: '/a', op: '=', value: null }], ['filter/0/value']],
      ['< with a list', [{ field: '/a', op: '<', value: [1] }], ['filter/0/value']],
      ['!= with an object', [{ field: '/a', op: '!=', value: {} }], ['filter/0/value']],
    ])('refuses %s', (_case, filter, fields) => {
      expect(fieldsOf({ ...base, filter })).toEqual(fields);
    });
  });

  describe('aggregates', () => {
    it('takes every function, count without a field or with one', () => {
      const aggregates = ['count', 'sum', 'avg', 'min', 'max', 'distinct', 'p50', 'p95', 'p99'].map((fn) => ({ fn, field: '/amount' }));
      expect(errorsOf({ ...base, aggregates: [...aggregates, { fn: 'count' }] })).toEqual([]);
    });

    it('names a value fn for a bare count, else fn and the field names joined by _', () => {
      expect(aggregateName('count', undefined)).toBe('count');
      expect(aggregateName('count', '/coupon')).toBe('count_coupon');
      expect(aggregateName('sum', '/amount')).toBe('sum_amount');
      expect(aggregateName('sum', '/a/b')).toBe('sum_a_b');
      expect(aggregateNames({ aggregates: [{ fn: 'count' }, { fn: 'p95', field: '/ms', as: 'latency' }] })).toEqual(['count', 'latency']);
    });

    it.each([
      ['missing', undefined, ['aggregates']],
      ['no array', { fn: 'count' }, ['aggregates']],
      ['empty', [], ['aggregates']],
      ['21 of them', Array.from({ length: 21 }, (_, i) => ({ fn: 'count', as: `c${i}` })), ['aggregates']],
      ['one that is no object', ['count'], ['aggregates/0']],
      ['an unknown property', [{ fn: 'count', where: '/x' }], ['aggregates/0/where']],
      ['no fn', [{ field: '/a' }], ['aggregates/0/fn']],
      ['an unknown fn', [{ fn: 'median', field: '/a' }], ['aggregates/0/fn']],
      ['an fn of another case', [{ fn: 'SUM', field: '/a' }], ['aggregates/0/fn']],
      ['sum without a field', [{ fn: 'sum' }], ['aggregates/0/field']],
      ['p99 without a field', [{ fn: 'p99', as: 'slow' }], ['aggregates/0/field']],
      ['a bad field', [{ fn: 'max', field: 'amount' }], ['aggregates/0/field']],
      ['a bad as', [{ fn: 'count', as: '1st' }], ['aggregates/0/as']],
      ['an as with a dash', [{ fn: 'count', as: 'a-b' }], ['aggregates/0/as']],
      ['an empty as', [{ fn: 'count', as: '' }], ['aggregates/0/as']],
      ['an as of 64', [{ fn: 'count', as: 'a'.repeat(64) }], ['aggregates/0/as']],
      ['a default name that is no name (and no as)', [{ fn: 'sum', field: '/net-amount' }], ['aggregates/0/as']],
      ['a default name over 63 (and no as)', [{ fn: 'sum', field: `/${'a'.repeat(60)}` }], ['aggregates/0/as']],
    ])('refuses aggregates %s', (_case, aggregates, fields) => {
      expect(fieldsOf({ ...base, aggregates })).toEqual(fields);
    });

    it('takes an as for a field whose default name would be no name', () => {
      expect(errorsOf({ ...base, aggregates: [{ fn: 'sum', field: '/net-amount', as: 'net' }] })).toEqual([]);
    });

    it('refuses a second value of the same name: at its as, or at its fn when it has none', () => {
      expect(errorsOf({ ...base, aggregates: [{ fn: 'count' }, { fn: 'count' }] })).toEqual([
        { field: 'aggregates/1/fn', message: 'names its value "count", as aggregates/0 does: give one of them another name with as' },
      ]);
      expect(fieldsOf({ ...base, aggregates: [{ fn: 'sum', field: '/a', as: 'total' }, { fn: 'count' }, { fn: 'max', field: '/b', as: 'total' }] })).toEqual([
        'aggregates/2/as',
      ]);
      expect(
        fieldsOf({
          ...base,
          aggregates: [
            { fn: 'sum', field: '/a', as: 'sum_b' },
            { fn: 'sum', field: '/b' },
          ],
        }),
      ).toEqual(['aggregates/1/fn']);
      // a/b and a_b make the same default name
      expect(
        fieldsOf({
          ...base,
          aggregates: [
            { fn: 'sum', field: '/a/b' },
            { fn: 'sum', field: '/a_b' },
          ],
        }),
      ).toEqual(['aggregates/1/fn']);
    });
  });

  describe('timeField, lateness and backfillFrom', () => {
    it('takes an event-time pointer, a lateness from 1s to 7d, and a past date-time with a zone', () => {
      for (const lateness of ['1s', '10m', '36h', '7d', '604800s']) expect(errorsOf({ ...base, lateness })).toEqual([]);
      expect(errorsOf({ ...base, timeField: '/paid_at' })).toEqual([]);
      for (const backfillFrom of ['2026-12-01T00:00:00Z', '2026-12-07T13:59:59+02:00', '2020-02-29T23:59:59.999z', NOW.toISOString()]) {
        expect(errorsOf({ ...base, backfillFrom })).toEqual([]);
      }
    });

    it.each([
      ['timeField', 'paid_at'],
      ['timeField', 17],
      ['lateness', '0s'],
      ['lateness', '8d'],
      ['lateness', '604801s'],
      ['lateness', 600],
      ['lateness', null],
      ['backfillFrom', '2026-12-01T00:00:00'],
      ['backfillFrom', '2026-12-01'],
      ['backfillFrom', '2026-02-30T00:00:00Z'],
      ['backfillFrom', 1764547200000],
      ['backfillFrom', '2026-12-07T12:00:00.001Z'],
      ['backfillFrom', '2027-01-01T00:00:00Z'],
    ])('refuses %s %p', (field, value) => {
      expect(fieldsOf({ ...base, [field]: value })).toEqual([field]);
    });

    it('says why a backfill start in the future is refused', () => {
      expect(messageAt({ ...base, backfillFrom: '2027-01-01T00:00:00Z' }, 'backfillFrom')).toBe('must not be in the future');
    });
  });

  it('refuses an unknown property at the top, naming it', () => {
    expect(errorsOf({ ...base, having: 'x', Window: '1m' })).toEqual([
      { field: 'having', message: expect.stringContaining('is not a setting here') },
      { field: 'Window', message: expect.stringContaining('is not a setting here') },
    ]);
  });

  describe("against the source's schema", () => {
    const typed = { ...base, source: 'typed' };

    it('takes fields the schema types fittingly, declares without a type, or says nothing of', () => {
      const aggregates = [
        { fn: 'sum', field: '/amount' },
        { fn: 'avg', field: '/quantity' },
        { fn: 'max', field: '/refund' },
        { fn: 'p95', field: '/lines/3/price' },
        { fn: 'min', field: '/anything' },
        { fn: 'min', field: '/either', as: 'either_min' },
        { fn: 'distinct', field: '/currency' },
        { fn: 'count', field: '/note' },
        { fn: 'sum', field: '/anything/deeper', as: 'deep' },
        { fn: 'sum', field: '/tuple/0', as: 'first' },
        { fn: 'sum', field: '/undeclared', as: 'open' },
      ];
      expect(errorsOf({ ...typed, aggregates, groupBy: ['/meta/region', '/labels/team', '/lines/0/sku'], timeField: '/ts' })).toEqual([]);
      expect(errorsOf({ ...typed, timeField: '/paid_at' })).toEqual([]);
      expect(errorsOf({ ...typed, timeField: '/anything' })).toEqual([]);
    });

    it('refuses a number function of a field typed otherwise, saying what the schema says', () => {
      expect(errorsOf({ ...typed, aggregates: [{ fn: 'sum', field: '/currency' }] })).toEqual([
        { field: 'aggregates/0/field', message: "the source's schema says /currency is a string; sum needs a number" },
      ]);
      expect(messageAt({ ...typed, aggregates: [{ fn: 'p50', field: '/note' }] }, 'aggregates/0/field')).toBe(
        "the source's schema says /note is a string or null; p50 needs a number",
      );
      expect(
        fieldsOf({
          ...typed,
          aggregates: [
            { fn: 'avg', field: '/gift' },
            { fn: 'max', field: '/labels/x' },
            { fn: 'min', field: '/lines/0/sku' },
          ],
        }),
      ).toEqual(['aggregates/0/field', 'aggregates/1/field', 'aggregates/2/field']);
    });

    it('refuses a time field typed neither string nor number', () => {
      expect(errorsOf({ ...typed, timeField: '/gift' })).toEqual([{ field: 'timeField', message: expect.stringContaining('/gift is a boolean') }]);
      expect(fieldsOf({ ...typed, timeField: '/meta' })).toEqual(['timeField']);
    });

    it('refuses a pointer into nothing the schema allows, wherever it is', () => {
      const body = {
        ...typed,
        groupBy: ['/meta/zone'],
        filter: [{ field: '/amount/cents', op: 'exists' }],
        aggregates: [
          { fn: 'count', field: '/lines/first' },
          { fn: 'count', field: '/never', as: 'n' },
        ],
        timeField: '/currency/at',
      };

      expect(errorsOf(body)).toEqual([
        { field: 'groupBy/0', message: `names nothing the source's schema allows (/meta allows no property "zone")` },
        { field: 'filter/0/field', message: `names nothing the source's schema allows (/amount is a number, with no field "cents")` },
        { field: 'aggregates/0/field', message: `names nothing the source's schema allows (/lines is an array, with no field "first")` },
        { field: 'aggregates/1/field', message: expect.stringContaining('allows no value') },
        { field: 'timeField', message: expect.stringContaining('/currency is a string') },
      ]);
    });

    it('refuses any field a closed schema does not list, and takes those it does', () => {
      const closed = { ...base, source: 'closed' };
      expect(errorsOf({ ...closed, aggregates: [{ fn: 'sum', field: '/amount' }] })).toEqual([]);
      expect(errorsOf({ ...closed, groupBy: ['/currency'] })).toEqual([
        { field: 'groupBy/0', message: `names nothing the source's schema allows (the payload allows no property "currency")` },
      ]);
    });

    it('checks nothing against a source without a schema', () => {
      expect(errorsOf({ ...base, groupBy: ['/meta/zone'], aggregates: [{ fn: 'sum', field: '/currency' }], timeField: '/gift' })).toEqual([]);
    });
  });

  it('reads durations as the job does', () => {
    expect([
      durationSeconds('30s'),
      durationSeconds('5m'),
      durationSeconds('2h'),
      durationSeconds('1d'),
      durationSeconds('0s'),
      durationSeconds('1h30m'),
    ]).toEqual([30, 300, 7200, 86400, undefined, undefined]);
  });
});
