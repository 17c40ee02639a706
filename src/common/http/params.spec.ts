import { plainToInstance } from 'class-transformer';
import { IsBoolean, IsInt, IsObject, IsOptional, Max, Min, validateSync } from 'class-validator';
import { BadRequestError } from '../errors/errors';
import { JAVA_INT_MAX, MatchesPipe, OptionalNotNull, ToBoolean, ToInteger } from './params';

class Query {
  @IsOptional()
  @ToInteger()
  @IsInt()
  @Min(0)
  @Max(JAVA_INT_MAX)
  from?: number;

  @IsOptional()
  @ToBoolean()
  @IsBoolean()
  wait?: boolean;
}

const problems = (query: Record<string, string>) => validateSync(plainToInstance(Query, query)).map((e) => e.property);

describe('query parameter conversions', () => {
  it.each(['0', '42', String(JAVA_INT_MAX)])('take %j as an integer', (from) => {
    expect(plainToInstance(Query, { from }).from).toBe(Number(from));
    expect(problems({ from })).toEqual([]);
  });

  it.each(['1e21', '0x10', '', ' 7', '1.5', 'abc', String(JAVA_INT_MAX + 1), '-1', '99999999999999999999'])('refuse %j as an integer', (from) => {
    expect(problems({ from })).toEqual(['from']);
  });

  it.each([
    ['true', true],
    ['false', false],
  ])('take %j as a boolean', (wait, expected) => {
    expect(plainToInstance(Query, { wait }).wait).toBe(expected);
  });

  it.each(['yes', '1', '', 'TRUE'])('refuse %j as a boolean (it used to mean false)', (wait) => {
    expect(problems({ wait })).toEqual(['wait']);
  });
});

describe('MatchesPipe', () => {
  const pipe = new MatchesPipe('dagId', /^[A-Za-z0-9_.-]{1,250}$/, 'letters, digits, _ . -');

  it('passes a value that follows the rule', () => {
    expect(pipe.transform('user_profiles_ingest')).toBe('user_profiles_ingest');
  });

  it.each(['a/b', '', 'x'.repeat(251), 'é'])('refuses %j with a 400 naming the parameter', (value) => {
    expect(() => pipe.transform(value)).toThrow(BadRequestError);
    expect(() => pipe.transform(value)).toThrow(/^dagId must be letters, digits, _ \. -; got/);
  });
});

describe('OptionalNotNull', () => {
  class Body {
    @OptionalNotNull()
    @IsObject()
    args?: Record<string, unknown>;
  }

  const errors = (body: object) => validateSync(plainToInstance(Body, body)).map((e) => e.property);

  it('lets the property be absent', () => {
    expect(errors({})).toEqual([]);
  });

  it('checks it when present', () => {
    expect(errors({ args: {} })).toEqual([]);
    expect(errors({ args: 'x' })).toEqual(['args']);
  });

  it('refuses null, which @IsOptional() would take for absent', () => {
    expect(errors({ args: null })).toEqual(['args']);
  });
});
