import { BadRequestError } from '../common/errors/errors';
import { checkEventLimits, EventLimitError } from './event-limits';

/** The JSON of an event whose deepest container is `depth` levels down, the event itself being level 1: {"a":{"a":...{}}}. */
const nestedObjects = (depth: number) => `${'{"a":'.repeat(depth - 1)}{}${'}'.repeat(depth - 1)}`;
/** The same depth made of arrays inside the event: {"a":[[...[]]]}. */
const nestedArrays = (depth: number) => `{"a":${'['.repeat(depth - 1)}${']'.repeat(depth - 1)}}`;
const event = (json: string) => JSON.parse(json) as Record<string, unknown>;

/** The error checkEventLimits throws for these events (as JSON text, parsed like the body is). */
function limitError(json: string, maxDepth = 64): EventLimitError {
  const parsed: unknown = JSON.parse(json);
  try {
    checkEventLimits((Array.isArray(parsed) ? parsed : [parsed]) as Record<string, unknown>[], maxDepth);
  } catch (err) {
    expect(err).toBeInstanceOf(EventLimitError);
    expect(err).toBeInstanceOf(BadRequestError);
    return err as EventLimitError;
  }
  throw new Error('expected checkEventLimits to refuse the events');
}

describe('checkEventLimits, nesting', () => {
  it.each([
    ['objects', nestedObjects],
    ['arrays', nestedArrays],
  ])('accepts %s nested exactly to the limit and refuses one level more', (_case, nested) => {
    expect(() => checkEventLimits([event(nested(8))], 8)).not.toThrow();
    expect(() => checkEventLimits([event(nested(9))], 8)).toThrow(EventLimitError);
    expect(() => checkEventLimits([event(nested(64))], 64)).not.toThrow();
    expect(() => checkEventLimits([event(nested(65))], 64)).toThrow(EventLimitError);
  });

  it('counts the event itself as level 1', () => {
    expect(() => checkEventLimits([{ a: 1, b: 'x', c: null, d: true }], 1)).not.toThrow();
    expect(() => checkEventLimits([{ a: {} }], 1)).toThrow(EventLimitError);
    expect(() => checkEventLimits([{ a: [] }], 1)).toThrow(EventLimitError);
    expect(() => checkEventLimits([{ a: [1, 'x', null] }], 2)).not.toThrow();
  });

  it('names the event, the place and the limit', () => {
    const error = limitError(JSON.stringify([{ ok: [1, 2] }, { order: { lines: [{ tags: [[]] }] } }]), 4);

    expect(error.reason).toBe('too_deep');
    expect(error.statusCode).toBe(400);
    expect(error.message).toBe(
      'event 1 nests objects and arrays deeper than 4 levels, at /order/lines/0/tags: flatten it (at most 4 levels, the event itself being one)',
    );
    expect(error.details).toEqual([{ index: 1, field: '/order/lines/0/tags', message: 'is nested deeper than 4 levels' }]);
  });

  it.each([
    ['objects', nestedObjects, `/a${'/a'.repeat(63)}`],
    ['arrays', nestedArrays, `/a${'/0'.repeat(63)}`],
  ])('refuses %s 100,000 levels deep quickly, without overflowing the stack', (_case, nested, field) => {
    const batch = `[{},${nested(100_000)}]`;
    const started = process.hrtime.bigint();

    const error = limitError(batch, 64);

    expect(Number(process.hrtime.bigint() - started) / 1e6).toBeLessThan(250);
    expect(error.details).toEqual([{ index: 1, field, message: 'is nested deeper than 64 levels' }]);
  });
});

describe('checkEventLimits, numbers', () => {
  it.each(['1e400', '-1e400', '123456789e999', '-0.1e99999'])('refuses %s, which JSON.parse reads as Infinity', (number) => {
    const error = limitError(`{"order_id":"o-1","amount":${number}}`);

    expect(error.reason).toBe('bad_number');
    expect(error.message).toBe(
      'the event has a number too large for a double at /amount: send numbers within ±1.7976931348623157e308, or this one as a string',
    );
    expect(error.details).toEqual([
      { index: 0, field: '/amount', message: 'is a number too large for a double (a JSON number beyond ±1.7976931348623157e308)' },
    ]);
  });

  it('names the event of a batch and the JSON Pointer of a nested field', () => {
    const batch = `[{"n":0},{"n":1},{"n":2},{"order":{"lines":[{"sku":"a","amount":1},{"sku":"b","amount":1e400}]}}]`;

    const error = limitError(batch);

    expect(error.message).toMatch(/^event 3 has a number too large for a double at \/order\/lines\/1\/amount: /);
    expect(error.details).toEqual([{ index: 3, field: '/order/lines/1/amount', message: expect.any(String) }]);
  });

  it('escapes ~ and / in the pointer, and reaches an own __proto__ key', () => {
    expect(limitError('{"a/b~c":{"x":1e400}}').details).toEqual([expect.objectContaining({ field: '/a~1b~0c/x' })]);
    expect(limitError('{"__proto__":{"x":-1e400}}').details).toEqual([expect.objectContaining({ field: '/__proto__/x' })]);
  });

  it('accepts the largest finite doubles, underflow to zero, and integers past 2^53 (which JSON.parse rounds)', () => {
    const events = JSON.parse('[{"max":1.7976931348623157e308,"min":-1.7976931348623157e308,"tiny":1e-400,"big":9007199254740993}]');

    expect(() => checkEventLimits(events, 64)).not.toThrow();
    expect(events[0].big).toBe(9007199254740992);
  });
});

describe('checkEventLimits, several problems', () => {
  it('lists every problem in document order, the first one in the message and as the reason', () => {
    const error = limitError('[{"a":1e400,"b":{"c":{"d":{}}}},{"ok":true},{"x":[-1e400,1e400]}]', 3);

    expect(error.reason).toBe('bad_number');
    expect(error.message).toMatch(/^event 0 has a number too large for a double at \/a: .* \(3 more problem\(s\) in details\)$/);
    expect(error.details).toEqual([
      { index: 0, field: '/a', message: expect.stringMatching(/^is a number too large/) },
      { index: 0, field: '/b/c/d', message: 'is nested deeper than 3 levels' },
      { index: 2, field: '/x/0', message: expect.stringMatching(/^is a number too large/) },
      { index: 2, field: '/x/1', message: expect.stringMatching(/^is a number too large/) },
    ]);
  });

  it('lists at most 100 problems', () => {
    const error = limitError(JSON.stringify(Array.from({ length: 150 }, (_, i) => ({ i, deep: [[[]]] }))), 2);

    expect(error.reason).toBe('too_deep');
    expect(error.details).toHaveLength(100);
    expect(error.message).toMatch(/\(99 more problem\(s\) in details\)$/);
  });
});
