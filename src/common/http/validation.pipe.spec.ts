import { ArgumentMetadata } from '@nestjs/common';
import { Type } from 'class-transformer';
import { IsBoolean, IsIn, IsInt, Max, ValidateNested } from 'class-validator';
import { BadRequestError } from '../errors/errors';
import { fieldProblems, validationPipe } from './validation.pipe';

class Target {
  @IsIn(['dag', 'job'])
  kind: string;
}

class Body {
  @IsInt()
  @Max(1000)
  limit: number;

  @IsBoolean()
  enabled: boolean;

  @ValidateNested()
  @Type(() => Target)
  target: Target;
}

const asBody: ArgumentMetadata = { type: 'body', metatype: Body };

async function refusal(value: unknown): Promise<BadRequestError> {
  try {
    await validationPipe().transform(value, asBody);
  } catch (err) {
    return err as BadRequestError;
  }
  throw new Error('the pipe accepted the value');
}

describe('validationPipe', () => {
  it('refuses with a BadRequestError whose details name each failing field, nested ones by their path', async () => {
    const error = await refusal({ limit: 5000, enabled: true, target: { kind: 'cron' } });

    expect(error).toBeInstanceOf(BadRequestError);
    expect(error.details).toEqual([
      { field: 'limit', message: 'limit must not be greater than 1000' },
      { field: 'target.kind', message: 'target.kind must be one of the following values: dag, job' },
    ]);
    expect(error.message).toBe('limit must not be greater than 1000; target.kind must be one of the following values: dag, job');
  });

  it('refuses an unknown property, naming it', async () => {
    const error = await refusal({ limit: 1, enabled: true, target: { kind: 'dag' }, extra: 1 });

    expect(error.details).toEqual([{ field: 'extra', message: 'property extra should not exist' }]);
  });

  it('refuses null for a required value rather than taking it as absent', async () => {
    const error = await refusal({ limit: 1, enabled: null, target: { kind: 'dag' } });

    expect(error.details).toEqual([{ field: 'enabled', message: 'enabled must be a boolean value' }]);
  });

  it('passes a valid value through, transformed', async () => {
    await expect(validationPipe().transform({ limit: 1, enabled: false, target: { kind: 'job' } }, asBody)).resolves.toBeInstanceOf(Body);
  });

  it('answers no problem for no error', () => {
    expect(fieldProblems([])).toEqual([]);
  });
});
