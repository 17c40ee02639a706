import { ChildProcess, spawn } from 'node:child_process';
import { API_KEY, expectGracefulExit, Answer, eventually, requestOnNewConnection, spawnApi, workerPids } from './support/harness';

const KEY = { 'X-API-Key': API_KEY };
const JSON_BODY = { ...KEY, 'Content-Type': 'application/json' };

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** The samples of an exposition (`name{label="value",...} value` lines). */
function samples(text: string): Sample[] {
  return text
    .split('\n')
    .filter((line) => line !== '' && !line.startsWith('#'))
    .map((line) => {
      const [, name, rawLabels = '', rawValue] = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line)!;
      const labels = Object.fromEntries([...rawLabels.matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map(([, k, v]) => [k, v]));
      return { name, labels, value: Number(rawValue) };
    });
}

/** The value of the series with exactly these labels; 0 when the API has not written it. */
function value(text: string, name: string, labels: Record<string, string> = {}): number {
  const same = (a: Record<string, string>) => Object.keys(a).length === Object.keys(labels).length && Object.entries(labels).every(([k, v]) => a[k] === v);
  return samples(text).find((s) => s.name === name && same(s.labels))?.value ?? 0;
}

/** Runs `promtool check metrics` on an exposition; answers its exit code and everything it printed. */
async function promtool(exposition: string): Promise<{ code: number | null; output: string }> {
  const child = spawn('promtool', ['check', 'metrics'], { stdio: ['pipe', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve, reject) => {
    child.on('error', (err) => reject(new Error(`promtool could not be run (make test installs it): ${err.message}`)));
    child.on('close', (code) => resolve(code));
  });
  child.stdin.end(exposition);
  return { code: await exited, output };
}

async function expectPromtoolAccepts(exposition: string): Promise<void> {
  const { code, output } = await promtool(exposition);
  expect({ code, output }).toEqual({ code: 0, output: expect.any(String) });
}

/** Pids of the processes whose request log lines show this url (pino writes the pid into every line). */
function servedBy(logs: string, url: string): Set<number> {
  const pids = new Set<number>();
  for (const line of logs.split('\n')) {
    if (!line.startsWith('{')) continue;
    const entry = JSON.parse(line) as { pid?: number; req?: { url?: string } };
    if (entry.req?.url === url && entry.pid !== undefined) pids.add(entry.pid);
  }
  return pids;
}

function stop(api: ChildProcess | undefined): void {
  if (!api?.pid) return;
  for (const pid of workerPids(api.pid)) {
    try {
      process.kill(pid, 'SIGCONT');
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  if (api.exitCode === null && api.signalCode === null) api.kill('SIGKILL');
}

describe('GET /metrics with API_WORKERS=2: every scrape answers for both workers', () => {
  let api: ChildProcess;
  let url: string;
  let logs = '';
  const call = (method: string, path: string, options?: Parameters<typeof requestOnNewConnection>[3]) => requestOnNewConnection(url, method, path, options);
  const scrape = () => call('GET', '/metrics', { headers: KEY });

  beforeAll(async () => {
    const spawned = await spawnApi({ API_WORKERS: '2', LOG_LEVEL: 'info', STREAMING_AUTOSTART: 'false' }, { logs: true });
    api = spawned.process;
    url = spawned.url;
    api.stdout!.on('data', (chunk: Buffer) => (logs += chunk.toString()));
    await eventually('both workers listening', async () => (logs.includes('all 2 API workers listening') ? true : undefined), 90000);
    expect(workerPids(api.pid!)).toHaveLength(2);
  });
  afterAll(() => stop(api));

  it('counts exactly the requests made, whichever worker served each', async () => {
    const statuses = async (n: number, send: (i: number) => Promise<Answer>) =>
      (await Promise.all(Array.from({ length: n }, (_, i) => send(i)))).map((a) => a.status);
    const clicks = (i: number) => JSON.stringify([{ n: i }, { n: i + 1 }, { n: i + 2 }]);
    // users refuses a batch with an invalid event (orders would quarantine it).
    const badUsers = JSON.stringify([
      { name: 'Ada', email: 'ada@example.com' },
      { name: 'Bob', email: 'not-an-email' },
    ]);

    expect(await statuses(20, () => call('GET', '/api/v1/sources', { headers: KEY }))).toEqual(Array(20).fill(200));
    expect(await statuses(6, () => call('GET', '/api/v1/sources'))).toEqual(Array(6).fill(401));
    expect(await statuses(8, (i) => call('POST', '/api/v1/ingest/clicks', { headers: JSON_BODY, body: clicks(i) }))).toEqual(Array(8).fill(202));
    expect(await statuses(4, (i) => call('POST', `/api/v1/ingest/no-such-source-${i}`, { headers: JSON_BODY, body: '{}' }))).toEqual(Array(4).fill(404));
    expect(await statuses(3, () => call('POST', '/api/v1/ingest/users', { headers: JSON_BODY, body: badUsers }))).toEqual(Array(3).fill(400));
    expect(await statuses(2, () => call('POST', '/api/v1/ingest/clicks', { headers: JSON_BODY, body: '{"n": ' }))).toEqual(Array(2).fill(400));
    expect(await statuses(5, (i) => call('GET', `/no/such/path/${i}`, { headers: KEY }))).toEqual(Array(5).fill(404));
    expect(await statuses(3, (i) => call('GET', `/api/v1/nowhere/${i}`, { headers: KEY }))).toEqual(Array(3).fill(404));

    // Both workers served some of them: the sums below are sums over two registries.
    expect(servedBy(logs, '/api/v1/sources').size).toBe(2);
    expect(servedBy(logs, '/api/v1/ingest/clicks').size).toBe(2);

    // Scrape until both workers have answered a scrape; each answer is the same sum.
    for (let i = 0; i < 6 && servedBy(logs, '/metrics').size < 2; i++) {
      const res = await scrape();
      expect(res.status).toBe(200);
      expect(res.headers['content-type']).toMatch(/^text\/plain;.*version=0\.0\.4/);
      const text = res.text;
      const http = (route: string, method: string, status: string) => value(text, 'http_requests_total', { route, method, status });

      expect(http('/api/v1/sources', 'GET', '200')).toBe(20);
      expect(http('/api/v1/sources', 'GET', '401')).toBe(6);
      expect(http('/api/v1/ingest/:source', 'POST', '202')).toBe(8);
      expect(http('/api/v1/ingest/:source', 'POST', '404')).toBe(4);
      expect(http('/api/v1/ingest/:source', 'POST', '400')).toBe(5);
      expect(http('unmatched', 'GET', '404')).toBe(8);
      expect(value(text, 'http_request_duration_seconds_count', { route: '/api/v1/sources', method: 'GET', status: '200' })).toBe(20);
      expect(value(text, 'http_request_duration_seconds_bucket', { le: '+Inf', route: '/api/v1/ingest/:source', method: 'POST', status: '202' })).toBe(8);

      expect(value(text, 'pipeline_events_accepted_total', { source: 'clicks' })).toBe(24);
      expect(value(text, 'pipeline_events_rejected_total', { source: 'unknown', reason: 'unknown_source' })).toBe(4);
      expect(value(text, 'pipeline_events_rejected_total', { source: 'users', reason: 'schema' })).toBe(6);
      expect(value(text, 'pipeline_events_rejected_total', { source: 'clicks', reason: 'bad_json' })).toBe(2);
      expect(value(text, 'pipeline_kafka_produce_batch_records_sum')).toBe(24);
      expect(value(text, 'pipeline_kafka_produce_duration_seconds_count', { outcome: 'failed' })).toBe(0);
      // No URL ever became a label value.
      expect(text).not.toMatch(/no-such-source|no\/such\/path|nowhere/);
    }
    expect(servedBy(logs, '/metrics').size).toBe(2);
  });

  it('refuses a scrape without a valid key, in the one error shape, and counts it', async () => {
    const missing = await call('GET', '/metrics');
    const wrong = await call('GET', '/metrics', { headers: { 'X-API-Key': 'not-the-key-not-the-key' } });
    const bearer = await call('GET', '/metrics', { headers: { Authorization: `Bearer ${API_KEY}` } });

    expect([missing.status, wrong.status, bearer.status]).toEqual([401, 401, 200]);
    expect(JSON.parse(missing.text)).toMatchObject({ statusCode: 401, error: 'Unauthorized', requestId: expect.any(String) });
    expect(value((await scrape()).text, 'http_requests_total', { route: '/metrics', method: 'GET', status: '401' })).toBe(2);
  });

  it('is served outside /api/v1 only', async () => {
    expect((await call('GET', '/api/v1/metrics', { headers: KEY })).status).toBe(404);
  });

  it('passes promtool check metrics', async () => {
    await expectPromtoolAccepts((await scrape()).text);
  });

  it('answers 503 naming the cause, instead of hanging, while a worker cannot answer; then recovers', async () => {
    const [stuck] = workerPids(api.pid!);
    process.kill(stuck, 'SIGSTOP');
    let answers: Promise<Answer>[] = [];
    try {
      // The primary hands the stopped worker at most one connection; the other scrape reaches the live worker.
      answers = [scrape(), scrape()];
      const first = await Promise.race(answers);
      expect(first.status).toBe(503);
      expect(first.headers['content-type']).toMatch(/^application\/json/);
      expect(first.headers['retry-after']).toBe('5');
      expect(JSON.parse(first.text)).toMatchObject({
        statusCode: 503,
        message: 'The metrics of every API worker could not be gathered: Operation timed out.',
      });
    } finally {
      process.kill(stuck, 'SIGCONT');
    }
    for (const answer of await Promise.all(answers)) expect([200, 503]).toContain(answer.status);
    // Supervision went on: the same two workers, and a scrape answers again with the whole API.
    expect(workerPids(api.pid!)).toContain(stuck);
    const after = await scrape();
    expect(after.status).toBe(200);
    expect(value(after.text, 'http_requests_total', { route: '/api/v1/sources', method: 'GET', status: '200' })).toBe(20);
  });

  it('still stops every worker and exits 0 on SIGTERM', async () => {
    await expectGracefulExit(api);
  });
});

describe('GET /metrics with METRICS_PUBLIC=true and one worker', () => {
  let api: ChildProcess;
  let url: string;

  beforeAll(async () => {
    ({ process: api, url } = await spawnApi({ METRICS_PUBLIC: 'true', STREAMING_AUTOSTART: 'false' }));
  });
  afterAll(() => stop(api));

  it("answers a scrape without a key with the process's own metrics, which promtool accepts", async () => {
    await requestOnNewConnection(url, 'GET', '/api/v1/sources', { headers: KEY });

    const res = await requestOnNewConnection(url, 'GET', '/metrics');

    expect(res.status).toBe(200);
    expect(value(res.text, 'http_requests_total', { route: '/api/v1/sources', method: 'GET', status: '200' })).toBe(1);
    expect(res.text).toContain('# TYPE process_cpu_seconds_total counter');
    await expectPromtoolAccepts(res.text);
  });

  it('still requires a key everywhere else', async () => {
    expect((await requestOnNewConnection(url, 'GET', '/api/v1/sources')).status).toBe(401);
  });
});
