import { ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { AddressInfo, createServer } from 'node:net';
import { API_KEY, eventually, readEvents, ROOT } from './support/harness';

async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  server.close();
  return port;
}

describe('graceful shutdown of the API process on SIGTERM', () => {
  let api: ChildProcess;
  let port: number;

  beforeAll(async () => {
    port = await freePort();
    api = spawn(process.execPath, ['-r', 'ts-node/register', 'apps/api/main.ts'], {
      cwd: ROOT,
      env: { ...process.env, TS_NODE_TRANSPILE_ONLY: 'true', API_KEYS: API_KEY, PORT: String(port), LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    await eventually('the API answering', async () => ((await fetch(`http://127.0.0.1:${port}/health/ready`)).ok ? true : undefined), 60000);
  });
  afterAll(() => {
    if (api.exitCode === null && api.signalCode === null) api.kill('SIGKILL');
  });

  it('finishes in-flight ingest requests, acknowledged by Kafka, then exits', async () => {
    const requests = Array.from({ length: 20 }, (_, i) =>
      fetch(`http://127.0.0.1:${port}/api/v1/ingest/clicks`, {
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
