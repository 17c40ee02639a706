import { INestApplication } from '@nestjs/common';
import { ChildProcess } from 'node:child_process';
import { AUTH, eventually, spawnApi, stack, stackRunning, startApp } from './support/harness';
import { pipelineOf } from './support/pipeline';

/** Fast supervision for the replicas these tests start. */
const FAST = { STREAMING_SUPERVISE_SECONDS: '2', STREAMING_MAX_BACKOFF_SECONDS: '8' };

/**
 * The stream keeps itself flowing and says how it flows: the desired state survives replicas and
 * restarts, a job that cannot start shows failed and recovers, a new source is picked up without a
 * hand, and GET /pipeline tells lag and the verdict. The stack's own API (make up's, or the one
 * `make test` starts) supervises too; the tests that need their replica to be the one deciding stop
 * it for their duration and start it again after.
 */
describe('stream supervision, desired state and pipeline status', () => {
  let app: INestApplication;
  let flow: ReturnType<typeof pipelineOf>;
  let wasDesired: string;
  const children: ChildProcess[] = [];

  async function replica(env: Record<string, string>): Promise<ReturnType<typeof pipelineOf> & { process: ChildProcess }> {
    const { process: child, url } = await spawnApi({ ...FAST, ...env });
    children.push(child);
    return { ...pipelineOf(url), process: child };
  }

  async function stopReplica(child: ChildProcess): Promise<void> {
    // A process ended by a signal has no exit code, only a signal code.
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    await exited;
  }

  /** Runs `body` with the stack's API stopped (so only this test's replicas supervise), then starts it again. */
  async function withoutStackApi(body: () => Promise<void>): Promise<void> {
    const wasUp = stackRunning('api');
    if (wasUp) stack('down', 'api');
    try {
      await body();
    } finally {
      if (wasUp) stack('up', 'api');
    }
  }

  beforeAll(async () => {
    app = await startApp(FAST);
    flow = pipelineOf(app.getHttpServer());
    wasDesired = (await flow.streaming()).desired;
  }, 120_000);

  afterAll(async () => {
    for (const child of children) await stopReplica(child);
    // Leave the stream as the run found it.
    if (wasDesired === 'running') await flow.api().post('/api/v1/streaming/start').set(AUTH);
    else await flow.api().post('/api/v1/streaming/stop').set(AUTH);
    await app?.close();
  }, 300_000);

  it('keeps a stop made through one replica when another replica starts with STREAMING_AUTOSTART', async () => {
    await flow.api().post('/api/v1/streaming/start').set(AUTH).expect(200);
    await flow.streamIn(['running', 'running-unmanaged']);
    const stopped = await flow.api().post('/api/v1/streaming/stop').set(AUTH).expect(200);
    expect(stopped.body).toMatchObject({ state: 'stopped', running: false, desired: 'stopped' });

    const other = await replica({ STREAMING_AUTOSTART: 'true' });
    await new Promise((r) => setTimeout(r, 8000)); // several supervision rounds of both replicas
    expect(await other.streaming()).toMatchObject({ state: 'stopped', desired: 'stopped' });
    expect(await flow.streaming()).toMatchObject({ state: 'stopped', desired: 'stopped' });
    await stopReplica(other.process);
  });

  it('GET /pipeline: with the stream stopped lag grows and the verdict is stopped; after a start lag returns to 0 and it flows', async () => {
    const before = await flow.pipeline();
    expect(before.verdict).toBe('stopped');
    const clicksBefore = before.sources.find((s: { source: string }) => s.source === 'clicks');
    await flow.ingest(
      'clicks',
      Array.from({ length: 25 }, (_, i) => ({ page: `/lag/${i}` })),
    );
    const during = await flow.pipeline();
    const clicks = during.sources.find((s: { source: string }) => s.source === 'clicks');
    expect(during.verdict).toBe('stopped');
    expect(clicks.lagEvents).toBe(clicksBefore.lagEvents + 25);
    expect(during.reasons.join(' ')).toMatch(/stopped/);
    expect(during.dependencies.map((d: { name: string }) => d.name).sort()).toEqual(['airflow', 'cassandra', 'kafka', 'livy']);

    await flow.api().post('/api/v1/streaming/start').set(AUTH).expect(200);
    const after = await eventually(
      'lag back to 0 and the pipeline flowing',
      async () => {
        const p = await flow.pipeline();
        return p.verdict === 'flowing' && p.sources.every((s: { lagEvents: number }) => s.lagEvents === 0) ? p : undefined;
      },
      180_000,
      2000,
    );
    expect(after.stream.state).toMatch(/^running/);
    expect(after.reasons).toEqual([]);
  });

  it('shows a job that cannot start as failed with its error, backs off, and recovers once fixed', async () => {
    await withoutStackApi(async () => {
      await flow.api().post('/api/v1/streaming/stop').set(AUTH).expect(200);
      await app.close(); // only the replicas below supervise
      // Nothing listens on this loopback address: the job cannot reach Cassandra.
      const broken = await replica({ STREAMING_CASSANDRA_HOSTS: '127.0.0.2:9042' });
      await broken.api().post('/api/v1/streaming/start').set(AUTH).expect(200);
      const failed = await broken.streamIn(['failed'], 180_000);
      expect(failed.error).toMatch(/127\.0\.0\.2/);
      const backingOff = await eventually(
        'a second failure with a later retry',
        async () => {
          const s = await broken.streaming();
          return s.state === 'failed' && s.failures >= 2 && s.nextAttemptAt ? s : undefined;
        },
        180_000,
        1000,
      );
      expect(Date.parse(backingOff.nextAttemptAt)).toBeGreaterThan(Date.now() - 1000);
      await stopReplica(broken.process);

      const fixed = await replica({});
      const running = await fixed.streamIn(['running'], 240_000);
      expect(running.restarts).toBeGreaterThanOrEqual(1);
      await eventually('failures cleared', async () => ((await fixed.streaming()).failures === 0 ? true : undefined), 60_000, 1000);
      await stopReplica(fixed.process);
      app = await startApp(FAST);
      flow = pipelineOf(app.getHttpServer());
    });
  });

  it('stores the events of a source added over the API, with no manual step', async () => {
    await withoutStackApi(async () => {
      await flow.api().post('/api/v1/streaming/start').set(AUTH).expect(200);
      // A copy keeps reading a topic no longer configured; an earlier run may have added this one already.
      const readBefore = (await flow.streamIn(['running', 'running-unmanaged'])).reading ?? [];
      const created = await flow.api().post('/api/v1/sources').set(AUTH).send({ name: 'e2e_added', description: 'A source added while the stream runs' });
      // 409: an earlier run created it (a source is never deleted, only archived, and this one never is).
      expect([201, 409]).toContain(created.status);
      const restarted = await eventually(
        'the stream reading the new topic',
        async () => {
          const s = await flow.streaming();
          return s.state === 'running' && s.reading?.includes('ingest.e2e_added') ? s : undefined;
        },
        240_000,
        2000,
      );
      // Other topics may be new to the copy too (a dead-letter topic of an upgrade).
      if (!readBefore.includes('ingest.e2e_added')) expect(restarted.lastRestartReason).toMatch(/sources changed \(.*\+ingest\.e2e_added\)/);
      const since = Date.now();
      const ids = await flow.ingest('e2e_added', [{ n: 1 }, { n: 2 }, { n: 3 }]);
      await flow.expectStored('e2e_added', ids, since, { counts: false });
    });
  });
});
