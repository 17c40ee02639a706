import { ChildProcess } from 'node:child_process';
import { request } from 'node:http';
import { API_KEY, expectGracefulExit, eventually, readEvents, spawnApi, topicEnd, workerPids } from './support/harness';

/**
 * POSTs n events, each on a new connection: a kept-alive connection belongs to the worker that
 * accepted it and dies with it, as with any server process.
 */
async function ingest(url: string, n: number, headers: Record<string, string> = {}): Promise<{ status: number; eventIds: string[]; replayed: boolean }[]> {
  const { hostname, port } = new URL(url);
  return Promise.all(
    Array.from(
      { length: n },
      (_, i) =>
        new Promise<{ status: number; eventIds: string[]; replayed: boolean }>((resolve, reject) => {
          const body = JSON.stringify(headers['Idempotency-Key'] ? { worker_test: 'one key' } : { worker_test: i });
          const req = request(
            {
              host: hostname,
              port,
              method: 'POST',
              path: '/api/v1/ingest/clicks',
              agent: false,
              headers: { 'X-API-Key': API_KEY, 'Content-Type': 'application/json', ...headers },
            },
            (res) => {
              let text = '';
              res.on('data', (chunk: Buffer) => (text += chunk.toString()));
              res.on('end', () =>
                resolve({
                  status: res.statusCode ?? 0,
                  eventIds: (JSON.parse(text) as { eventIds?: string[] }).eventIds ?? [],
                  replayed: res.headers['idempotent-replayed'] === 'true',
                }),
              );
            },
          );
          req.on('error', reject);
          req.end(body);
        }),
    ),
  );
}

describe('API_WORKERS=2: one port served by two worker processes', () => {
  let api: ChildProcess;
  let url: string;

  beforeAll(async () => {
    const spawned = await spawnApi({ API_WORKERS: '2', LOG_LEVEL: 'info' }, { logs: true });
    api = spawned.process;
    url = spawned.url;
    let logs = '';
    api.stdout!.on('data', (chunk: Buffer) => (logs += chunk.toString()));
    await eventually('both workers listening', async () => (logs.includes('all 2 API workers listening') ? true : undefined), 90000);
    expect(workerPids(api.pid!)).toHaveLength(2);
  });
  afterAll(() => {
    for (const pid of workerPids(api.pid!)) process.kill(pid, 'SIGKILL');
    if (api.exitCode === null && api.signalCode === null) api.kill('SIGKILL');
  });

  it('answers 202 for every event only after Kafka has it', async () => {
    const answers = await ingest(url, 40);
    expect(answers.map((a) => a.status)).toEqual(Array(40).fill(202));
    const ids = answers.flatMap((a) => a.eventIds);
    expect((await readEvents('ingest.clicks', ids)).size).toBe(40);
  });

  it('publishes requests with one idempotency key once across both workers', async () => {
    const before = await topicEnd('ingest.clicks');

    const answers = await ingest(url, 20, { 'Idempotency-Key': `workers-${Date.now()}` });

    const published = answers.filter((a) => a.status === 202 && !a.replayed);
    expect(published).toHaveLength(1);
    expect(answers.every((a) => a.status === 409 || (a.status === 202 && a.eventIds[0] === published[0].eventIds[0]))).toBe(true);
    expect((await topicEnd('ingest.clicks')) - before).toBe(1);
  });

  it('replaces a worker that dies and keeps serving', async () => {
    const [victim, survivor] = workerPids(api.pid!);
    process.kill(victim, 'SIGKILL');
    const replaced = await eventually(
      'a replacement worker',
      async () => {
        const pids = workerPids(api.pid!);
        return pids.length === 2 && !pids.includes(victim) ? pids : undefined;
      },
      60000,
    );
    expect(replaced).toContain(survivor);
    // The survivor keeps the port open while the replacement boots: no request is refused.
    // Every connection is served, whichever worker takes it.
    for (let round = 0; round < 5; round++) {
      const answers = await ingest(url, 20);
      expect(answers.map((a) => a.status)).toEqual(Array(20).fill(202));
    }
  });

  it('stops every worker and exits 0 on SIGTERM', async () => {
    await expectGracefulExit(api);
  });
});
