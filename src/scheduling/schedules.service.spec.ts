import { FakeAirflow } from '../airflow/testing/fake-airflow';
import { SchedulesRepository } from '../cassandra/schedules.repository';
import { InMemorySchedulesRepository } from '../cassandra/testing/in-memory-schedules.repository';
import { JobsCatalog } from '../catalogs/jobs.catalog';
import { BadRequestError, ConflictError, NotFoundError, UpstreamUnavailableError } from '../common/errors/errors';
import { testConfig } from '../common/testing/config';
import { rejection } from '../common/testing/rejection';
import { CreateScheduleDto } from './dto/schedules.dto';
import { SchedulesService } from './schedules.service';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const NOW = new Date('2026-01-01T00:00:30.000Z');
const UNKNOWN_ID = '00000000-0000-4000-8000-000000000000';

function setup(env: Record<string, string> = {}) {
  const repository = new InMemorySchedulesRepository();
  const airflow = new FakeAirflow();
  const config = testConfig(env);
  const service = new SchedulesService(repository as unknown as SchedulesRepository, airflow, new JobsCatalog(config), config);
  const changes = jest.fn();
  service.onChange(changes);
  return { service, repository, airflow, changes };
}

const dagSchedule: CreateScheduleDto = {
  name: 'ingest users every 5 minutes',
  cron: '*/5 * * * *',
  target: { kind: 'dag', name: 'user_profiles_ingest', conf: { count: 3 } },
};
const jobSchedule: CreateScheduleDto = {
  name: 'nightly rollup',
  cron: '0 2 * * *',
  target: { kind: 'job', name: 'daily_rollup', args: { day: '2026-01-01', sources: ['users'] } },
};

beforeEach(() => jest.useFakeTimers({ now: NOW }));
afterEach(() => jest.useRealTimers());

describe('SchedulesService.create', () => {
  it('stores a DAG schedule with defaults UTC and enabled, and answers its next fire time', async () => {
    const { service, repository, airflow } = setup();

    const view = await service.create(dagSchedule);

    expect(view).toEqual({
      id: expect.stringMatching(UUID),
      name: 'ingest users every 5 minutes',
      cron: '*/5 * * * *',
      timezone: 'UTC',
      enabled: true,
      target: { kind: 'dag', name: 'user_profiles_ingest', conf: { count: 3 } },
      createdAt: NOW.toISOString(),
      updatedAt: NOW.toISOString(),
      nextFireAt: '2026-01-01T00:05:00.000Z',
    });
    expect(airflow.getDag).toHaveBeenCalledWith('user_profiles_ingest');
    expect(repository.save).toHaveBeenCalledTimes(1);
    await expect(service.get(view.id)).resolves.toEqual(view);
  });

  it('gives each schedule its own id', async () => {
    const { service } = setup();

    const first = await service.create(dagSchedule);
    const second = await service.create(dagSchedule);

    expect(first.id).not.toBe(second.id);
    expect((await service.list()).map((s) => s.id)).toEqual([first.id, second.id]);
  });

  it('accepts a 6-field cron with seconds first', async () => {
    const { service } = setup();

    const view = await service.create({ ...dagSchedule, cron: '*/20 * * * * *' });

    expect(view.nextFireAt).toBe('2026-01-01T00:00:40.000Z');
  });

  it('computes the next fire time in the schedule’s time zone', async () => {
    const { service } = setup();

    const view = await service.create({ ...dagSchedule, cron: '0 9 * * *', timezone: 'Europe/Paris' });

    expect(view.timezone).toBe('Europe/Paris');
    expect(view.nextFireAt).toBe('2026-01-01T08:00:00.000Z'); // 09:00 in Paris, UTC+1 in winter
  });

  it('leaves nextFireAt out of a disabled schedule', async () => {
    const { service } = setup();

    const view = await service.create({ ...dagSchedule, enabled: false });

    expect(view.enabled).toBe(false);
    expect(view.nextFireAt).toBeUndefined();
    expect(JSON.parse(JSON.stringify(view))).not.toHaveProperty('nextFireAt');
  });

  it('tells the listeners once the schedule is stored', async () => {
    const { service, repository, changes } = setup();
    changes.mockImplementation(() => expect(repository.rows.size).toBe(1));

    await service.create(dagSchedule);

    expect(changes).toHaveBeenCalledTimes(1);
  });

  it.each(['every minute', '* * * *', '61 * * * *', '* * * * * * *'])('answers 400 for the cron %p, naming it, and stores nothing', async (cron) => {
    const { service, repository, changes } = setup();

    const err = await rejection(service.create({ ...dagSchedule, cron }));

    expect(err).toBeInstanceOf(BadRequestError);
    expect(err.statusCode).toBe(400);
    expect(err.message).toContain(`cron "${cron}"`);
    expect(repository.save).not.toHaveBeenCalled();
    expect(changes).not.toHaveBeenCalled();
  });

  // validateCronExpression accepts a day that never comes; validate also computes the next fire
  // time, so such a cron is a 400 instead of a stored schedule whose every read would fail.
  it.each(['0 0 30 2 *', '0 0 31 4 *'])('answers 400 for the cron %p that never fires, and stores nothing', async (cron) => {
    const { service, repository, changes } = setup();

    const err = await rejection(service.create({ ...dagSchedule, cron }));

    expect(err).toBeInstanceOf(BadRequestError);
    expect(err.message).toContain(cron);
    expect(repository.save).not.toHaveBeenCalled();
    expect(changes).not.toHaveBeenCalled();
  });

  it('answers 400 for a time zone that is not IANA, and stores nothing', async () => {
    const { service, repository } = setup();

    const err = await rejection(service.create({ ...dagSchedule, timezone: 'Mars/Olympus' }));

    expect(err).toBeInstanceOf(BadRequestError);
    expect(err.message).toContain('Mars/Olympus');
    expect(repository.save).not.toHaveBeenCalled();
  });

  // The controller's validation pipe refuses these first; the service does not rely on it.
  it.each([
    ['name', { ...dagSchedule, name: undefined }],
    ['cron', { ...dagSchedule, cron: undefined }],
    ['target', { ...dagSchedule, target: undefined }],
  ] as unknown as [string, CreateScheduleDto][])('answers 400 without %s', async (_field, input) => {
    const { service, repository } = setup();

    await expect(service.create(input)).rejects.toBeInstanceOf(BadRequestError);
    expect(repository.save).not.toHaveBeenCalled();
  });

  it('answers 400 naming a DAG Airflow does not know, and stores nothing', async () => {
    const { service, repository, changes } = setup();

    const err = await rejection(service.create({ ...dagSchedule, target: { kind: 'dag', name: 'no_such_dag' } }));

    expect(err).toBeInstanceOf(BadRequestError);
    expect(err.message).toBe('target: DAG "no_such_dag" does not exist in Airflow');
    expect(repository.save).not.toHaveBeenCalled();
    expect(changes).not.toHaveBeenCalled();
  });

  it('passes on a failure to reach Airflow while checking a DAG target (not a 400), and stores nothing', async () => {
    const { service, repository, airflow, changes } = setup();
    airflow.getDag.mockRejectedValueOnce(new UpstreamUnavailableError('Airflow', 'Airflow is unavailable'));

    const err = await rejection(service.create(dagSchedule));

    expect(err).toBeInstanceOf(UpstreamUnavailableError);
    expect(repository.save).not.toHaveBeenCalled();
    expect(changes).not.toHaveBeenCalled();
  });

  it('stores a job schedule with its args as given, without asking Airflow', async () => {
    const { service, airflow } = setup();

    const view = await service.create({ ...jobSchedule, target: { kind: 'job', name: 'events_stream', args: { trigger_ms: 500 } } });

    // The schema's defaults are applied when the job is submitted, not written into the schedule.
    expect(view.target).toEqual({ kind: 'job', name: 'events_stream', args: { trigger_ms: 500 } });
    expect(view.nextFireAt).toBe('2026-01-01T02:00:00.000Z');
    expect(airflow.getDag).not.toHaveBeenCalled();
  });

  it('answers 400 naming a job the catalog does not have', async () => {
    const { service, repository } = setup();

    const err = await rejection(service.create({ ...jobSchedule, target: { kind: 'job', name: 'no_such_job' } }));

    expect(err).toBeInstanceOf(BadRequestError);
    expect(err.statusCode).toBe(400);
    expect(err.message).toContain('"no_such_job"');
    expect(repository.save).not.toHaveBeenCalled();
  });

  it("answers 400 with details for job args that do not match the job's schema", async () => {
    const { service, repository } = setup();

    const err = await rejection(service.create({ ...jobSchedule, target: { kind: 'job', name: 'daily_rollup', args: { day: 'yesterday', sources: [] } } }));

    expect(err).toBeInstanceOf(BadRequestError);
    expect(err.message).toContain('daily_rollup');
    expect(err.details).toEqual(expect.arrayContaining([expect.objectContaining({ field: '/day' }), expect.objectContaining({ field: '/sources' })]));
    expect(repository.save).not.toHaveBeenCalled();
  });

  it('answers 400 for a job schedule without the required args', async () => {
    const { service } = setup();

    const err = await rejection(service.create({ ...jobSchedule, target: { kind: 'job', name: 'daily_rollup' } }));

    expect(err).toBeInstanceOf(BadRequestError);
    expect(err.details).toEqual(expect.arrayContaining([expect.objectContaining({ field: '/day' })]));
  });
});

describe('SchedulesService bounds: the interval of Spark job schedules, and how many schedules there are', () => {
  it.each([
    ['every second', '* * * * * *', 1],
    ['every 30 seconds', '*/30 * * * * *', 30],
    ['twice a minute at :00 and :05', '0,5 * * * * *', 5],
    ['at 02:00:00 and 02:00:10 each night', '0,10 0 2 * * *', 10],
  ])('refuses a Spark job schedule that fires %s with 400 naming cron and the minimum', async (_case, cron, gap) => {
    const { service, repository } = setup();

    const err = await rejection(service.create({ ...jobSchedule, cron }));

    expect(err).toBeInstanceOf(BadRequestError);
    expect(err.statusCode).toBe(400);
    expect(err.message).toContain('at most once every 60 s (SCHEDULES_MIN_INTERVAL_SECONDS)');
    expect(err.details).toEqual([{ field: 'cron', message: `must not fire a Spark job more than once every 60 s; it fires ${gap} s apart` }]);
    expect(repository.save).not.toHaveBeenCalled();
  });

  it('accepts a Spark job schedule every minute, and one within SCHEDULES_MIN_INTERVAL_SECONDS when it is lowered', async () => {
    await expect(setup().service.create({ ...jobSchedule, cron: '* * * * *' })).resolves.toMatchObject({ cron: '* * * * *' });
    await expect(setup({ SCHEDULES_MIN_INTERVAL_SECONDS: '10' }).service.create({ ...jobSchedule, cron: '*/10 * * * * *' })).resolves.toMatchObject({
      cron: '*/10 * * * * *',
    });
    const err = await rejection(setup({ SCHEDULES_MIN_INTERVAL_SECONDS: '3600' }).service.create({ ...jobSchedule, cron: '*/30 * * * *' }));
    expect(err.details).toEqual([{ field: 'cron', message: expect.stringContaining('once every 3600 s; it fires 1800 s apart') }]);
  });

  it('checks the interval when an update changes the cron, or turns a fast DAG schedule into a Spark job one; DAG schedules stay free', async () => {
    const { service, repository } = setup();
    const job = await service.create(jobSchedule);
    const dag = await service.create({ ...dagSchedule, cron: '*/5 * * * * *' });
    repository.save.mockClear();

    const faster = await rejection(service.update(job.id, { cron: '*/5 * * * * *' }));
    const retargeted = await rejection(service.update(dag.id, { target: jobSchedule.target }));

    expect(faster.details).toEqual([{ field: 'cron', message: expect.stringContaining('it fires 5 s apart') }]);
    expect(retargeted.details).toEqual([{ field: 'cron', message: expect.stringContaining('it fires 5 s apart') }]);
    expect(repository.save).not.toHaveBeenCalled();
    await expect(service.update(dag.id, { cron: '*/2 * * * * *' })).resolves.toMatchObject({ cron: '*/2 * * * * *' });
  });

  it("keeps a job target's args only: a conf sent with it never becomes Spark settings", async () => {
    const { service, repository } = setup();

    const created = await service.create({
      ...jobSchedule,
      target: { ...jobSchedule.target, conf: { 'spark.driver.extraJavaOptions': '-XX:OnOutOfMemoryError=id' } },
    });

    expect(JSON.stringify(created)).not.toContain('extraJavaOptions');
    expect(JSON.stringify(repository.save.mock.calls)).not.toContain('extraJavaOptions');
  });

  it('answers 409 past SCHEDULES_MAX schedules, and creates again once one is deleted', async () => {
    const { service, repository } = setup({ SCHEDULES_MAX: '2' });
    const first = await service.create(dagSchedule);
    await service.create(jobSchedule);

    const err = await rejection(service.create(dagSchedule));

    expect(err).toBeInstanceOf(ConflictError);
    expect(err.statusCode).toBe(409);
    expect(err.message).toBe('There are already 2 schedules, the most there may be (SCHEDULES_MAX=2): delete one before creating another');
    expect(repository.save).toHaveBeenCalledTimes(2);

    await service.remove(first.id);
    await expect(service.create(dagSchedule)).resolves.toMatchObject({ name: dagSchedule.name });
  });
});

describe('SchedulesService.update', () => {
  async function created() {
    const ctx = setup();
    const view = await ctx.service.create(dagSchedule);
    ctx.changes.mockClear();
    ctx.airflow.getDag.mockClear();
    jest.setSystemTime(new Date('2026-01-01T00:10:30.000Z'));
    return { ...ctx, view, stored: structuredClone(ctx.repository.rows.get(view.id)!) };
  }

  it('changes the given fields, keeps the others, and moves updatedAt only', async () => {
    const { service, view, changes } = await created();

    const updated = await service.update(view.id, { cron: '0 * * * *' });

    expect(updated).toEqual({
      ...view,
      cron: '0 * * * *',
      updatedAt: '2026-01-01T00:10:30.000Z',
      nextFireAt: '2026-01-01T01:00:00.000Z',
    });
    await expect(service.get(view.id)).resolves.toEqual(updated);
    expect(changes).toHaveBeenCalledTimes(1);
  });

  it('does not re-check the target when none is given, even if the DAG is gone', async () => {
    const { service, view, airflow } = await created();
    airflow.dags.clear();

    const updated = await service.update(view.id, { name: 'renamed' });

    expect(updated).toMatchObject({ name: 'renamed', target: view.target });
    expect(airflow.getDag).not.toHaveBeenCalled();
  });

  it('checks a new target and refuses one that does not exist, leaving the schedule as it was', async () => {
    const { service, view, airflow, changes, repository, stored } = await created();

    const err = await rejection(service.update(view.id, { target: { kind: 'dag', name: 'no_such_dag' } }));

    expect(err).toBeInstanceOf(BadRequestError);
    expect(err.message).toContain('"no_such_dag"');
    expect(airflow.getDag).toHaveBeenCalledWith('no_such_dag');
    expect(repository.rows.get(view.id)).toEqual(stored);
    expect(changes).not.toHaveBeenCalled();
  });

  it('replaces the target with a valid new one, answered as the request spelled it', async () => {
    const { service, view } = await created();

    const updated = await service.update(view.id, { target: jobSchedule.target });

    expect(updated.target).toEqual({ kind: 'job', name: 'daily_rollup', args: { day: '2026-01-01', sources: ['users'] } });
  });

  it('checks the args of a new job target', async () => {
    const { service, view, repository, stored } = await created();

    await expect(service.update(view.id, { target: { kind: 'job', name: 'daily_rollup', args: { day: 'soon' } } })).rejects.toBeInstanceOf(BadRequestError);
    expect(repository.rows.get(view.id)).toEqual(stored);
  });

  it('re-checks cron and time zone on every update', async () => {
    const { service, view, repository } = await created();
    repository.save.mockClear();

    await expect(service.update(view.id, { cron: 'every minute' })).rejects.toBeInstanceOf(BadRequestError);
    await expect(service.update(view.id, { timezone: 'Mars/Olympus' })).rejects.toBeInstanceOf(BadRequestError);
    expect(repository.save).not.toHaveBeenCalled();
  });

  it('disables a schedule: no next fire time', async () => {
    const { service, view } = await created();

    const updated = await service.update(view.id, { enabled: false });

    expect(updated.enabled).toBe(false);
    expect(updated.nextFireAt).toBeUndefined();
  });

  it.each([{}, { name: undefined }])('refuses a change of nothing (%p) with 400, storing nothing', async (input) => {
    const { service, view, repository, changes } = await created();
    repository.save.mockClear();

    const err = await rejection(service.update(view.id, input));

    expect(err).toBeInstanceOf(BadRequestError);
    expect(err.message).toBe('The body must be a JSON object with at least one of name, cron, timezone, enabled, target');
    expect(repository.save).not.toHaveBeenCalled();
    expect(changes).not.toHaveBeenCalled();
  });
});

describe('SchedulesService unknown and malformed ids', () => {
  it.each([
    ['an unknown id', UNKNOWN_ID],
    ['a malformed id', 'not-a-uuid'],
  ])('answers 404 for %s on get, update, remove and runs, and tells no listener', async (_what, id) => {
    const { service, repository, changes } = setup();

    for (const call of [service.get(id), service.update(id, { name: 'x' }), service.remove(id), service.runs(id, 10)]) {
      const err = await rejection(call);
      expect(err).toBeInstanceOf(NotFoundError);
      expect(err.message).toContain(id);
    }
    expect(repository.save).not.toHaveBeenCalled();
    expect(repository.delete).not.toHaveBeenCalled();
    expect(repository.runs).not.toHaveBeenCalled();
    expect(changes).not.toHaveBeenCalled();
  });

  it('does not ask the table about a malformed id', async () => {
    const { service, repository } = setup();

    await rejection(service.get("x' OR 1=1"));

    expect(repository.get).not.toHaveBeenCalled();
  });
});

describe('SchedulesService.remove and runs', () => {
  it('deletes the schedule, tells the listeners, and then no longer knows it', async () => {
    const { service, repository, changes } = setup();
    const view = await service.create(dagSchedule);
    changes.mockClear();

    await service.remove(view.id);

    expect(repository.delete).toHaveBeenCalledWith(view.id);
    expect(changes).toHaveBeenCalledTimes(1);
    await expect(service.get(view.id)).rejects.toBeInstanceOf(NotFoundError);
    await expect(service.list()).resolves.toEqual([]);
  });

  it('returns the runs of a known schedule, newest first, up to the limit, with ISO times', async () => {
    const { service, repository } = setup();
    const view = await service.create(dagSchedule);
    for (const minute of ['05', '10', '15']) {
      await repository.recordRun({
        scheduleId: view.id,
        fireTime: new Date(`2026-01-01T00:${minute}:00.000Z`),
        status: 'triggered',
        runRef: `run-${minute}`,
        recordedAt: new Date(`2026-01-01T00:${minute}:01.000Z`),
      });
    }

    const runs = await service.runs(view.id, 2);

    expect(runs.map((r) => r.runRef)).toEqual(['run-15', 'run-10']);
    expect(runs[0]).toEqual({
      fireTime: '2026-01-01T00:15:00.000Z',
      status: 'triggered',
      runRef: 'run-15',
      error: undefined,
      holder: undefined,
      recordedAt: '2026-01-01T00:15:01.000Z',
    });
    expect(repository.runs).toHaveBeenCalledWith(view.id, 2);
  });
});

describe('SchedulesService.preview', () => {
  it("answers the next five fire times from now, as instants and on the time zone's clock", () => {
    const { service } = setup();

    const preview = service.preview('0 2 * * *', 'Europe/Paris');

    expect(preview.cron).toBe('0 2 * * *');
    expect(preview.timezone).toBe('Europe/Paris');
    // 02:00 in Paris is 01:00 UTC in winter.
    expect(preview.fires).toEqual(
      [1, 2, 3, 4, 5].map((day) => ({
        at: `2026-01-0${day}T01:00:00.000Z`,
        local: `2026-01-0${day}T02:00:00+01:00`,
      })),
    );
  });

  it('crosses a change of offset as the scheduler does, and takes UTC by default', () => {
    const { service } = setup();
    jest.setSystemTime(new Date('2026-03-27T12:00:00.000Z'));

    const paris = service.preview('30 12 * * *', 'Europe/Paris', 3).fires;
    expect(paris.map((f) => f.local)).toEqual(['2026-03-28T12:30:00+01:00', '2026-03-29T12:30:00+02:00', '2026-03-30T12:30:00+02:00']);
    expect(paris.map((f) => f.at)).toEqual(['2026-03-28T11:30:00.000Z', '2026-03-29T10:30:00.000Z', '2026-03-30T10:30:00.000Z']);

    const utc = service.preview('*/20 * * * * *');
    expect(utc.timezone).toBe('UTC');
    expect(utc.fires.map((f) => f.local)).toEqual([
      '2026-03-27T12:00:20Z',
      '2026-03-27T12:00:40Z',
      '2026-03-27T12:01:00Z',
      '2026-03-27T12:01:20Z',
      '2026-03-27T12:01:40Z',
    ]);
  });

  it('lists a yearly cron up to the horizon the cron library searches (8 years), not an error', () => {
    const { service } = setup();

    const fires = service.preview('0 0 1 1 *', 'Africa/Mbabane', 50).fires;

    expect(fires.length).toBeGreaterThanOrEqual(7);
    expect(fires.length).toBeLessThan(50);
    expect(fires[0].local).toBe('2027-01-01T00:00:00+02:00');
    expect(new Set(fires.map((f) => f.at)).size).toBe(fires.length);
  });

  it('refuses an invalid cron or time zone with the message a schedule would get', () => {
    const { service } = setup();

    expect(() => service.preview('every minute')).toThrow(BadRequestError);
    expect(() => service.preview('every minute')).toThrow(/cron "every minute" is not valid/);
    expect(() => service.preview('* * * * *', 'Mars/Olympus')).toThrow(/timezone "Mars\/Olympus" is not an IANA time zone/);
  });
});
