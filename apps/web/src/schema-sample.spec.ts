import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parse } from 'yaml';
import { schemaCompiler } from '../../../src/catalogs/json-schema';
import { exampleFor, fromPattern } from './schema-sample';

type Schema = Record<string, unknown>;

// Checked with the same compiler as the sources registry: the sample must pass the source's own schema.
const compile = schemaCompiler();
const valid = (schema: Schema, value: unknown) => {
  const validate = compile(schema);
  return validate(value) ? [] : validate.errors;
};

describe('exampleFor', () => {
  it('fills the required properties with values of their type', () => {
    const orders = {
      type: 'object',
      required: ['order_id', 'amount'],
      properties: { order_id: { type: 'string', minLength: 1 }, amount: { type: 'number', minimum: 0 }, email: { type: 'string', format: 'email' } },
    };
    expect(exampleFor(orders)).toEqual({ order_id: expect.stringMatching(/^console-order_id-/), amount: 1 });
  });

  it('takes the first properties when none is required, and a message without a schema', () => {
    const users = { type: 'object', properties: { email: { type: 'string', format: 'email' }, active: { type: 'boolean' }, tier: { enum: ['gold'] }, x: {} } };
    expect(exampleFor(users)).toEqual({ email: 'ada@example.com', active: true, tier: 'gold' });
    expect(exampleFor(undefined)).toEqual({ message: 'hello from the console' });
  });

  it('gives every shipped source with a schema a sample its schema accepts', () => {
    const { sources } = parse(readFileSync(resolve(__dirname, '../../../config/sources.yaml'), 'utf8')) as { sources: Record<string, { schema?: Schema }> };
    const withSchema = Object.entries(sources).filter(([, s]) => s.schema);
    expect(withSchema.map(([name]) => name)).toEqual(expect.arrayContaining(['users', 'orders']));
    for (const [name, { schema }] of withSchema) expect({ name, errors: valid(schema!, exampleFor(schema)) }).toEqual({ name, errors: [] });
  });

  it.each<[string, Schema]>([
    ['a currency of three capitals', { pattern: '^[A-Z]{3}$', type: 'string' }],
    ['a pattern with escapes and quantifiers', { type: 'string', pattern: '^o-\\d{2,4}\\.[a-z_-]+$' }],
    ['an email', { type: 'string', format: 'email' }],
    ['a date-time', { type: 'string', format: 'date-time' }],
    ['a date', { type: 'string', format: 'date' }],
    ['a string of bounded length', { type: 'string', minLength: 40, maxLength: 45 }],
    ['a short string', { type: 'string', maxLength: 3 }],
    ['a number below 1', { type: 'number', minimum: 0, maximum: 0.5 }],
    ['a number above 1', { type: 'number', minimum: 10, maximum: 20 }],
    ['an exclusive bound', { type: 'number', exclusiveMinimum: 5 }],
    ['an integer between bounds', { type: 'integer', minimum: -7, maximum: -3 }],
    ['an integer with a fractional bound', { type: 'integer', minimum: 2.5 }],
    ['an enum', { enum: ['gold', 'silver'] }],
    ['a const', { const: 42 }],
    ['a nullable type', { type: ['null', 'string'], pattern: '^[0-9]{4}$' }],
    ['an array with a minimum of items', { type: 'array', minItems: 2, items: { type: 'string', pattern: '^[A-Z]{2}$' } }],
    ['a nested object', { type: 'object', required: ['at'], properties: { at: { type: 'string', format: 'date-time' }, n: { type: 'integer' } } }],
  ])('satisfies %s', (_what, property) => {
    const schema = { type: 'object', required: ['field'], properties: { field: property } };
    expect(valid(schema, exampleFor(schema))).toEqual([]);
  });
});

describe('fromPattern', () => {
  it.each(['^[A-Z]{3}$', '^o-\\d+$', '[a-z]{2,}', '^\\w+@\\w+\\.com$', 'abc?d*'])('matches %s', (pattern) => {
    expect(new RegExp(pattern, 'u').test(fromPattern(pattern)!)).toBe(true);
  });

  it.each(['^(a|b)$', '^[^A-Z]+$', '\\bword'])('gives up on %s', (pattern) => expect(fromPattern(pattern)).toBeUndefined());
});
