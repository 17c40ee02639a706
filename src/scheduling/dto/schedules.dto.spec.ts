import { ArgumentMetadata } from '@nestjs/common';
import { BadRequestError } from '../../common/errors/errors';
import { validationPipe } from '../../common/http/validation.pipe';
import { CreateScheduleDto, UpdateScheduleDto } from './schedules.dto';

const check = (metatype: ArgumentMetadata['metatype'], value: unknown) => validationPipe().transform(value, { type: 'body', metatype });
const refusal = async (metatype: ArgumentMetadata['metatype'], value: unknown) => (await check(metatype, value).catch((e: unknown) => e)) as BadRequestError;

const valid = { name: 'n', cron: '* * * * *', timezone: 'Europe/Paris', enabled: true, target: { kind: 'job', name: 'daily_rollup', args: {} } };

describe('CreateScheduleDto', () => {
  it('takes a full schedule', async () => {
    await expect(check(CreateScheduleDto, valid)).resolves.toBeInstanceOf(CreateScheduleDto);
  });

  // null used to pass as "absent": enabled: null was stored as true, args: null as {}.
  it.each([
    ['enabled: null', { ...valid, enabled: null }, 'enabled'],
    ['timezone: null', { ...valid, timezone: null }, 'timezone'],
    ['target.args: null', { ...valid, target: { ...valid.target, args: null } }, 'target.args'],
    ['target.conf: null', { ...valid, target: { kind: 'dag', name: 'd', conf: null } }, 'target.conf'],
    ['a target name Airflow cannot hold', { ...valid, target: { kind: 'dag', name: 'a/b' } }, 'target.name'],
    ['a time zone that is not IANA', { ...valid, timezone: 'Mars/Olympus' }, 'timezone'],
    ['an unknown property', { ...valid, owner: 'me' }, 'owner'],
    ['an unknown target property', { ...valid, target: { ...valid.target, queue: 'x' } }, 'target.queue'],
  ])('refuses %s with 400 naming the field', async (_case, body, field) => {
    const err = await refusal(CreateScheduleDto, body);

    expect(err).toBeInstanceOf(BadRequestError);
    expect(err.details).toContainEqual(expect.objectContaining({ field }));
  });
});

describe('UpdateScheduleDto', () => {
  it('takes any one field', async () => {
    await expect(check(UpdateScheduleDto, { enabled: false })).resolves.toEqual({ enabled: false });
  });

  it.each([
    ['enabled: null', { enabled: null }, 'enabled'],
    ['name: null', { name: null }, 'name'],
    ['target: null', { target: null }, 'target'],
  ])('refuses %s rather than keeping the current value', async (_case, body, field) => {
    const err = await refusal(UpdateScheduleDto, body);

    expect(err).toBeInstanceOf(BadRequestError);
    expect(err.details).toContainEqual(expect.objectContaining({ field }));
  });
});
