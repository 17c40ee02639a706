import { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { request as httpRequest } from 'node:http';
import { API_KEY, eventually, readEvents, spawnApi } from './support/harness';

interface Answer {
  status: number;
  body: { eventIds: string[] };
}

describe('graceful shutdown of the API process on SIGTERM', () => {
  let api: ChildProcess;
  let url: URL;

  beforeAll(async () => {
    const spawned = await spawnApi();
    api = spawned.process;
    url = new URL(spawned.url);
    await eventually('readiness', async () => ((await fetch(`${spawned.url}/health/ready`)).status === 200 ? true : undefined), 60000);
  });
  afterAll(() => {
    if (api.exitCode === null && api.signalCode === null) api.kill('SIGKILL');
  });

  it('finishes in-flight ingest requests, acknowledged by Kafka, then exits', async () => {
    // Each request sends its headers and half its body, so the server holds it in flight when SIGTERM arrives.
    const inFlight = Array.from({ length: 20 }, (_, i) => {
      const body = Buffer.from(JSON.stringify({ shutdown: i }));
      const req = httpRequest({
        host: url.hostname,
        port: url.port,
        method: 'POST',
        path: '/api/v1/ingest/clicks',
        headers: { 'X-API-Key': API_KEY, 'Content-Type': 'application/json', 'Content-Length': body.length },
      });
      const answer = new Promise<Answer>((resolve, reject) => {
        req.on('error', reject);
        req.on('response', (res) => {
          let text = '';
          res.on('data', (chunk: Buffer) => (text += chunk.toString()));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) }));
        });
      });
      req.write(body.subarray(0, 5));
      return { req, body, answer, connected: once(req, 'socket').then(([socket]) => once(socket, 'connect')) };
    });
    await Promise.all(inFlight.map((r) => r.connected));
    await new Promise((r) => setTimeout(r, 500));

    const exited = once(api, 'exit');
    api.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 200));
    for (const r of inFlight) r.req.end(r.body.subarray(5));

    const answers = await Promise.all(inFlight.map((r) => r.answer));
    expect(answers.map((a) => a.status)).toEqual(Array(20).fill(202));
    const [code, signal] = (await exited) as [number | null, NodeJS.Signals | null];
    expect(code === 0 || signal === 'SIGTERM').toBe(true);

    const ids = answers.flatMap((a) => a.body.eventIds);
    expect((await readEvents('ingest.clicks', ids)).size).toBe(20);
  });
});
