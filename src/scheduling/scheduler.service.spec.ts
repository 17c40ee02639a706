import { Logger } from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import { CronJob } from 'cron';
import { dag, FakeAirflow } from '../airflow/testing/fake-airflow';
import { BatchHistoryRepository } from '../cassandra/batch-history.repository';
import { ScheduleRecord, SchedulesRepository } from '../cassandra/schedules.repository';
import { InMemoryBatchHistory } from '../cassandra/testing/in-memory-batch-history.repository';
import { InMemorySchedulesRepository } from '../cassandra/testing/in-memory-schedules.repository';
import { InMemoryStreamRepository } from '../cassandra/testing/in-memory-stream.repository';
import { JobsCatalog } from '../catalogs/jobs.catalog';
import { SourcesRegistry } from '../catalogs/sources.registry';
import { sourcesNamed } from '../catalogs/testing/catalogs';
import { AppConfig } from '../common/config/app-config';
import { ConflictError, UpstreamUnavailableError } from '../common/errors/errors';
import { testConfig } from '../common/testing/config';
import { FakeLivy } from '../livy/testing/fake-livy';
import { MetricsService } from '../metrics/metrics.service';
import { metricValue } from '../metrics/testing/metric-value';
import { BatchesService } from '../processing/batches.service';
import { SchedulerService } from './scheduler.service';
import { SchedulesService } from './schedules.service';

const NOW = new Date('2026-01-01T00:00:30.000Z');
const SYNC_SECONDS = 10;

const DAG_ID = '2f1d0c52-4f0e-4b8e-9d0b-1f2e3d4c5b6a';
const JOB_ID = '7a6b5c4d-3e2f-4a1b-8c9d-0e1f2a3b4c5d';

function schedule(fields: Partial<ScheduleRecord> & { id: string }): ScheduleRecord {
  return {
    name: `schedule ${fields.id.slice(0, 4)}`,
    cron: '* * * * *',
    timezone: 'UTC',
    enabled: true,
    target: { kind: 'dag', name: 'user_profiles_ingest', params: { count: 3 } },
    createdAt: new Date('2025-12-01T00:00:00.000Z'),
    updatedAt: new Date('2025-12-01T00:00:00.000Z'),
    ...fields,
  };
}

const dagSchedule = schedule({ id: DAG_ID });
const jobSchedule = schedule({
  id: JOB_ID,
  cron: '0 2 * * *',
  target: { kind: 'job', name: 'daily_rollup', params: { day: '2026-01-01', sources: ['users'] } },
  createdAt: new Date('2025-12-02T00:00:00.000Z'),
  updatedAt: new Date('2025-12-02T00:00:00.000Z'),
});

/** What every replica shares: the schedules and batch-history tables, one Airflow, one Livy. */
interface Outside {
  repository: InMemorySchedulesRepository;
  history: InMemoryBatchHistory;
  airflow: FakeAirflow;
  livy: FakeLivy;
}

/** One API replica: its own services, registries and scheduler, over the shared outside systems (and the same catalog files). */
function replica({ repository, history, airflow, livy }: Outside, config: AppConfig, catalog: JobsCatalog, sources: SourcesRegistry) {
  const batches = new BatchesService(
    livy.client,
    catalog,
    history as unknown as BatchHistoryRepository,
    new InMemoryStreamRepository().repository,
    sources,
    config,
  );
  const schedules = new SchedulesService(repository as unknown as SchedulesRepository, airflow, catalog, config);
  const registry = new SchedulerRegistry();
  const metrics = new MetricsService();
  const scheduler = new SchedulerService(repository as unknown as SchedulesRepository, schedules, airflow, batches, registry, metrics, config);
  return { scheduler, registry, schedules, metrics };
}

/** Fires with this outcome counted by the replicas, together. */
const fires = async (outcome: 'triggered' | 'failed', ...of: Replica[]) =>
  (await Promise.all(of.map((r) => metricValue(r.metrics, 'pipeline_schedule_fires_total', { outcome })))).reduce((a, b) => a + b, 0);

type Replica = ReturnType<typeof replica>;

let replicas: Replica[] = [];
let warn: jest.SpyInstance;

function setup(env: Record<string, string> = {}) {
  const config = testConfig({ SCHEDULES_SYNC_SECONDS: String(SYNC_SECONDS), ...env });
  const outside: Outside = {
    repository: new InMemorySchedulesRepository(),
    history: new InMemoryBatchHistory(),
    airflow: new FakeAirflow(),
    livy: new FakeLivy(),
  };
  const catalog = new JobsCatalog(config);
  const sources = sourcesNamed('users', 'orders');
  const a = replica(outside, config, catalog, sources);
  const b = replica(outside, config, catalog, sources);
  replicas.push(a, b);
  return { ...outside, a, b, config };
}

/** The holder each replica took its leases with, in the order the replicas asked. */
const holders = (repository: InMemorySchedulesRepository) => repository.acquireLease.mock.calls.map(([, holder]) => holder);

const jobsOf = (registry: SchedulerRegistry) => registry.getCronJobs();
const at = (iso: string) => new Date(iso);

beforeEach(() => {
  jest.useFakeTimers({ now: NOW });
  warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
});

afterEach(() => {
  // No cron job or sync interval may outlive a test.
  for (const { scheduler, registry } of replicas) {
    scheduler.onApplicationShutdown();
    for (const job of registry.getCronJobs().values()) void job.stop();
  }
  replicas = [];
  jest.useRealTimers();
  jest.restoreAllMocks();
});

describe('SchedulerService.fire across two replicas', () => {
  it('triggers once when both replicas fire the same instant, recording one run with the winner as holder', async () => {
    const { repository, airflow, a, b } = setup();
    const instant = at('2026-01-01T00:01:00.000Z');

    await Promise.all([a.scheduler.fire(dagSchedule, instant), b.scheduler.fire(dagSchedule, instant)]);

    expect(airflow.trigger).toHaveBeenCalledTimes(1);
    expect(airflow.runs.get('user_profiles_ingest')!.filter((r) => r.runId.startsWith('schedule__'))).toHaveLength(1);
    expect(repository.acquireLease).toHaveBeenCalledTimes(2);
    const [first, second] = repository.acquireLease.mock.calls;
    expect(first[0]).toBe(`schedule:${DAG_ID}:2026-01-01T00:01:00.000Z`);
    expect(second[0]).toBe(first[0]);
    expect(first[1]).not.toBe(second[1]); // each replica its own holder
    expect(first[1]).toMatch(new RegExp(`:${process.pid}:[0-9a-f]{6}$`));

    expect(repository.writes).toHaveLength(1);
    // The lease is a lightweight transaction: the first to ask wins, and only the winner triggers and records.
    const winner = first[1];
    expect(repository.leases.get(first[0])).toBe(winner);
    expect(repository.writes[0]).toMatchObject({ scheduleId: DAG_ID, status: 'triggered', holder: winner, fireTime: instant });
    // Only the winner counts the fire.
    expect(await fires('triggered', a, b)).toBe(1);
    expect(await fires('failed', a, b)).toBe(0);
  });

  it('gives ticks a few milliseconds apart around the same second the same fire time', async () => {
    const { repository, airflow, a, b } = setup();

    await a.scheduler.fire(dagSchedule, at('2026-01-01T00:01:00.004Z'));
    await b.scheduler.fire(dagSchedule, at('2026-01-01T00:01:00.041Z'));
    await b.scheduler.fire(dagSchedule, at('2026-01-01T00:00:59.996Z'));

    expect(airflow.trigger).toHaveBeenCalledTimes(1);
    const [ofA, ofB] = holders(repository);
    expect(ofA).not.toBe(ofB);
    expect(repository.writes.map((r) => r.holder)).toEqual([ofA]); // a triggered; b, twice, did not
    expect(new Set(repository.acquireLease.mock.calls.map(([name]) => name))).toEqual(new Set([`schedule:${DAG_ID}:2026-01-01T00:01:00.000Z`]));
    expect(repository.writes.map((r) => r.fireTime.toISOString())).toEqual(['2026-01-01T00:01:00.000Z']);
  });

  it('fires again at the next fire time', async () => {
    const { repository, airflow, a, b } = setup();

    await Promise.all([a.scheduler.fire(dagSchedule, at('2026-01-01T00:01:00.003Z')), b.scheduler.fire(dagSchedule, at('2026-01-01T00:01:00.009Z'))]);
    await Promise.all([a.scheduler.fire(dagSchedule, at('2026-01-01T00:02:00.002Z')), b.scheduler.fire(dagSchedule, at('2026-01-01T00:02:00.001Z'))]);

    expect(airflow.trigger.mock.calls.map(([, req]) => req.runId)).toEqual([
      'schedule__2f1d0c52__20260101T000100000Z',
      'schedule__2f1d0c52__20260101T000200000Z',
    ]);
    expect(repository.writes.map((r) => r.fireTime.toISOString()).sort()).toEqual(['2026-01-01T00:01:00.000Z', '2026-01-01T00:02:00.000Z']);
  });

  it('keeps the leases of two schedules firing at the same instant apart', async () => {
    const { airflow, livy, a } = setup();
    const instant = at('2026-01-01T02:00:00.000Z');

    await a.scheduler.fire(dagSchedule, instant);
    await a.scheduler.fire(jobSchedule, instant);

    expect(airflow.trigger).toHaveBeenCalledTimes(1);
    expect(livy.createBatch).toHaveBeenCalledTimes(1);
  });
});

describe('SchedulerService.fire targets', () => {
  it('triggers a DAG with a run id from the schedule and fire time, and conf plus scheduleId and fireTime', async () => {
    const { repository, airflow, a } = setup();
    const spoofing = schedule({ id: DAG_ID, target: { kind: 'dag', name: 'user_profiles_ingest', params: { count: 3, scheduleId: 'spoofed' } } });

    await a.scheduler.fire(spoofing, at('2026-01-01T00:01:00.012Z'));

    expect(airflow.trigger.mock.calls).toEqual([
      [
        'user_profiles_ingest',
        {
          runId: 'schedule__2f1d0c52__20260101T000100000Z',
          conf: { count: 3, scheduleId: DAG_ID, fireTime: '2026-01-01T00:01:00.000Z' },
        },
      ],
    ]);
    expect(airflow.runs.get('user_profiles_ingest')!.at(-1)).toMatchObject({ runId: 'schedule__2f1d0c52__20260101T000100000Z', state: 'queued' });
    expect(repository.writes).toEqual([
      {
        scheduleId: DAG_ID,
        fireTime: at('2026-01-01T00:01:00.000Z'),
        status: 'triggered',
        runRef: 'schedule__2f1d0c52__20260101T000100000Z',
        error: undefined,
        holder: expect.any(String),
        recordedAt: expect.any(Date),
      },
    ]);
  });

  it("submits a job with the schedule’s args and records batch:<id> with the control plane's batch id", async () => {
    const { repository, history, airflow, livy, a } = setup();

    await a.scheduler.fire(jobSchedule, at('2026-01-01T02:00:00.000Z'));

    expect(livy.createBatch).toHaveBeenCalledTimes(1);
    const [request] = livy.createBatch.mock.calls[0];
    expect(request.file).toMatch(/\/daily_rollup\.py$/);
    expect(request.name).toMatch(/^daily_rollup-/);
    expect(request.args?.join(' ')).toContain('--day 2026-01-01 --sources users');
    expect(airflow.trigger).not.toHaveBeenCalled();
    const id = request.name!.slice('daily_rollup-'.length);
    expect(repository.writes).toEqual([expect.objectContaining({ scheduleId: JOB_ID, status: 'triggered', runRef: `batch:${id}` })]);
    await expect(history.get(id)).resolves.toMatchObject({ job: 'daily_rollup', name: request.name, livyId: 0 });
  });

  it("records a failed trigger with the error's message, and warns", async () => {
    const { repository, airflow, a } = setup();
    airflow.trigger.mockRejectedValueOnce(new UpstreamUnavailableError('Airflow', 'Airflow is unavailable: connect ECONNREFUSED 127.0.0.1:8080'));

    await a.scheduler.fire(dagSchedule, at('2026-01-01T00:01:00.000Z'));

    expect(repository.writes).toEqual([
      expect.objectContaining({ status: 'failed', error: 'Airflow is unavailable: connect ECONNREFUSED 127.0.0.1:8080', runRef: undefined }),
    ]);
    expect(warn).toHaveBeenCalledWith(expect.stringContaining('ECONNREFUSED'));
    expect(await fires('failed', a)).toBe(1);
    expect(await fires('triggered', a)).toBe(0);
  });

  it('records a failed job submission too', async () => {
    const { repository, history, livy, a } = setup();
    livy.createBatch.mockRejectedValueOnce(new ConflictError('Livy: Duplicate session name: daily_rollup-0badc0de'));

    await a.scheduler.fire(jobSchedule, at('2026-01-01T02:00:00.000Z'));

    expect(repository.writes).toEqual([
      expect.objectContaining({ scheduleId: JOB_ID, status: 'failed', error: 'Livy: Duplicate session name: daily_rollup-0badc0de', runRef: undefined }),
    ]);
    await expect(history.list()).resolves.toEqual([]);
  });

  it('records a failed fire when the target is gone since the schedule was stored: a DAG deleted in Airflow, a job dropped from the catalog', async () => {
    const { repository, airflow, livy, a } = setup();
    airflow.dags.delete('user_profiles_ingest');
    const goneJob = schedule({ id: JOB_ID, target: { kind: 'job', name: 'retired_job', params: {} } });

    await a.scheduler.fire(dagSchedule, at('2026-01-01T00:01:00.000Z'));
    await a.scheduler.fire(goneJob, at('2026-01-01T00:01:00.000Z'));

    expect(repository.writes).toEqual([
      expect.objectContaining({ scheduleId: DAG_ID, status: 'failed', error: 'DAG "user_profiles_ingest" does not exist in Airflow' }),
      expect.objectContaining({ scheduleId: JOB_ID, status: 'failed', error: expect.stringContaining('Unknown job "retired_job"') }),
    ]);
    expect(airflow.trigger).toHaveBeenCalledTimes(1);
    expect(livy.createBatch).not.toHaveBeenCalled();
  });

  it('skips the fire, recording nothing, when the lease cannot be taken', async () => {
    const { repository, airflow, a } = setup();
    repository.acquireLease.mockRejectedValueOnce(new UpstreamUnavailableError('Cassandra', 'Cassandra is unavailable'));

    await expect(a.scheduler.fire(dagSchedule, at('2026-01-01T00:01:00.000Z'))).resolves.toBeUndefined();

    expect(airflow.trigger).not.toHaveBeenCalled();
    expect(repository.recordRun).not.toHaveBeenCalled();
    expect(warn).toHaveBeenCalledWith(expect.stringContaining('lease not taken'));
    expect((await fires('triggered', a)) + (await fires('failed', a))).toBe(0);
  });

  it('still resolves when the run cannot be recorded (the run was triggered)', async () => {
    const { repository, airflow, a } = setup();
    repository.recordRun.mockRejectedValueOnce(new UpstreamUnavailableError('Cassandra', 'Cassandra is unavailable'));

    await expect(a.scheduler.fire(dagSchedule, at('2026-01-01T00:01:00.000Z'))).resolves.toBeUndefined();

    expect(airflow.trigger).toHaveBeenCalledTimes(1);
    expect(airflow.runs.get('user_profiles_ingest')!.at(-1)?.runId).toBe('schedule__2f1d0c52__20260101T000100000Z');
    expect(warn).toHaveBeenCalledWith(expect.stringContaining('run not recorded'));
    expect(await fires('triggered', a)).toBe(1);
  });
});

describe('SchedulerService.sync', () => {
  it('registers a running cron job per enabled schedule, named schedule:<id>', async () => {
    const { repository, a } = setup();
    await repository.save(dagSchedule);
    await repository.save(jobSchedule);
    await repository.save(schedule({ id: 'aaaaaaaa-0000-4000-8000-000000000000', enabled: false }));

    await a.scheduler.sync();

    const jobs = jobsOf(a.registry);
    expect([...jobs.keys()].sort()).toEqual([`schedule:${DAG_ID}`, `schedule:${JOB_ID}`].sort());
    for (const job of jobs.values()) expect(job.isActive).toBe(true);
  });

  it("fires the schedule when its cron job ticks, in the schedule's time zone", async () => {
    const { repository, airflow, a } = setup();
    await repository.save(schedule({ id: DAG_ID, cron: '0 9 * * *', timezone: 'Europe/Paris' }));
    await a.scheduler.sync();

    await jest.advanceTimersByTimeAsync(Date.parse('2026-01-01T07:59:59.000Z') - Date.now());
    expect(airflow.trigger).not.toHaveBeenCalled();
    await jest.advanceTimersByTimeAsync(1000);

    expect(airflow.trigger).toHaveBeenCalledTimes(1);
    expect(airflow.trigger.mock.calls[0][1].runId).toBe('schedule__2f1d0c52__20260101T080000000Z');
  });

  it('removes and stops the jobs of deleted and disabled schedules', async () => {
    const { repository, a } = setup();
    await repository.save(dagSchedule);
    await repository.save(jobSchedule);
    await a.scheduler.sync();
    const [dagJob, jobJob] = [a.registry.getCronJob(`schedule:${DAG_ID}`), a.registry.getCronJob(`schedule:${JOB_ID}`)];

    await repository.delete(DAG_ID);
    await repository.save({ ...jobSchedule, enabled: false, updatedAt: new Date() });
    await a.scheduler.sync();

    expect(jobsOf(a.registry).size).toBe(0);
    expect(dagJob.isActive).toBe(false);
    expect(jobJob.isActive).toBe(false);
  });

  it('re-creates the job of a schedule whose updatedAt changed, and keeps the others', async () => {
    const { repository, a } = setup();
    await repository.save(dagSchedule);
    await repository.save(jobSchedule);
    await a.scheduler.sync();
    const before = a.registry.getCronJob(`schedule:${DAG_ID}`);
    const untouched = a.registry.getCronJob(`schedule:${JOB_ID}`);

    await repository.save({ ...dagSchedule, cron: '*/5 * * * *', updatedAt: at('2026-01-01T00:00:20.000Z') });
    await a.scheduler.sync();

    const after = a.registry.getCronJob(`schedule:${DAG_ID}`);
    expect(after).not.toBe(before);
    expect(before.isActive).toBe(false);
    expect(after.isActive).toBe(true);
    expect(after.nextDate().toJSDate().toISOString()).toBe('2026-01-01T00:05:00.000Z');
    expect(a.registry.getCronJob(`schedule:${JOB_ID}`)).toBe(untouched);
  });

  it('fires the new target after a schedule changed', async () => {
    const { repository, airflow, a } = setup();
    airflow.dags.set('other_dag', dag('other_dag'));
    airflow.runs.set('other_dag', []);
    await repository.save(dagSchedule);
    await a.scheduler.sync();

    await repository.save({ ...dagSchedule, target: { kind: 'dag', name: 'other_dag', params: {} }, updatedAt: at('2026-01-01T00:00:20.000Z') });
    await a.scheduler.sync();
    await jest.advanceTimersByTimeAsync(30_000);

    expect(airflow.trigger).toHaveBeenCalledTimes(1);
    expect(airflow.trigger.mock.calls[0][0]).toBe('other_dag');
    expect(repository.writes).toEqual([expect.objectContaining({ status: 'triggered', runRef: 'schedule__2f1d0c52__20260101T000100000Z' })]);
  });

  it('folds concurrent syncs into the running one plus one more read, so a change made meanwhile is not missed', async () => {
    const { repository, a } = setup();
    await repository.save(dagSchedule);

    await Promise.all([a.scheduler.sync(), a.scheduler.sync(), a.scheduler.sync()]);
    await a.scheduler.sync();

    expect(repository.list).toHaveBeenCalledTimes(3);
    expect(jobsOf(a.registry).size).toBe(1);
  });

  it('keeps its jobs and warns when the table cannot be read', async () => {
    const { repository, a } = setup();
    await repository.save(dagSchedule);
    await a.scheduler.sync();
    repository.list.mockRejectedValueOnce(new UpstreamUnavailableError('Cassandra', 'Cassandra is unavailable'));

    await expect(a.scheduler.sync()).resolves.toBeUndefined();

    expect([...jobsOf(a.registry).keys()]).toEqual([`schedule:${DAG_ID}`]);
    expect(warn).toHaveBeenCalledWith(expect.stringContaining('schedules not synced'));
  });

  // A stored cron that never fires (e.g. "0 0 30 2 *", written before create refused it) makes
  // job.start() throw after addCronJob; each schedule is registered in its own try/catch (the
  // half-added job deleted), so one bad row cannot stop the others on any replica.
  it('registers the other schedules when one stored cron never fires', async () => {
    const { repository, a } = setup();
    await repository.save(schedule({ id: 'bbbbbbbb-0000-4000-8000-000000000000', cron: '0 0 30 2 *', createdAt: at('2025-11-01T00:00:00.000Z') }));
    await repository.save(dagSchedule);

    await a.scheduler.sync();
    await a.scheduler.sync();

    expect(jobsOf(a.registry).has(`schedule:${DAG_ID}`)).toBe(true);
  });
});

describe('SchedulerService lifecycle', () => {
  it('syncs at bootstrap, at once after a change through this replica, and every SCHEDULES_SYNC_SECONDS for the others', async () => {
    const { repository, a, b } = setup();
    await repository.save(dagSchedule);

    a.scheduler.onApplicationBootstrap();
    await jest.advanceTimersByTimeAsync(0);
    expect([...jobsOf(a.registry).keys()]).toEqual([`schedule:${DAG_ID}`]);

    const created = await a.schedules.create({ name: 'nightly', cron: '0 2 * * *', target: { kind: 'dag', name: 'user_profiles_ingest' } });
    await jest.advanceTimersByTimeAsync(0);
    expect(jobsOf(a.registry).has(`schedule:${created.id}`)).toBe(true);

    await b.schedules.remove(DAG_ID); // through the other replica: this one learns of it on its next sync
    await jest.advanceTimersByTimeAsync(SYNC_SECONDS * 1000 - 1000);
    expect(jobsOf(a.registry).has(`schedule:${DAG_ID}`)).toBe(true);
    await jest.advanceTimersByTimeAsync(1000);
    expect(jobsOf(a.registry).has(`schedule:${DAG_ID}`)).toBe(false);
  });

  it('on shutdown removes and stops every job and stops syncing', async () => {
    const { repository, airflow, a } = setup();
    await repository.save(dagSchedule);
    await repository.save(jobSchedule);
    a.scheduler.onApplicationBootstrap();
    await jest.advanceTimersByTimeAsync(0);
    const jobs: CronJob[] = [...jobsOf(a.registry).values()];
    expect(jobs).toHaveLength(2);

    a.scheduler.onApplicationShutdown();
    expect(jest.getTimerCount()).toBe(0); // neither the sync interval nor a cron timeout is left
    const reads = repository.list.mock.calls.length;
    await jest.advanceTimersByTimeAsync(5 * SYNC_SECONDS * 1000);

    expect(jobsOf(a.registry).size).toBe(0);
    for (const job of jobs) expect(job.isActive).toBe(false);
    expect(repository.list).toHaveBeenCalledTimes(reads);
    expect(airflow.trigger).not.toHaveBeenCalled(); // the every-minute DAG schedule did not tick
    await a.scheduler.sync();
    expect(jobsOf(a.registry).size).toBe(0);
  });
});
