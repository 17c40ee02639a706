import { INestApplication } from '@nestjs/common';
import { Client } from 'cassandra-driver';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { AUTH, cassandra, eventually, ROOT, stack, stackPid, startApp, streamDrivers, streamJvms } from './support/harness';
import { pipelineOf } from './support/pipeline';

const LIVY_URL = process.env.LIVY_URL ?? 'http://127.0.0.1:8998';
const FAST = { STREAMING_SUPERVISE_SECONDS: '2', STREAMING_MAX_BACKOFF_SECONDS: '8' };

/**
 * The stream survives what kills it: Livy SIGKILLed (its driver lives on as an orphan, adopted, never
 * doubled), the driver itself SIGKILLed (restarted), and a second copy submitted around the control
 * plane (it finds the stream's lease taken and leaves the checkpoint alone). Judged end to end: every
 * event answered 202 is stored exactly once, with no call from the test to heal anything.
 */
describe('stream outages: Livy and the driver killed, second copies refused', () => {
  let app: INestApplication;
  let db: Client;
  let flow: ReturnType<typeof pipelineOf>;

  /** Sends events at about `perSecond` until stopped; answers the ids Kafka acknowledged. */
  function sender(source: string, perSecond: number, event: (i: number) => object = (i) => ({ seq: i })) {
    const ids: string[] = [];
    let sending = true;
    const done = (async () => {
      for (let i = 0; sending; i++) {
        const started = Date.now();
        ids.push(...(await flow.ingest(source, [event(i)])));
        await new Promise((r) => setTimeout(r, Math.max(0, 1000 / perSecond - (Date.now() - started))));
      }
    })();
    return { ids, stop: async () => ((sending = false), await done, ids) };
  }

  /** Samples the driver processes every 500 ms until stopped; answers every count seen. */
  function sampleDrivers() {
    const counts: number[] = [];
    const timer = setInterval(() => counts.push(streamDrivers().length), 500);
    return { counts, stop: () => (clearInterval(timer), counts) };
  }

  const lease = async () => (await db.execute("SELECT holder FROM leases WHERE name = 'stream:events_stream'")).rows[0]?.holder as string | undefined;

  beforeAll(async () => {
    app = await startApp(FAST);
    flow = pipelineOf(app.getHttpServer());
    db = await cassandra();
    await flow.api().post('/api/v1/streaming/start').set(AUTH).expect(200);
    await oneCopyRunning();
  }, 300_000);

  /**
   * The stream running as exactly one driver process. A copy that was just killed still looks fresh
   * for a few seconds (its last heartbeat), so the process is checked too.
   */
  const oneCopyRunning = () =>
    eventually(
      'one copy of the stream running',
      async () => {
        const s = await flow.streaming();
        return ['running', 'running-unmanaged'].includes(s.state) && streamDrivers().length === 1 ? s : undefined;
      },
      240_000,
      1000,
    );

  afterAll(async () => {
    if (!stackPid('livy')) stack('up', 'livy');
    await db?.shutdown();
    await app?.close();
  });

  it('Livy SIGKILLed and restarted under 30 events/s: the stream goes on as one copy, adopted, and stores every event once', async () => {
    const since = Date.now();
    const events = sender('clicks', 30);
    const drivers = sampleDrivers();
    await new Promise((r) => setTimeout(r, 3000));
    process.kill(stackPid('livy')!, 'SIGKILL');
    await eventually('Livy gone', async () => (stackPid('livy') ? undefined : true), 10_000, 200);
    stack('up', 'livy');
    const livyBack = Date.now();
    const adopted = await flow.streamIn(['running', 'running-unmanaged'], 60_000);
    await new Promise((r) => setTimeout(r, 3000));

    // Livy forgot the copy's batch: it is running, adopted, never lost, and its micro-batches are still listed.
    const batch = (await flow.api().get(`/api/v1/batches/${adopted.batchId}`).set(AUTH).expect(200)).body;
    expect(batch).toMatchObject({ id: adopted.batchId, job: 'events_stream', state: 'running' });
    if (adopted.state === 'running-unmanaged') expect(batch.adopted).toBe(true);
    const listed = (await flow.api().get('/api/v1/batches').set(AUTH).expect(200)).body.batches;
    expect(listed.find((b: { id: string }) => b.id === adopted.batchId)).toMatchObject({ state: 'running' });
    const micro = await eventually(
      "the adopted copy's micro-batches since Livy came back",
      async () => {
        const body = (await flow.api().get('/api/v1/streaming/micro-batches?limit=50').set(AUTH).expect(200)).body as {
          microBatches: { at: string; batchId?: string; rows: number }[];
        };
        return body.microBatches.some((b) => b.batchId === adopted.batchId && Date.parse(b.at) > livyBack) ? body : undefined;
      },
      30_000,
      1000,
    );
    expect(micro.microBatches[0].batchId).toBe(adopted.batchId);

    const ids = await events.stop();
    const counts = drivers.stop();
    expect(ids.length).toBeGreaterThan(150);
    expect(counts.length).toBeGreaterThan(10);
    expect(counts.filter((n) => n !== 1)).toEqual([]); // one driver at every sample
    expect(adopted.runId).toBeDefined();
    expect(adopted.livy).toBeUndefined(); // Livy is back and answers
    await flow.expectStored('clicks', ids, since);
  }, 300_000);

  it('POST /streaming/start and a direct Livy submission while an orphan runs: no second query', async () => {
    const before = await oneCopyRunning();
    const holder = await lease();
    expect(holder).toBe(before.runId);

    const again = await flow.api().post('/api/v1/streaming/start').set(AUTH).expect(200);
    expect(again.body.runId).toBe(before.runId);

    // A copy submitted around the control plane, with the very arguments of the running one.
    const batches = (await flow.api().get('/api/v1/batches').set(AUTH).expect(200)).body.batches;
    const template = batches.find((b: { job?: string; args?: string[] }) => b.job === 'events_stream' && b.args?.length);
    const jobsDir = join(ROOT, 'spark-jobs');
    const catalog = parseYaml(readFileSync(join(jobsDir, 'jobs.yaml'), 'utf8')) as { jobs: Record<string, { file: string; pyFiles: string[] }> };
    const job = catalog.jobs.events_stream;
    const submitted = await fetch(`${LIVY_URL}/batches`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'X-Requested-By': 'e2e' },
      body: JSON.stringify({
        file: join(jobsDir, job.file),
        pyFiles: job.pyFiles.map((f) => join(jobsDir, f)),
        name: `events_stream-direct-${Date.now()}`,
        args: template.args.filter((_: string, i: number, all: string[]) => all[i] !== '--batch-id' && all[i - 1] !== '--batch-id'),
        conf: { 'spark.jars.packages': 'org.apache.spark:spark-sql-kafka-0-10_2.12:3.5.7,com.datastax.spark:spark-cassandra-connector_2.12:3.5.1' },
      }),
    }).then((r) => r.json() as Promise<{ id: number }>);
    const ended = await eventually(
      'the direct copy to end',
      async () => {
        const b = (await fetch(`${LIVY_URL}/batches/${submitted.id}`).then((r) => r.json())) as { state: string };
        return ['dead', 'success', 'error', 'killed'].includes(b.state) ? b : undefined;
      },
      180_000,
      1000,
    );
    const log = (await fetch(`${LIVY_URL}/batches/${submitted.id}/log?from=0&size=1000`).then((r) => r.json())) as { log: string[] };
    expect(log.log.join('\n')).toMatch(/another copy/i);
    expect(ended.state).not.toBe('running');
    expect(await lease()).toBe(before.runId);
    const after = await flow.streaming();
    expect(after.runId).toBe(before.runId);
    expect(streamDrivers()).toHaveLength(1);
  }, 300_000);

  it('the driver SIGKILLed: the supervisor starts a new copy and every acknowledged event is stored once', async () => {
    const before = await oneCopyRunning();
    const since = Date.now();
    const events = sender('orders', 10, (i) => ({ order_id: `kill-${since}-${i}`, amount: i, currency: 'EUR' }));
    await new Promise((r) => setTimeout(r, 2000));
    for (const pid of [...streamDrivers(), ...streamJvms()]) process.kill(pid, 'SIGKILL');
    const restarted = await eventually(
      'a new copy running',
      async () => {
        const s = await flow.streaming();
        return s.state === 'running' && s.runId !== before.runId ? s : undefined;
      },
      180_000,
      1000,
    );
    expect(restarted.restarts).toBeGreaterThan(before.restarts);
    await new Promise((r) => setTimeout(r, 2000));
    const ids = await events.stop();
    expect(ids.length).toBeGreaterThan(20);
    await flow.expectStored('orders', ids, since);
    expect(streamDrivers()).toHaveLength(1);
  }, 300_000);
});
