import { definitionOf, definitionText, fieldsOf, filterValue, formOf, fromJson, newForm, placeErrors, valueText, ViewForm } from './view-form';

const filled: ViewForm = {
  name: ' revenue_per_currency ',
  source: 'orders',
  window: '1m',
  slide: '',
  groupBy: ['/currency'],
  filter: [
    { field: '/run', op: '=', value: 'console-e2e-1' },
    { field: '/qty', op: '>=', value: '3' },
    { field: '/status', op: 'in', value: 'paid, shipped' },
    { field: '/coupon', op: 'exists', value: 'ignored' },
  ],
  aggregates: [
    { fn: 'count', field: '', as: '' },
    { fn: 'sum', field: '/amount', as: 'revenue' },
  ],
  timeField: '',
  lateness: '5m',
  backfillFrom: '',
};

describe('the view form', () => {
  it('sends every row in order, values as JSON, and leaves out what is empty', () => {
    expect(definitionOf(filled)).toEqual({
      name: 'revenue_per_currency',
      source: 'orders',
      window: '1m',
      groupBy: ['/currency'],
      filter: [
        { field: '/run', op: '=', value: 'console-e2e-1' },
        { field: '/qty', op: '>=', value: 3 },
        { field: '/status', op: 'in', value: ['paid', 'shipped'] },
        { field: '/coupon', op: 'exists' },
      ],
      aggregates: [{ fn: 'count' }, { fn: 'sum', field: '/amount', as: 'revenue' }],
      lateness: '5m',
    });
  });

  it('leaves a required setting out rather than empty, so that the API names it as required', () => {
    const body = definitionOf({ ...newForm(), window: ' ', filter: [{ field: '', op: '=', value: '' }], groupBy: [''] });

    expect(body).toEqual({ groupBy: [''], filter: [{ op: '=' }], aggregates: [{ fn: 'count' }] });
  });

  it.each([
    ['=', 'paid', 'paid'],
    ['=', '12.5', 12.5],
    ['!=', 'true', true],
    ['=', '"12"', '12'],
    ['=', ' spaced ', 'spaced'],
    ['=', 'null', 'null'],
    ['in', 'EUR, USD,', ['EUR', 'USD']],
    ['in', '1, "2", x', [1, '2', 'x']],
    ['in', '["a,b", 3]', ['a,b', 3]],
    ['exists', 'anything', undefined],
    ['<', '  ', undefined],
  ] as const)('reads %s %j as %j', (op, typed, value) => expect(filterValue(op, typed)).toEqual(value));

  it('shows a stored value as text that reads back the same', () => {
    for (const [op, value] of [
      ['=', 'paid'],
      ['=', '12'],
      ['=', 12],
      ['=', false],
      ['=', ' x'],
      ['in', ['EUR', 'USD']],
      ['in', ['a,b', 3, '4']],
    ] as const) {
      expect(filterValue(op, valueText(value))).toEqual(value);
    }
  });

  it('goes to JSON and back to the same form', () => {
    const form = { ...filled, name: 'revenue_per_currency', filter: filled.filter.slice(0, 3) };

    expect(fromJson(definitionText(form))).toEqual({ form });
    expect(formOf({ name: 'v', aggregates: [{ fn: 'p95', field: '/ms' }] })).toEqual({
      ...newForm(),
      name: 'v',
      window: '',
      aggregates: [{ fn: 'p95', field: '/ms', as: '' }],
    });
  });

  it('keeps JSON the form cannot show exactly as JSON, saying why', () => {
    expect(fromJson('{"name": ')).toEqual({ error: expect.stringMatching(/^definition: /) });
    expect(fromJson('[1]')).toEqual({ error: 'definition: must be a JSON object' });
    for (const typed of [
      '{"name": "v", "colour": "red", "aggregates": []}',
      '{"name": 7, "aggregates": []}',
      '{"name": " v", "aggregates": []}',
      '{"aggregates": [{"fn": "median"}]}',
      '{"filter": [{"field": "/a", "op": "like", "value": 1}], "aggregates": []}',
      '{"groupBy": "/a", "aggregates": []}',
    ]) {
      expect(fromJson(typed)).toEqual({ error: expect.stringMatching(/cannot show this definition exactly/) });
    }
  });

  it("places the API's errors at their fields, the rest elsewhere", () => {
    const errors = new Map([
      ['window', ['must divide a day evenly; 7m (420 s) does not divide 86400 s']],
      ['aggregates/1/field', ["the source's schema says /currency is a string; sum needs a number"]],
      ['filter/0/op', ['must be one of = != < <= > >= in exists']],
      ['filter/2/value/1', ['must be a string, a number or a boolean']],
      ['groupBy/0', ['is not a JSON Pointer']],
      ['aggregates/5/fn', ['is required']],
      ['body', ['must be a JSON object: a view definition']],
      ['colour', ['property colour should not exist']],
    ]);

    const { at, elsewhere } = placeErrors(errors, fieldsOf(filled));

    expect(Object.fromEntries(at)).toEqual({
      window: ['must divide a day evenly; 7m (420 s) does not divide 86400 s'],
      'aggregates/1/field': ["the source's schema says /currency is a string; sum needs a number"],
      'filter/0/op': ['must be one of = != < <= > >= in exists'],
      'filter/2/value': ['item 1: must be a string, a number or a boolean'],
      'groupBy/0': ['is not a JSON Pointer'],
      aggregates: ['5/fn: is required'],
    });
    expect(elsewhere).toEqual([
      ['body', ['must be a JSON object: a view definition']],
      ['colour', ['property colour should not exist']],
    ]);
  });

  it("places a preview's errors, which name the definition's paths within the body, the range's elsewhere", () => {
    const errors = new Map([
      ['definition/window', ['must be at most 1d']],
      ['definition/filter/0/field', ['is required']],
      ['definition', ['definition must be a view definition: a JSON object, as the body of POST /views']],
      ['from', ['must be at most 24 hours before to']],
      ['window', ['not the form’s: the preview names it definition/window']],
    ]);

    const { at, elsewhere } = placeErrors(errors, fieldsOf(filled), 'definition');

    expect(Object.fromEntries(at)).toEqual({ window: ['must be at most 1d'], 'filter/0/field': ['is required'] });
    expect(elsewhere.map(([field]) => field)).toEqual(['definition', 'from', 'window']);
  });
});
