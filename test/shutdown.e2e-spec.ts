import { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { API_KEY, eventually, readEvents, spawnApi } from './support/harness';

describe('graceful shutdown of the API process on SIGTERM', () => {
  let api: ChildProcess;
  let url: string;

  beforeAll(async () => {
    ({ process: api, url } = await spawnApi());
    await eventually('Kafka ready', async () => ((await fetch(`${url}/health/ready`)).status !== 0 ? true : undefined), 60000);
  });
  afterAll(() => {
    if (api.exitCode === null && api.signalCode === null) api.kill('SIGKILL');
  });

  it('finishes in-flight ingest requests, acknowledged by Kafka, then exits', async () => {
    const requests = Array.from({ length: 20 }, (_, i) =>
      fetch(`${url}/api/v1/ingest/clicks`, {
        method: 'POST',
        headers: { 'X-API-Key': API_KEY, 'Content-Type': 'application/json' },
        body: JSON.stringify({ shutdown: i }),
      }).then(async (res) => ({ status: res.status, body: (await res.json()) as { eventIds: string[] } })),
    );
    // Let the requests reach the server, then ask it to stop while they are in flight.
    await new Promise((r) => setTimeout(r, 20));
    const exited = once(api, 'exit');
    api.kill('SIGTERM');

    const answers = await Promise.all(requests);
    expect(answers.map((a) => a.status)).toEqual(Array(20).fill(202));
    const [code, signal] = (await exited) as [number | null, NodeJS.Signals | null];
    expect(code === 0 || signal === 'SIGTERM').toBe(true);

    const ids = answers.flatMap((a) => a.body.eventIds);
    expect((await readEvents('ingest.clicks', ids)).size).toBe(20);
  });
});
