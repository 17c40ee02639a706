import { ArgumentMetadata } from '@nestjs/common';
import { BadRequestError } from '../../common/errors/errors';
import { validationPipe } from '../../common/http/validation.pipe';
import { LogQueryDto, SubmitBatchDto } from './processing.dto';

const check = (metatype: ArgumentMetadata['metatype'], type: ArgumentMetadata['type'], value: unknown) => validationPipe().transform(value, { type, metatype });

describe('LogQueryDto', () => {
  it("takes from and size within Livy's ints", async () => {
    await expect(check(LogQueryDto, 'query', { from: '2147483647', size: '1000' })).resolves.toMatchObject({ from: 2147483647, size: 1000 });
    await expect(check(LogQueryDto, 'query', {})).resolves.toMatchObject({ from: 0, size: 100 });
  });

  // Livy's `from` is a Java int: 1e21 reached it and came back as a 502.
  it.each(['1e21', '2147483648', '-1', '1.5', '0x10', ''])('refuses from=%j with 400 naming from', async (from) => {
    const err = (await check(LogQueryDto, 'query', { from }).catch((e: unknown) => e)) as BadRequestError;

    expect(err).toBeInstanceOf(BadRequestError);
    expect(err.details).toContainEqual(expect.objectContaining({ field: 'from' }));
  });
});

describe('SubmitBatchDto', () => {
  it('takes args and a conf of strings, or nothing', async () => {
    await expect(check(SubmitBatchDto, 'body', { args: { day: '2026-01-01' }, conf: { 'spark.driver.memory': '1g' } })).resolves.toBeInstanceOf(SubmitBatchDto);
    await expect(check(SubmitBatchDto, 'body', {})).resolves.toBeInstanceOf(SubmitBatchDto);
  });

  it.each([
    ['a conf value that is not a string', { conf: { 'spark.executor.instances': 2 } }, 'conf'],
    ['a conf that is a list', { conf: ['a'] }, 'conf'],
    ['null args', { args: null }, 'args'],
    ['null conf', { conf: null }, 'conf'],
    ['an unknown property', { file: 'x.py' }, 'file'],
  ])('refuses %s with 400 naming it', async (_case, body, field) => {
    const err = (await check(SubmitBatchDto, 'body', body).catch((e: unknown) => e)) as BadRequestError;

    expect(err).toBeInstanceOf(BadRequestError);
    expect(err.details).toContainEqual(expect.objectContaining({ field }));
  });
});
