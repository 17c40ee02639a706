import { fieldOf, formFields, formValues } from './schema-form';

// The args schema of daily_rollup and events_stream, as spark-jobs/jobs.yaml declares them.
const ROLLUP = {
  type: 'object',
  required: ['day', 'sources'],
  additionalProperties: false,
  properties: {
    day: { type: 'string', format: 'date', description: 'The UTC day to roll up, YYYY-MM-DD.', examples: ['2026-01-01'] },
    sources: { type: 'array', items: { type: 'string' }, minItems: 1, examples: [['users', 'orders']] },
  },
};
const STREAM = {
  type: 'object',
  properties: {
    trigger_ms: { type: 'integer', minimum: 100, maximum: 600000, default: 250 },
    starting_offsets: { type: 'string', enum: ['earliest', 'latest'], default: 'earliest' },
    verbose: { type: 'boolean' },
    weights: { type: 'array', items: { type: 'number' } },
    extra: { type: 'object' },
  },
};

describe('formFields', () => {
  it('gives each property a field of its type, required ones marked, examples as placeholders', () => {
    expect(formFields(ROLLUP)).toEqual([
      expect.objectContaining({
        name: 'day',
        kind: 'text',
        inputType: 'date',
        required: true,
        placeholder: '2026-01-01',
        initial: '',
        description: 'The UTC day to roll up, YYYY-MM-DD.',
      }),
      expect.objectContaining({ name: 'sources', kind: 'list', required: true, placeholder: 'users, orders', numericItems: false }),
    ]);
  });

  it('reads integers with their bounds and defaults, enums, booleans, lists of numbers and anything else as JSON', () => {
    const fields = formFields(STREAM);
    expect(fields.map((f) => [f.name, f.kind, f.initial])).toEqual([
      ['trigger_ms', 'integer', '250'],
      ['starting_offsets', 'enum', 'earliest'],
      ['verbose', 'boolean', ''],
      ['weights', 'list', ''],
      ['extra', 'json', ''],
    ]);
    expect(fields[0]).toMatchObject({ min: 100, max: 600000, inputType: 'number', label: 'trigger ms' });
    expect(fields[1].options).toEqual(['earliest', 'latest']);
  });

  it('has no field for a schema without properties', () => {
    expect(formFields(undefined)).toEqual([]);
    expect(formFields({ type: 'object' })).toEqual([]);
  });
});

describe('formValues', () => {
  it('converts what was typed into the JSON the API checks, leaving empty fields out', () => {
    const fields = formFields({ ...STREAM, properties: { ...STREAM.properties, ...ROLLUP.properties } });
    expect(
      formValues(fields, {
        trigger_ms: ' 500 ',
        starting_offsets: '',
        verbose: 'false',
        weights: '1, 2.5,',
        extra: '{"a":1}',
        day: '2026-01-02',
        sources: 'users , orders',
      }),
    ).toEqual({ trigger_ms: 500, verbose: false, weights: [1, 2.5], extra: { a: 1 }, day: '2026-01-02', sources: ['users', 'orders'] });
  });

  it('sends what it cannot read as typed, so that the API names the problem at its field', () => {
    const fields = formFields(STREAM);
    expect(formValues(fields, { trigger_ms: 'fast', extra: '{oops' })).toEqual({ trigger_ms: 'fast', extra: '{oops' });
  });
});

describe('fieldOf', () => {
  it.each([
    ['/day', 'day'],
    ['/sources/0', 'sources'],
    ['/a~1b', 'a/b'],
    ['/', ''],
  ])('%s names %s', (pointer, field) => expect(fieldOf(pointer)).toBe(field));
});
