import { ViewResultDto } from './dto/views.dto';
import {
  compareDoubles,
  compareText,
  computeView,
  conditionOf,
  eventTime,
  FieldReader,
  MAX_PREVIEW_EVENTS,
  PreviewEvent,
  previewEventLimit,
  sparkDouble,
  sparkTimestamp,
  windowsPerEvent,
} from './view-compute';
import { ViewDefinition, ViewFilter } from './view-definition';

/*
 * The expected values below are what Spark 3.5.7 (the job's version, session time zone UTC) answers
 * for the same input: get_json_object on the job's paths, cast("double"), cast("timestamp"),
 * percentile_approx, F.window; and the cases of spark-jobs/tests/test_stream_views.py.
 */

const NOW = new Date('2026-12-07T12:00:30Z');
const T0 = Date.parse('2026-03-04T12:00:00Z');

let sequence = 0;
const event = (seconds: number, payload: unknown, eventId?: string): PreviewEvent => ({
  eventId: eventId ?? `e${++sequence}`,
  receivedAt: new Date(T0 + seconds * 1000),
  payload: typeof payload === 'string' ? payload : JSON.stringify(payload),
});

const view = (extra: Partial<ViewDefinition> = {}): ViewDefinition => ({ name: 'v', source: 'orders', window: '1m', aggregates: [{ fn: 'count' }], ...extra });

/** The results keyed as the job's tests key them: `<windowStart> <group key>` → values. */
function results(definition: ViewDefinition, events: PreviewEvent[]): Record<string, ViewResultDto['values']> {
  const groupBy = definition.groupBy ?? [];
  return Object.fromEntries(
    computeView(definition, events, NOW).items.map((item) => [`${item.windowStart} ${JSON.stringify(groupBy.map((p) => item.group[p]))}`, item.values]),
  );
}

const at = (seconds: number) => new Date(T0 + seconds * 1000).toISOString();

describe('FieldReader: a field as text, as get_json_object reads it on the job path', () => {
  const PAYLOAD =
    '{"s":"EUR","esc":"a\\"b\\\\c\\u00e9\\n","i":12,"f":12.5,"d":1000.0,"big":123456789012345678901234567890,"t":true,"n":null,' +
    '"o":{"x":1,"y":[1,2]},"a":[10,{"k":"v"}],"e":"","neg":-0.0,"exp":1.0E10,"rocket":"\\uD83D\\uDE80"}';
  const cases: [string, string | undefined][] = [
    ['/s', 'EUR'],
    ['/esc', 'a"b\\cé\n'],
    ['/i', '12'],
    ['/f', '12.5'],
    ['/d', '1000.0'],
    ['/big', '123456789012345678901234567890'],
    ['/t', 'true'],
    ['/n', undefined],
    ['/o', '{"x":1,"y":[1,2]}'],
    ['/a', '[10,{"k":"v"}]'],
    ['/a/0', '10'],
    ['/a/1/k', 'v'],
    ['/a/2', undefined],
    ['/o/0', undefined],
    ['/o/y', '[1,2]'],
    ['/o/x', '1'],
    ['/missing', undefined],
    ['/e', ''],
    ['/neg', '-0.0'],
    ['/exp', '1.0E10'],
    ['/rocket', '🚀'],
    ['/s/x', undefined],
  ];

  it.each(cases)('reads %s as %p', (pointer, text) => {
    expect(new FieldReader([pointer]).read(PAYLOAD)).toEqual([text]);
  });

  it('reads every pointer in one pass, in the order given, prefixes of each other included', () => {
    const reader = new FieldReader(cases.map(([pointer]) => pointer));

    expect(reader.read(PAYLOAD)).toEqual(cases.map(([, text]) => text));
    expect(new FieldReader(['/o/x', '/o', '/o/y']).read(PAYLOAD)).toEqual(['1', '{"x":1,"y":[1,2]}', '[1,2]']);
  });

  it('unescapes field names, and reads ~1 as / and ~0 as ~', () => {
    const payload = '{"a/b":1,"c~d":2,"\\u00e9":3,"\\"q":4,"sp ace":5,"a.b":6,"$":7}';

    expect(new FieldReader(['/a~1b', '/c~0d', '/é', '/"q', '/sp ace', '/a.b', '/$']).read(payload)).toEqual(['1', '2', '3', '4', '5', '6', '7']);
  });

  it('reads an array index token as an index, never as a field named with digits', () => {
    expect(new FieldReader(['/lines/1/sku', '/lines/01', '/m/0', '/m/x']).read('{"lines":[{"sku":"a"},{"sku":"b"}],"m":{"0":"zero","x":1}}')).toEqual([
      'b',
      undefined,
      undefined,
      '1',
    ]);
  });

  it('takes, of a field named twice, the first occurrence that yields a value', () => {
    expect(new FieldReader(['/a']).read('{"a":1,"a":2}')).toEqual(['1']);
    expect(new FieldReader(['/a', '/a/b']).read('{"a":{"b":1},"a":{"b":2}}')).toEqual(['{"b":1}', '1']);
    expect(new FieldReader(['/a']).read('{"a":null,"a":2}')).toEqual(['2']);
    expect(new FieldReader(['/a/b']).read('{"a":{"x":1},"a":{"b":2}}')).toEqual(['2']);
  });

  it('writes an object or array compactly, whatever whitespace the stored text has', () => {
    expect(new FieldReader(['/o', '/s']).read('{ "o" : { "x" : [ 1 , "a b" ] } , "s" : "t" }')).toEqual(['{"x":[1,"a b"]}', 't']);
  });

  it('finds no field in a payload that is not a JSON object, or not JSON', () => {
    const reader = new FieldReader(['/a']);

    for (const payload of ['[1,2]', '"str"', '12', 'null', '', '{"a":1', '{"a":tru}', '{"a":"\\x"}', '{"a" 1}']) {
      expect(reader.read(payload)).toEqual([undefined]);
    }
    expect(new FieldReader([]).read('{"a":1}')).toEqual([]);
  });
});

describe('sparkDouble: cast("double")', () => {
  it.each([
    ['12', 12],
    [' 12 ', 12],
    ['\t7\n', 7],
    ['1e3', 1000],
    ['1.5e-3', 0.0015],
    ['+5', 5],
    ['.5', 0.5],
    ['5.', 5],
    ['0012', 12],
    ['-0', -0],
    ['1d', 1],
    ['1f', 1],
    ['1E400', Infinity],
    ['NaN', NaN],
    ['nan', NaN],
    ['Infinity', Infinity],
    ['+Infinity', Infinity],
    ['-Infinity', -Infinity],
    ['inf', Infinity],
    ['Inf', Infinity],
    ['INFINITY', Infinity],
    ['0x1p4', 16],
    ['-0x1.8p1', -3],
  ] as [string, number][])('reads %p as %p', (text, number) => {
    expect(sparkDouble(text)).toBe(number);
  });

  it.each(['0x10', '12abc', '1_000', 'true', '', '  ', '1,5', '12L', '١٢', '12 3', '1e', 'e5', '.', '-', '\u00a012'])('reads %p as no number', (text) => {
    expect(sparkDouble(text)).toBeUndefined();
  });
});

describe('sparkTimestamp: cast("timestamp") in UTC', () => {
  const seconds = (iso: string) => Date.parse(iso);
  it.each([
    ['2026-12-07T12:00:00Z', seconds('2026-12-07T12:00:00Z')],
    ['2026-12-07T12:00:00.123Z', seconds('2026-12-07T12:00:00.123Z')],
    ['2026-12-07T12:00:00.1234567Z', seconds('2026-12-07T12:00:00.123Z')],
    ['2026-12-07T12:00:00.123+02:00', seconds('2026-12-07T10:00:00.123Z')],
    ['2026-12-07 12:00:00Z', seconds('2026-12-07T12:00:00Z')],
    ['2026-12-07T12:00:00', seconds('2026-12-07T12:00:00Z')],
    ['2026-12-07', seconds('2026-12-07T00:00:00Z')],
    ['2026-12-07 ', seconds('2026-12-07T00:00:00Z')],
    ['2026-12-07T12:00', seconds('2026-12-07T12:00:00Z')],
    ['2026-12-07T12', seconds('2026-12-07T12:00:00Z')],
    ['2026-1-7', seconds('2026-01-07T00:00:00Z')],
    ['2026', seconds('2026-01-01T00:00:00Z')],
    ['2026-12', seconds('2026-12-01T00:00:00Z')],
    ['02026-12-07', seconds('2026-12-07T00:00:00Z')],
    ['+2026-12-07T12:00:00Z', seconds('2026-12-07T12:00:00Z')],
    ['2026-12-7T1:2:3Z', seconds('2026-12-07T01:02:03Z')],
    ['2026-12-07T1:2:3.4+1', seconds('2026-12-07T00:02:03.400Z')],
    ['2026-12-07T12:00:00+0200', seconds('2026-12-07T10:00:00Z')],
    ['2026-12-07T12:00:00+02', seconds('2026-12-07T10:00:00Z')],
    ['2026-12-07T12:00:00+1:00', seconds('2026-12-07T11:00:00Z')],
    ['2026-12-07T12:00:00+02:0', seconds('2026-12-07T10:00:00Z')],
    ['2026-12-07T12:00:00+02:00:30', seconds('2026-12-07T09:59:30Z')],
    ['2026-12-07T12:00:00+020030', seconds('2026-12-07T09:59:30Z')],
    ['2026-12-07T12:00:00-02:00', seconds('2026-12-07T14:00:00Z')],
    ['2026-12-07T12:00:00-0', seconds('2026-12-07T12:00:00Z')],
    ['2026-12-07T12:00:00+18:00', seconds('2026-12-06T18:00:00Z')],
    ['2026-12-07T12:00:00-18:00', seconds('2026-12-08T06:00:00Z')],
    ['2026-12-07T12:00:00 UTC', seconds('2026-12-07T12:00:00Z')],
    ['2026-12-07T12:00:00UTC+02:00', seconds('2026-12-07T10:00:00Z')],
    ['2026-12-07T12:00:00GMT-02:00', seconds('2026-12-07T14:00:00Z')],
    ['2026-12-07T12:00:00GMT+2', seconds('2026-12-07T10:00:00Z')],
    ['2026-12-07T12:00:00UT+2', seconds('2026-12-07T10:00:00Z')],
    ['2026-12-07T12:00:00UT', seconds('2026-12-07T12:00:00Z')],
    ['2026-12-07T12:00:00EST', seconds('2026-12-07T17:00:00Z')],
    ['2026-12-07T12:00:00 Z', seconds('2026-12-07T12:00:00Z')],
    ['2026-12-07T12:00:00.Z', seconds('2026-12-07T12:00:00Z')],
    ['2026-12-07T12:00:00.', seconds('2026-12-07T12:00:00Z')],
    ['2026-12-07 12:00:00.5 +02:00', seconds('2026-12-07T10:00:00.500Z')],
    ['\t2026-12-07T12:00:00Z\n', seconds('2026-12-07T12:00:00Z')],
    ['2024-02-29T00:00:00Z', seconds('2024-02-29T00:00:00Z')],
    ['0000-01-01T00:00:00Z', -62167219200000],
    ['1970-01-01T00:00:00.0005Z', 0],
    ['1969-12-31T23:59:59.9995Z', -1],
    ['12:00:00', seconds('2026-12-07T12:00:00Z')],
    ['T12:00:00Z', seconds('2026-12-07T12:00:00Z')],
    ['T23:00:00-02:00', seconds('2026-12-08T01:00:00Z')],
  ] as [string, number][])('reads %p', (text, millis) => {
    expect(sparkTimestamp(text, NOW)).toBe(millis);
  });

  it.each([
    '2026-12-07T12:00Z',
    '2026-12-07T12Z',
    '2026-12-07T',
    '2026-12-07T12:00:00[Europe/Paris]',
    '2026-12-07T12:00:00+123',
    '2026-12-07T12:00:00+12345',
    '2026-12-07T12:00:00+18:00:01',
    '2026-12-07T12:00:00+19:00',
    '2026-12-07T12:00:00+23:59',
    '2026-12-07T12:00:00+02:00:3',
    '2026-12-07T12:00:00Z+1',
    '2026-12-07T12:00:00ZZ',
    '2026-12-07T12:00:00+02:00Z',
    '2026-12-07T12:00:00z',
    '2026-12-07t12:00:00Z',
    '2026-12-07T12:00:00utc',
    '2026-12-07T12:00:00,5Z',
    '2026-12-07T24:00:00Z',
    '2026-12-07T12:00:60Z',
    '2026-02-29T00:00:00Z',
    '2026-13-01T00:00:00Z',
    '2026-12-32',
    '2026-W49',
    '20261207',
    '1765108800000',
    '2026-12-07  12:00:00',
    '2026-12-07 T12:00:00Z',
    '2026-12-07T12:00:00Z garbage',
    '\u00a02026-12-07T12:00:00Z',
    '2026-12-07T12:00:00Z\u00a0',
    '999999-01-01T00:00:00Z',
    '',
    '  ',
    'soon',
  ])('reads %p as no time', (text) => {
    expect(sparkTimestamp(text, NOW)).toBeUndefined();
  });

  it('leaves out a zone named by a region, which Spark reads but the preview does not', () => {
    for (const text of ['2026-12-07T12:00:00Europe/Paris', '2026-12-07T12:00:00CET', '2026-12-07T12:00:00Etc/GMT-2']) {
      expect(sparkTimestamp(text, NOW)).toBeUndefined();
    }
  });
});

describe('eventTime', () => {
  it('reads up to 15 digits as epoch milliseconds, anything else as a timestamp', () => {
    expect(eventTime('1765108800000', NOW)).toBe(1765108800000);
    expect(eventTime('00001', NOW)).toBe(1);
    expect(eventTime('999999999999999', NOW)).toBe(999999999999999);
    expect(eventTime('2026-12-07T12:00:00Z', NOW)).toBe(Date.parse('2026-12-07T12:00:00Z'));
    for (const text of [undefined, '1765108800000000', '-5', '1765108800000.0', '1.7651088E12', '']) expect(eventTime(text, NOW)).toBeUndefined();
  });
});

describe('the orders Spark compares in', () => {
  it('orders doubles with NaN above everything and -0 equal to 0', () => {
    expect([3, NaN, -Infinity, Infinity, 1].sort(compareDoubles)).toEqual([-Infinity, 1, 3, Infinity, NaN]);
    expect(compareDoubles(NaN, NaN)).toBe(0);
    expect(compareDoubles(-0, 0)).toBe(0);
  });

  it('orders texts as UTF-8 bytes: by code point, not by UTF-16 unit', () => {
    expect(['é', 'b', '🚀', '\ufffd', 'B', 'a'].sort(compareText)).toEqual(['B', 'a', 'b', 'é', '\ufffd', '🚀']);
    expect(compareText('ab', 'a')).toBeGreaterThan(0);
    expect(compareText('["/a"]', '[null]')).toBeLessThan(0);
  });
});

describe('conditionOf: a filter condition', () => {
  const EVENTS = [
    { n: 1, status: 'paid', amount: 10 },
    { n: 2, status: 'open', amount: 11.0, note: 'x' },
    { n: 3, status: 'paid', amount: 12, vip: true },
  ];
  const kept = (condition: ViewFilter, events: unknown[] = EVENTS): number[] => {
    const reader = new FieldReader([condition.field]);
    const matches = conditionOf(condition, 0);
    return events.flatMap((e, i) => (matches(reader.read(JSON.stringify(e))) ? [i + 1] : []));
  };

  it.each([
    [{ field: '/status', op: '=', value: 'paid' }, [1, 3]],
    [{ field: '/status', op: '!=', value: 'paid' }, [2]],
    [{ field: '/amount', op: '>', value: 10 }, [2, 3]],
    [{ field: '/amount', op: '>=', value: 10 }, [1, 2, 3]],
    [{ field: '/amount', op: '<', value: 10.5 }, [1]],
    [{ field: '/amount', op: '<=', value: 11 }, [1, 2]],
    [{ field: '/amount', op: '=', value: 10 }, [1]],
    [{ field: '/status', op: 'in', value: ['paid', 'void'] }, [1, 3]],
    [{ field: '/amount', op: 'in', value: [11, 99] }, [2]],
    [{ field: '/vip', op: '=', value: true }, [3]],
    [{ field: '/note', op: 'exists' }, [2]],
  ] as [ViewFilter, number[]][])('%j keeps %j, as the job does', (condition, expected) => {
    expect(kept(condition)).toEqual(expected);
  });

  it('matches nothing on a missing or null field, != included', () => {
    const events = [{}, { a: null }, { a: 'x' }];

    expect(kept({ field: '/a', op: '!=', value: 'y' }, events)).toEqual([3]);
    expect(kept({ field: '/a', op: '!=', value: 5 }, events)).toEqual([]);
    expect(kept({ field: '/a', op: 'exists' }, events)).toEqual([3]);
  });

  it('compares with a number as numbers: text that reads as one counts, other text matches nothing', () => {
    const events = [{ a: '12' }, { a: ' 12 ' }, { a: '1.2e1' }, { a: 'twelve' }, { a: true }, { a: 9 }, { a: 'NaN' }, { a: 'Infinity' }];

    expect(kept({ field: '/a', op: '=', value: 12 }, events)).toEqual([1, 2, 3]);
    expect(kept({ field: '/a', op: '!=', value: 12 }, events)).toEqual([6, 7, 8]);
    // NaN is above every number, as Spark orders doubles.
    expect(kept({ field: '/a', op: '>', value: 100 }, events)).toEqual([7, 8]);
    expect(kept({ field: '/a', op: 'in', value: [9, 12] }, events)).toEqual([1, 2, 3, 6]);
  });

  it('compares with text as text, in UTF-8 byte order, a number field by its JSON text', () => {
    const events = [{ a: 'B' }, { a: 'a' }, { a: 'é' }, { a: 10 }, { a: 9 }, { a: 1.0 }];

    expect(kept({ field: '/a', op: '<', value: 'b' }, events)).toEqual([1, 2, 4, 5, 6]);
    expect(kept({ field: '/a', op: '>', value: '9' }, events)).toEqual([1, 2, 3]);
    expect(kept({ field: '/a', op: '=', value: '10' }, events)).toEqual([4]);
    expect(kept({ field: '/a', op: 'in', value: ['a', 'é', 1] }, events)).toEqual([2, 3, 6]);
  });

  it('writes a boolean value as true or false, and compares a field with it as text', () => {
    const events = [{ a: true }, { a: 'true' }, { a: false }, { a: 1 }];

    expect(kept({ field: '/a', op: '=', value: true }, events)).toEqual([1, 2]);
    expect(kept({ field: '/a', op: 'in', value: [false, 1] }, events)).toEqual([3, 4]);
  });
});

describe('computeView', () => {
  it('computes each aggregate per group and window, named as the view names them', () => {
    const definition = view({
      groupBy: ['/currency'],
      aggregates: [
        { fn: 'count' },
        { fn: 'sum', field: '/amount' },
        { fn: 'avg', field: '/amount' },
        { fn: 'min', field: '/amount' },
        { fn: 'max', field: '/amount' },
        { fn: 'distinct', field: '/user' },
        { fn: 'p50', field: '/amount' },
        { fn: 'p99', field: '/amount', as: 'top' },
      ],
    });
    const events = Array.from({ length: 10 }, (_, i) => event(i + 1, { currency: 'EUR', amount: i + 1, user: `u${(i + 1) % 3}` }));
    events.push(event(5, { currency: 'USD', amount: 7.5, user: 'u1' }), event(65, { currency: 'EUR', amount: 100, user: 'u9' }));

    expect(results(definition, events)).toEqual({
      [`${at(60)} ["EUR"]`]: { count: 1, sum_amount: 100, avg_amount: 100, min_amount: 100, max_amount: 100, distinct_user: 1, p50_amount: 100, top: 100 },
      [`${at(0)} ["EUR"]`]: { count: 10, sum_amount: 55, avg_amount: 5.5, min_amount: 1, max_amount: 10, distinct_user: 3, p50_amount: 5, top: 10 },
      [`${at(0)} ["USD"]`]: { count: 1, sum_amount: 7.5, avg_amount: 7.5, min_amount: 7.5, max_amount: 7.5, distinct_user: 1, p50_amount: 7.5, top: 7.5 },
    });
  });

  it('answers items as GET /views/{name}/results does: newest window first, then by group key in UTF-8 byte order', () => {
    const definition = view({ groupBy: ['/page', '/n'] });
    const events = [
      event(1, { page: 'b' }),
      event(2, { page: '🚀' }),
      event(3, { page: '\ufffd' }),
      event(4, {}),
      event(5, { page: 'a', n: 2 }),
      event(61, { page: 'z' }),
    ];

    const { items } = computeView(definition, events, NOW);

    expect(items.map((i) => [i.windowStart, i.group])).toEqual([
      [at(60), { '/page': 'z', '/n': null }],
      [at(0), { '/page': 'a', '/n': '2' }],
      [at(0), { '/page': 'b', '/n': null }],
      [at(0), { '/page': '\ufffd', '/n': null }],
      [at(0), { '/page': '🚀', '/n': null }],
      [at(0), { '/page': null, '/n': null }],
    ]);
    expect(items[0]).toEqual({ windowStart: at(60), windowEnd: at(120), group: { '/page': 'z', '/n': null }, values: { count: 1 } });
  });

  it('leaves a missing or non-numeric value out, as SQL leaves out NULL, and counts a field where it has a value', () => {
    const definition = view({
      aggregates: [
        { fn: 'count' },
        { fn: 'sum', field: '/amount' },
        { fn: 'count', field: '/amount', as: 'with_amount' },
        { fn: 'avg', field: '/none' },
        { fn: 'min', field: '/none' },
        { fn: 'distinct', field: '/none' },
        { fn: 'p95', field: '/none' },
        { fn: 'count', field: '/none', as: 'with_none' },
      ],
    });

    expect(results(definition, [event(1, { amount: 2 }), event(2, { amount: 'n/a' }), event(3, {}), event(4, { amount: null })])).toEqual({
      [`${at(0)} []`]: { count: 4, sum_amount: 2, with_amount: 2, avg_none: null, min_none: null, distinct_none: 0, p95_none: null, with_none: 0 },
    });
  });

  it('reads numbers as Spark casts text to double; NaN and the infinities are left out as no number', () => {
    const definition = view({
      aggregates: [
        { fn: 'sum', field: '/a' },
        { fn: 'max', field: '/a' },
        { fn: 'min', field: '/a' },
        { fn: 'p50', field: '/a' },
      ],
    });

    expect(results(definition, [event(1, { a: ' 2 ' }), event(2, { a: '1e1' }), event(3, { a: 'x' })])).toEqual({
      [`${at(0)} []`]: { sum_a: 12, max_a: 10, min_a: 2, p50_a: 2 },
    });
    expect(results(definition, [event(1, { a: 'NaN' }), event(2, { a: 1 }), event(3, { a: 'Infinity' }), event(4, { a: 2 })])).toEqual({
      [`${at(0)} []`]: { sum_a: 3, max_a: 2, min_a: 1, p50_a: 1 },
    });
  });

  it.each([
    ['1 to 10', [1, 2, 3, 4, 5, 6, 7, 8, 9, 10], [5, 10, 10]],
    ['1, 2, 3', [1, 2, 3], [2, 3, 3]],
    ['5', [5], [5, 5, 5]],
    ['3, 1, 2, 2', [3, 1, 2, 2], [2, 3, 3]],
    ['1.5, 2.5', [1.5, 2.5], [1.5, 2.5, 2.5]],
    ['1 to 100', Array.from({ length: 100 }, (_, i) => i + 1), [50, 95, 99]],
    ['1 to 20', Array.from({ length: 20 }, (_, i) => i + 1), [10, 19, 20]],
    // NaN and the infinities are no numbers: left out.
    ['-Infinity, 1', ['-Infinity', 1], [1, 1, 1]],
    ['1, Infinity, 5', [1, 'Infinity', 5], [1, 5, 5]],
    ['NaN, 1, 2', ['NaN', 1, 2], [1, 2, 2]],
    ['NaN', ['NaN'], [null, null, null]],
  ] as [string, (number | string)[], (number | null)[]][])(
    'takes of %s the percentiles %j: the smallest value with at least p of the values at or below it',
    (_label, values, [p50, p95, p99]) => {
      const definition = view({
        aggregates: [
          { fn: 'p50', field: '/v' },
          { fn: 'p95', field: '/v' },
          { fn: 'p99', field: '/v' },
        ],
      });

      expect(
        Object.values(
          results(
            definition,
            values.map((v, i) => event(i % 60, { v })),
          ),
        ),
      ).toEqual([{ p50_v: p50, p95_v: p95, p99_v: p99 }]);
    },
  );

  it('counts distinct values exactly, by their text', () => {
    const events = Array.from({ length: 1000 }, (_, i) => event(i % 60, { v: i % 50 }));
    events.push(event(1, { v: '7' }), event(2, '{"v":7.0}'), event(3, { v: { x: 1 } }), event(4, { v: [1] }));

    expect(results(view({ aggregates: [{ fn: 'distinct', field: '/v' }] }), events)).toEqual({ [`${at(0)} []`]: { distinct_v: 53 } });
  });

  it('puts an event without a group field in the group whose value is null, and groups by text', () => {
    const definition = view({ groupBy: ['/page'] });

    expect(results(definition, [event(1, { page: '/a' }), event(2, {}), event(3, { page: null }), event(4, { page: 3 }), event(5, { page: '3' })])).toEqual({
      [`${at(0)} ["/a"]`]: { count: 1 },
      [`${at(0)} ["3"]`]: { count: 2 },
      [`${at(0)} [null]`]: { count: 2 },
    });
  });

  it('keeps only the events that meet every condition', () => {
    const definition = view({
      filter: [
        { field: '/status', op: '=', value: 'paid' },
        { field: '/amount', op: '>', value: 10 },
      ],
    });

    expect(
      results(definition, [event(1, { status: 'paid', amount: 12 }), event(2, { status: 'paid', amount: 5 }), event(3, { status: 'open', amount: 20 })]),
    ).toEqual({
      [`${at(0)} []`]: { count: 1 },
    });
    expect(computeView(view({ filter: [{ field: '/x', op: 'exists' }] }), [event(1, {})], NOW)).toEqual({ items: [], counted: 1 });
  });

  it('counts an event in each hopping window that holds it', () => {
    // 12:01:30 is in [12:00, 12:02) and [12:01, 12:03).
    expect(Object.keys(results(view({ window: '2m', slide: '1m' }), [event(90, {})]))).toEqual([`${at(60)} []`, `${at(0)} []`]);
    expect(computeView(view({ window: '1h', slide: '15m' }), [event(0, {})], NOW).items.map((i) => [i.windowStart, i.windowEnd])).toEqual([
      ['2026-03-04T12:00:00.000Z', '2026-03-04T13:00:00.000Z'],
      ['2026-03-04T11:45:00.000Z', '2026-03-04T12:45:00.000Z'],
      ['2026-03-04T11:30:00.000Z', '2026-03-04T12:30:00.000Z'],
      ['2026-03-04T11:15:00.000Z', '2026-03-04T12:15:00.000Z'],
    ]);
  });

  it('aligns windows on UTC midnight, before the epoch too', () => {
    const day = computeView(view({ window: '1d' }), [event(3600 * 13, {})], NOW).items;
    expect(day.map((i) => [i.windowStart, i.windowEnd])).toEqual([['2026-03-05T00:00:00.000Z', '2026-03-06T00:00:00.000Z']]);

    const early = (iso: string): PreviewEvent => ({ eventId: iso, receivedAt: new Date(iso), payload: '{}' });
    const hopping = computeView(view({ window: '2m', slide: '1m' }), [early('1969-12-31T23:59:30Z'), early('1969-12-31T23:58:00Z')], NOW).items;
    expect(hopping.map((i) => [i.windowStart, i.values.count])).toEqual([
      ['1969-12-31T23:59:00.000Z', 1],
      ['1969-12-31T23:58:00.000Z', 2],
      ['1969-12-31T23:57:00.000Z', 1],
    ]);
  });

  it('windows by the timeField (a date-time or epoch milliseconds), leaving out an event whose time cannot be read', () => {
    const definition = view({ timeField: '/at' });
    const events = [
      event(1, { at: '2026-03-04T11:30:10Z' }),
      event(2, { at: T0 - 29 * 60_000 }),
      event(3, { at: String(T0 - 28 * 60_000) }),
      event(4, { at: 'soon' }),
      event(5, {}),
      event(6, { at: null }),
    ];

    expect(results(definition, events)).toEqual({
      [`${at(-28 * 60)} []`]: { count: 1 },
      [`${at(-29 * 60)} []`]: { count: 1 },
      [`${at(-30 * 60)} []`]: { count: 1 },
    });
  });

  it('leaves out an event whose windows a date cannot write, past the year 275760', () => {
    const events = [event(1, { at: '+275760-09-12T00:00:00Z' }), event(2, { at: '-271821-04-21T00:00:00Z' }), event(3, { at: '+275760-09-10T00:00:00Z' })];

    expect(computeView(view({ timeField: '/at', window: '1d' }), events, NOW).items.map((i) => i.windowStart)).toEqual(['+275760-09-10T00:00:00.000Z']);
  });

  it('windows by receivedAt without a timeField, whatever the payload says', () => {
    expect(Object.keys(results(view(), [event(1, { at: '2020-01-01T00:00:00Z' })]))).toEqual([`${at(0)} []`]);
  });

  it('counts a duplicate event id once', () => {
    expect(results(view(), [event(1, {}, 'same'), event(1, {}, 'same'), event(2, {})])).toEqual({ [`${at(0)} []`]: { count: 2 } });
  });

  it('answers nothing for no events', () => {
    expect(computeView(view(), [], NOW)).toEqual({ items: [], counted: 0 });
  });

  it('takes the events in the order given until the next would make more items than the bound, and says how many it took', () => {
    const definition = view({ window: '2m', slide: '1m', groupBy: ['/g'] });
    // Newest first, as a preview reads them: 2 new items each, then 1 (a window shared with the one before), then 2.
    const events = [event(300, { g: 'a' }), event(200, { g: 'a' }), event(150, { g: 'a' }), event(100, { g: 'b' })];

    expect(computeView(definition, events, NOW, 5)).toMatchObject({ counted: 3, items: { length: 5 } });
    expect(computeView(definition, events, NOW, 4)).toMatchObject({ counted: 2, items: { length: 4 } });
    expect(computeView(definition, events, NOW, 7)).toMatchObject({ counted: 4, items: { length: 7 } });
    // An event left out by the filter, or as a duplicate, makes no item and is taken.
    expect(
      computeView(view({ filter: [{ field: '/g', op: '=', value: 'a' }] }), [event(1, { g: 'b' }), event(2, { g: 'a' }), event(90, { g: 'a' })], NOW, 1),
    ).toMatchObject({
      counted: 2,
      items: [{ values: { count: 1 } }],
    });
  });
});

describe('how many events a preview reads', () => {
  it('reads 10,000 events, fewer when windows overlap so that it computes at most 100,000 (event, window) pairs', () => {
    expect(windowsPerEvent({ window: '1h' })).toBe(1);
    expect(windowsPerEvent({ window: '1h', slide: '15m' })).toBe(4);
    expect(previewEventLimit({ window: '1m' })).toBe(MAX_PREVIEW_EVENTS);
    expect(previewEventLimit({ window: '1m', slide: '1m' })).toBe(MAX_PREVIEW_EVENTS);
    expect(previewEventLimit({ window: '1h', slide: '6m' })).toBe(MAX_PREVIEW_EVENTS);
    expect(previewEventLimit({ window: '1h', slide: '1m' })).toBe(1666);
    expect(previewEventLimit({ window: '1d', slide: '1s' })).toBe(1);
  });
});
