import { PipeTransform } from '@nestjs/common';
import { Transform } from 'class-transformer';
import { ValidateIf } from 'class-validator';
import { BadRequestError } from '../errors/errors';

/** Livy's ids, line numbers and sizes are Java ints. */
export const JAVA_INT_MAX = 2_147_483_647;

/**
 * A query parameter that must be a decimal integer. Only digits (and a leading minus) become a
 * number, so "1e21", "0x10", "" and " 7" stay strings and @IsInt() refuses them by name.
 */
export const ToInteger = () => Transform(({ value }: { value: unknown }) => (typeof value === 'string' && /^-?\d{1,16}$/.test(value) ? Number(value) : value));

/** A query parameter that must be `true` or `false`; anything else stays a string and @IsBoolean() refuses it. */
export const ToBoolean = () => Transform(({ value }: { value: unknown }) => (value === 'true' ? true : value === 'false' ? false : value));

/**
 * Refuses a path parameter that does not follow its rule with a 400 naming it, before any
 * dependency sees it (Airflow, asked for "a/b", answers 405; Livy, asked for 2^31, fails).
 */
export class MatchesPipe implements PipeTransform<string, string> {
  constructor(
    private readonly field: string,
    private readonly pattern: RegExp,
    private readonly rule: string,
  ) {}

  transform(value: string): string {
    if (typeof value === 'string' && this.pattern.test(value)) return value;
    const shown = String(value).length > 80 ? `${String(value).slice(0, 80)}...` : String(value);
    throw new BadRequestError(`${this.field} must be ${this.rule}; got "${shown}"`, [{ field: this.field, message: `must be ${this.rule}` }]);
  }
}

/**
 * An optional body property that, when sent, must be a value: unlike @IsOptional(), `null` is not
 * taken for absent (so `"enabled": null` is refused rather than stored as the default).
 */
export const OptionalNotNull = () => ValidateIf((_object: object, value: unknown) => value !== undefined);
