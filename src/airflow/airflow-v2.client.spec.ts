import { createServer, IncomingHttpHeaders, IncomingMessage, Server, ServerResponse } from 'node:http';
import { AppConfig } from '../common/config/app-config';
import { testConfig } from '../common/testing/config';
import { close, listen, send } from '../common/testing/http-server';
import { rejection } from '../common/testing/rejection';
import { BadRequestError, ConflictError, NotFoundError, UpstreamRejectedError, UpstreamTimeoutError, UpstreamUnavailableError } from '../common/errors/errors';
import { AirflowV2Client } from './airflow-v2.client';

const USERNAME = 'airflow-admin';
const PASSWORD = 'airflow-secret';

function configFor(port: number, env: Record<string, string> = {}): AppConfig {
  return testConfig({
    AIRFLOW_URL: `http://127.0.0.1:${port}`,
    AIRFLOW_USERNAME: USERNAME,
    AIRFLOW_PASSWORD: PASSWORD,
    AIRFLOW_TIMEOUT_MS: '300',
    ...env,
  });
}

// Airflow's JSON as the fake server builds it.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = Record<string, any>;

interface SeenRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  body?: Json;
}

const b64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

/** An unsigned JWT as Airflow's /auth/token hands it out; only its payload's exp matters to the client. */
function jwt(payload: Json): string {
  return `${b64url({ alg: 'none', typ: 'JWT' })}.${b64url(payload)}.c2ln`;
}

function dag(id: string, fields: Json = {}): Json {
  return {
    dag_id: id,
    dag_display_name: id,
    is_paused: false,
    is_stale: false,
    description: null,
    timetable_summary: null,
    timetable_description: 'Never, external triggers only',
    tags: [],
    fileloc: `/opt/airflow/dags/${id}.py`,
    owners: ['airflow'],
    ...fields,
  };
}

/**
 * What the fake Airflow 3 knows and how it behaves; reset before each test. Tokens are valid until
 * revoked; `rejectEveryToken` makes every API call answer 401, as after a secret rotation gone wrong.
 */
interface AirflowState {
  dags: Json[];
  runs: Map<string, Json[]>;
  tasks: Map<string, Json[]>;
  issued: string[];
  valid: Set<string>;
  tokenLifetimeSeconds: number;
  tokenDelayMs: number;
  rejectEveryToken: boolean;
  /** total_entries to claim instead of the real count */
  reportedTotal?: number;
  /** /api/v2/version answers 404, as behind a proxy that does not route it */
  versionMissing: boolean;
  seen: SeenRequest[];
}

const PAGED_DAGS = 230;

function initialState(): AirflowState {
  const dags = [
    dag('user_profiles_ingest', {
      description: 'Pulls user profiles and posts them to the ingestion API',
      timetable_summary: '*/5 * * * *',
      tags: [
        { name: 'ingest', dag_id: 'user_profiles_ingest' },
        { name: 'users', dag_id: 'user_profiles_ingest' },
      ],
    }),
    dag('paused_dag', { is_paused: true }),
  ];
  for (let i = dags.length; i < PAGED_DAGS; i++) dags.push(dag(`dag_${String(i).padStart(3, '0')}`));
  const run = (id: string, state: string, after: string): Json => ({
    dag_run_id: id,
    dag_id: 'user_profiles_ingest',
    logical_date: after,
    run_after: after,
    start_date: after,
    end_date: state === 'success' ? after.replace('00:00', '00:07') : null,
    state,
    run_type: 'scheduled',
    conf: {},
  });
  return {
    dags,
    runs: new Map([
      [
        'user_profiles_ingest',
        [
          run('scheduled__2026-01-01T00:00:00+00:00', 'success', '2026-01-01T00:00:00+00:00'),
          run('scheduled__2026-01-02T00:00:00+00:00', 'running', '2026-01-02T00:00:00+00:00'),
        ],
      ],
      ['paused_dag', []],
    ]),
    tasks: new Map([
      [
        'user_profiles_ingest/scheduled__2026-01-01T00:00:00+00:00',
        [
          {
            task_id: 'fetch_users',
            state: 'success',
            try_number: 2,
            start_date: '2026-01-01T00:00:01+00:00',
            end_date: '2026-01-01T00:00:04.5+00:00',
            duration: 3.5,
            operator: 'PythonOperator',
          },
          { task_id: 'post_events', state: null, try_number: 0, start_date: null, end_date: null, duration: null, operator: 'HttpOperator' },
        ],
      ],
    ]),
    issued: [],
    valid: new Set(),
    tokenLifetimeSeconds: 3600,
    tokenDelayMs: 0,
    rejectEveryToken: false,
    versionMissing: false,
    seen: [],
  };
}

/** Imitates the parts of Airflow 3's REST API (/auth/token and /api/v2) the client speaks. */
function fakeAirflow(state: () => AirflowState): Server {
  return createServer((req: IncomingMessage, res: ServerResponse) => {
    let raw = '';
    req.on('data', (chunk: Buffer) => (raw += chunk.toString('utf8')));
    req.on('end', () => {
      const s = state();
      const url = new URL(req.url ?? '/', 'http://airflow');
      const body = raw ? (JSON.parse(raw) as Json) : undefined;
      s.seen.push({ method: req.method ?? '', path: url.pathname, query: url.searchParams, headers: req.headers, body });
      const segments = url.pathname.split('/').filter(Boolean).map(decodeURIComponent);

      if (req.method === 'POST' && url.pathname === '/auth/token') {
        if (body?.username !== USERNAME || body?.password !== PASSWORD) return send(res, 401, { detail: 'Invalid credentials' });
        const token = jwt({ sub: '1', jti: s.issued.length + 1, exp: Math.floor(Date.now() / 1000) + s.tokenLifetimeSeconds });
        s.issued.push(token);
        s.valid.add(token);
        setTimeout(() => send(res, 201, { access_token: token }), s.tokenDelayMs).unref();
        return;
      }

      const bearer = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
      if (s.rejectEveryToken || !bearer || !s.valid.has(bearer)) return send(res, 401, { detail: 'Invalid JWT' });

      const [api, version, resource, dagId, sub, runId, leaf] = segments;
      if (api !== 'api' || version !== 'v2') return send(res, 404, { detail: 'Not Found' });
      if (resource === 'version') {
        if (s.versionMissing) return send(res, 404, { detail: 'Not Found' });
        return send(res, 200, { version: '3.1.0', git_version: '.release:abc' });
      }
      if (resource !== 'dags') return send(res, 404, { detail: 'Not Found' });

      if (dagId === undefined) {
        const limit = Number(url.searchParams.get('limit') ?? 50);
        const offset = Number(url.searchParams.get('offset') ?? 0);
        return send(res, 200, { dags: s.dags.slice(offset, offset + limit), total_entries: s.reportedTotal ?? s.dags.length });
      }
      if (dagId === 'slow') return; // never answers
      const found = s.dags.find((d) => d.dag_id === dagId);
      if (!found) return send(res, 404, { detail: `The Dag with ID: \`${dagId}\` was not found` });

      if (sub === undefined) {
        if (req.method === 'PATCH') {
          if (typeof body?.is_paused !== 'boolean')
            return send(res, 422, { detail: [{ type: 'bool_type', loc: ['body', 'is_paused'], msg: 'Input should be a valid boolean' }] });
          found.is_paused = body.is_paused;
        }
        return send(res, 200, found);
      }
      if (sub !== 'dagRuns') return send(res, 404, { detail: 'Not Found' });
      const runs = s.runs.get(dagId) ?? [];

      if (runId === undefined && req.method === 'POST') {
        if (!body || !('logical_date' in body)) {
          return send(res, 422, { detail: [{ type: 'missing', loc: ['body', 'logical_date'], msg: 'Field required', input: body }] });
        }
        if (body.logical_date !== null && Number.isNaN(Date.parse(body.logical_date))) {
          return send(res, 422, {
            detail: [
              {
                type: 'datetime_from_date_parsing',
                loc: ['body', 'logical_date'],
                msg: 'Input should be a valid datetime or date, invalid character in year',
                input: body.logical_date,
              },
            ],
          });
        }
        const id = body.dag_run_id ?? `manual__${new Date().toISOString()}`;
        if (runs.some((r) => r.dag_run_id === id)) return send(res, 409, { detail: `DAG Run with run_id: \`${id}\` already exists` });
        const created = {
          dag_run_id: id,
          dag_id: dagId,
          state: 'queued',
          logical_date: body.logical_date,
          run_after: new Date().toISOString(),
          run_type: 'manual',
          start_date: null,
          end_date: null,
          conf: body.conf,
        };
        runs.push(created);
        s.runs.set(dagId, runs);
        return send(res, 200, created);
      }
      if (runId === undefined) {
        const desc = url.searchParams.get('order_by') === '-run_after';
        const sorted = [...runs].sort((a, b) => (desc ? -1 : 1) * (Date.parse(a.run_after) - Date.parse(b.run_after)));
        return send(res, 200, { dag_runs: sorted.slice(0, Number(url.searchParams.get('limit') ?? 50)), total_entries: runs.length });
      }
      const run = runs.find((r) => r.dag_run_id === runId);
      if (!run) return send(res, 404, { detail: `The DagRun with dag_id: \`${dagId}\` and run_id: \`${runId}\` was not found` });
      if (leaf === undefined) return send(res, 200, run);
      if (leaf === 'taskInstances') {
        const tasks = s.tasks.get(`${dagId}/${runId}`) ?? [];
        return send(res, 200, { task_instances: tasks, total_entries: tasks.length });
      }
      return send(res, 404, { detail: 'Not Found' });
    });
  });
}

describe('AirflowV2Client against an HTTP server imitating Airflow 3', () => {
  let state = initialState();
  const server = fakeAirflow(() => state);
  let port: number;
  let client: AirflowV2Client;

  /** The API calls (not token requests) the server saw. */
  const apiCalls = () => state.seen.filter((r) => r.path !== '/auth/token');
  const tokenRequests = () => state.seen.filter((r) => r.path === '/auth/token');

  beforeAll(async () => {
    port = await listen(server);
  });

  afterAll(() => close(server));

  beforeEach(() => {
    state = initialState();
    client = new AirflowV2Client(configFor(port));
  });

  describe('reading DAGs', () => {
    it('lists every DAG across pages of 100, in order, with one token', async () => {
      const dags = await client.listDags();

      expect(dags).toHaveLength(PAGED_DAGS);
      expect(dags.map((d) => d.dagId)).toEqual(state.dags.map((d) => d.dag_id));
      expect(apiCalls().map((r) => [r.path, r.query.get('limit'), r.query.get('offset')])).toEqual([
        ['/api/v2/dags', '100', '0'],
        ['/api/v2/dags', '100', '100'],
        ['/api/v2/dags', '100', '200'],
      ]);
      expect(tokenRequests()).toHaveLength(1);
    });

    it('stops paging when Airflow hands out an empty page, even if total_entries says more', async () => {
      state.dags = state.dags.slice(0, 103);
      state.reportedTotal = 250; // DAGs deleted while paging: total_entries no longer matches

      const dags = await client.listDags();

      expect(dags).toHaveLength(103);
      expect(apiCalls().map((r) => r.query.get('offset'))).toEqual(['0', '100', '200']);
    });

    it("maps a DAG's fields: tags by name, timetable summary as schedule, null description left out", async () => {
      const dag = await client.getDag('user_profiles_ingest');
      const bare = await client.getDag('dag_007');

      expect(dag).toEqual({
        dagId: 'user_profiles_ingest',
        description: 'Pulls user profiles and posts them to the ingestion API',
        isPaused: false,
        schedule: '*/5 * * * *',
        tags: ['ingest', 'users'],
        fileloc: '/opt/airflow/dags/user_profiles_ingest.py',
      });
      expect(bare).toMatchObject({ dagId: 'dag_007', isPaused: false, tags: [] });
      expect(bare.description).toBeUndefined();
      // Without a timetable summary, the description of the timetable is shown instead.
      expect(bare.schedule).toBe('Never, external triggers only');
    });

    it('encodes ids in the path, so a run id with + and : reaches Airflow intact', async () => {
      const run = await client.getRun('user_profiles_ingest', 'scheduled__2026-01-01T00:00:00+00:00');

      expect(run).toMatchObject({ runId: 'scheduled__2026-01-01T00:00:00+00:00', state: 'success' });
      expect(apiCalls()[0].path).toBe('/api/v2/dags/user_profiles_ingest/dagRuns/scheduled__2026-01-01T00%3A00%3A00%2B00%3A00');
    });

    it("answers Airflow's version on ping", async () => {
      await expect(client.ping()).resolves.toEqual({ version: '3.1.0' });
      expect(apiCalls().map((r) => `${r.method} ${r.path}`)).toEqual(['GET /api/v2/version']);
    });

    it('answers a 404 on ping with 502: it names no DAG or run, so it means Airflow is not where AIRFLOW_URL points', async () => {
      state.versionMissing = true;

      const err = await rejection(client.ping());

      expect(err).not.toBeInstanceOf(NotFoundError);
      expect(err).toBeInstanceOf(UpstreamRejectedError);
      expect(err).toMatchObject({ statusCode: 502, upstream: 'Airflow' });
      expect(err.message).toContain('404');
    });
  });

  describe('the one not-found policy: a 404 naming a DAG or a run is a NotFoundError that says which', () => {
    const dagMissing = 'DAG "x" does not exist in Airflow';
    it.each<[string, (c: AirflowV2Client) => Promise<unknown>, string]>([
      ['getDag', (c) => c.getDag('x'), dagMissing],
      ['setPaused', (c) => c.setPaused('x', false), dagMissing],
      ['trigger', (c) => c.trigger('x', { runId: 'r' }), dagMissing],
      ['listRuns', (c) => c.listRuns('x', 1), dagMissing],
      ['getRun of an unknown run', (c) => c.getRun('user_profiles_ingest', 'nope'), 'Run "nope" of DAG "user_profiles_ingest" does not exist in Airflow'],
      ['getRun of an unknown DAG', (c) => c.getRun('x', 'r'), 'Run "r" of DAG "x" does not exist in Airflow'],
      [
        'taskInstances of an unknown run',
        (c) => c.taskInstances('user_profiles_ingest', 'nope'),
        'Run "nope" of DAG "user_profiles_ingest" does not exist in Airflow',
      ],
      ['taskInstances of an unknown DAG', (c) => c.taskInstances('x', 'r'), 'Run "r" of DAG "x" does not exist in Airflow'],
    ])('%s throws it', async (_method, call, message) => {
      const err = await rejection(call(client));

      expect(err).toBeInstanceOf(NotFoundError);
      expect(err.statusCode).toBe(404);
      expect(err.message).toBe(message);
      expect(apiCalls()).toHaveLength(1); // asked once, not retried
    });
  });

  // Sent as they are, such ids reach another route of Airflow's ("a/b" answered 405, a 502 for the caller's typo).
  describe("an id outside Airflow's rules is a NotFoundError, without asking Airflow", () => {
    it.each<[string, (c: AirflowV2Client) => Promise<unknown>, string]>([
      ['getDag', (c) => c.getDag('a/b'), 'DAG "a/b" does not exist in Airflow'],
      ['setPaused', (c) => c.setPaused('a/b', true), 'DAG "a/b" does not exist in Airflow'],
      ['trigger', (c) => c.trigger('x'.repeat(251), {}), `DAG "${'x'.repeat(251)}" does not exist in Airflow`],
      ['listRuns', (c) => c.listRuns('a b', 1), 'DAG "a b" does not exist in Airflow'],
      ['getRun', (c) => c.getRun('user_profiles_ingest', 'r/1'), 'Run "r/1" of DAG "user_profiles_ingest" does not exist in Airflow'],
      ['taskInstances', (c) => c.taskInstances('a%2Fb', 'r'), 'DAG "a%2Fb" does not exist in Airflow'],
    ])('%s', async (_method, call, message) => {
      const err = await rejection(call(client));

      expect(err).toBeInstanceOf(NotFoundError);
      expect(err.message).toBe(message);
      expect(apiCalls()).toHaveLength(0);
    });
  });

  describe('changing DAGs and runs', () => {
    it('pauses a DAG with PATCH {is_paused} and returns it as Airflow now has it', async () => {
      const dag = await client.setPaused('user_profiles_ingest', true);

      expect(dag).toMatchObject({ dagId: 'user_profiles_ingest', isPaused: true });
      const patch = apiCalls().find((r) => r.method === 'PATCH');
      expect(patch).toMatchObject({ path: '/api/v2/dags/user_profiles_ingest', body: { is_paused: true } });
      expect(patch?.headers['content-type']).toMatch(/^application\/json/);
    });

    it('triggers with logical_date null and an empty conf by default, and no dag_run_id', async () => {
      const run = await client.trigger('user_profiles_ingest', {});

      const post = apiCalls().find((r) => r.method === 'POST');
      expect(post?.path).toBe('/api/v2/dags/user_profiles_ingest/dagRuns');
      expect(post?.body).toEqual({ logical_date: null, conf: {} });
      expect(run).toMatchObject({ dagId: 'user_profiles_ingest', state: 'queued', runType: 'manual', conf: {} });
      expect(run.runId).toMatch(/^manual__/);
      expect(run.logicalDate).toBeUndefined();
    });

    it('passes the run id, logical date and conf it is given', async () => {
      const run = await client.trigger('user_profiles_ingest', { runId: 'nightly-1', logicalDate: '2026-03-01T00:00:00Z', conf: { count: 3 } });

      expect(apiCalls().find((r) => r.method === 'POST')?.body).toEqual({ dag_run_id: 'nightly-1', logical_date: '2026-03-01T00:00:00Z', conf: { count: 3 } });
      expect(run).toEqual({
        dagId: 'user_profiles_ingest',
        runId: 'nightly-1',
        state: 'queued',
        runType: 'manual',
        logicalDate: '2026-03-01T00:00:00Z',
        startDate: undefined,
        endDate: undefined,
        conf: { count: 3 },
      });
    });

    it('answers a duplicate run id with 409 naming the DAG and the run id (Airflow 3 only says "Unique constraint violation")', async () => {
      await client.trigger('user_profiles_ingest', { runId: 'once' });

      const err = await rejection(client.trigger('user_profiles_ingest', { runId: 'once' }));

      expect(err).toBeInstanceOf(ConflictError);
      expect(err.statusCode).toBe(409);
      expect(err.message).toBe('DAG "user_profiles_ingest" already has a run with run id "once"');
    });

    it("answers Airflow's 422 validation errors with 400 and passes the details on", async () => {
      const err = await rejection(client.trigger('user_profiles_ingest', { logicalDate: 'tomorrow-ish' }));

      expect(err).toBeInstanceOf(BadRequestError);
      expect(err.statusCode).toBe(400);
      expect(err.message).toContain('Input should be a valid datetime');
      expect(err.details).toEqual([expect.objectContaining({ loc: ['body', 'logical_date'], type: 'datetime_from_date_parsing' })]);
    });

    it('lists runs newest first, asking Airflow to order by -run_after', async () => {
      const runs = await client.listRuns('user_profiles_ingest', 5);

      expect(runs.map((r) => r.runId)).toEqual(['scheduled__2026-01-02T00:00:00+00:00', 'scheduled__2026-01-01T00:00:00+00:00']);
      expect(runs[0]).toMatchObject({ dagId: 'user_profiles_ingest', state: 'running', runType: 'scheduled', endDate: undefined });
      const call = apiCalls()[0];
      expect(call.path).toBe('/api/v2/dags/user_profiles_ingest/dagRuns');
      expect(call.query.get('order_by')).toBe('-run_after');
      expect(call.query.get('limit')).toBe('5');
    });

    it('maps task instances: duration in seconds, nulls left out, try number as a number', async () => {
      const tasks = await client.taskInstances('user_profiles_ingest', 'scheduled__2026-01-01T00:00:00+00:00');

      expect(tasks).toEqual([
        {
          taskId: 'fetch_users',
          state: 'success',
          tryNumber: 2,
          startDate: '2026-01-01T00:00:01+00:00',
          endDate: '2026-01-01T00:00:04.5+00:00',
          durationSeconds: 3.5,
          operator: 'PythonOperator',
        },
        {
          taskId: 'post_events',
          state: undefined,
          tryNumber: 0,
          startDate: undefined,
          endDate: undefined,
          durationSeconds: undefined,
          operator: 'HttpOperator',
        },
      ]);
      expect(apiCalls()[0].path).toMatch(/^\/api\/v2\/dags\/user_profiles_ingest\/dagRuns\/[^/]+\/taskInstances$/);
    });
  });

  describe('tokens', () => {
    it('posts the configured credentials to /auth/token and sends the JWT as a bearer', async () => {
      await client.getDag('user_profiles_ingest');

      expect(tokenRequests()).toHaveLength(1);
      expect(tokenRequests()[0].body).toEqual({ username: USERNAME, password: PASSWORD });
      expect(apiCalls()[0].headers.authorization).toBe(`Bearer ${state.issued[0]}`);
    });

    it('takes one token and reuses it across calls', async () => {
      await client.getDag('user_profiles_ingest');
      await client.listRuns('user_profiles_ingest', 1);
      await client.ping();

      expect(tokenRequests()).toHaveLength(1);
      expect(new Set(apiCalls().map((r) => r.headers.authorization))).toEqual(new Set([`Bearer ${state.issued[0]}`]));
    });

    it('shares one token request between concurrent first calls', async () => {
      state.tokenDelayMs = 50;

      await Promise.all([client.getDag('user_profiles_ingest'), client.listRuns('user_profiles_ingest', 1), client.ping()]);

      expect(tokenRequests()).toHaveLength(1);
      expect(apiCalls()).toHaveLength(3);
    });

    it('renews a token that expires within a minute before using it', async () => {
      state.tokenLifetimeSeconds = 30;

      await client.getDag('user_profiles_ingest');
      await client.getDag('user_profiles_ingest');

      expect(tokenRequests()).toHaveLength(2);
      expect(apiCalls().map((r) => r.headers.authorization)).toEqual([`Bearer ${state.issued[0]}`, `Bearer ${state.issued[1]}`]);
    });

    it('keeps a token that is valid for more than a minute', async () => {
      state.tokenLifetimeSeconds = 120;

      await client.getDag('user_profiles_ingest');
      await client.getDag('user_profiles_ingest');

      expect(tokenRequests()).toHaveLength(1);
    });

    it('on a 401 takes one new token and retries once, then succeeds', async () => {
      await client.getDag('user_profiles_ingest');
      state.valid.delete(state.issued[0]); // revoked on Airflow's side
      state.seen.length = 0;

      const dag = await client.getDag('user_profiles_ingest');

      expect(dag.dagId).toBe('user_profiles_ingest');
      expect(tokenRequests()).toHaveLength(1);
      expect(apiCalls().map((r) => r.headers.authorization)).toEqual([`Bearer ${state.issued[0]}`, `Bearer ${state.issued[1]}`]);

      // The renewed token is kept for the next call.
      state.seen.length = 0;
      await client.ping();
      expect(tokenRequests()).toHaveLength(0);
    });

    it('gives up with 502 on a second 401 instead of looping', async () => {
      state.rejectEveryToken = true;

      const err = await rejection(client.getDag('user_profiles_ingest'));

      expect(err).toBeInstanceOf(UpstreamRejectedError);
      expect(err).toMatchObject({ statusCode: 502, upstream: 'Airflow' });
      expect(err.message).toContain('401');
      expect(tokenRequests()).toHaveLength(2);
      expect(apiCalls()).toHaveLength(2);
    });

    it('answers a persistent 401 with 502, not with the NotFoundError a 404 would mean', async () => {
      state.rejectEveryToken = true;

      const err = await rejection(client.getRun('user_profiles_ingest', 'nope'));

      expect(err).toBeInstanceOf(UpstreamRejectedError);
      expect(err).not.toBeInstanceOf(NotFoundError);
    });

    it('answers refused credentials with 502 naming AIRFLOW_USERNAME/AIRFLOW_PASSWORD, without calling the API', async () => {
      const wrong = new AirflowV2Client(configFor(port, { AIRFLOW_PASSWORD: 'not-the-password' }));

      const err = await rejection(wrong.getDag('user_profiles_ingest'));

      expect(err).toBeInstanceOf(UpstreamRejectedError);
      expect(err).toMatchObject({ statusCode: 502, upstream: 'Airflow' });
      expect(err.message).toContain('AIRFLOW_USERNAME/AIRFLOW_PASSWORD');
      expect(tokenRequests()).toHaveLength(1);
      expect(apiCalls()).toHaveLength(0);
    });

    it('asks for a token again after a refused token request', async () => {
      const wrong = new AirflowV2Client(configFor(port, { AIRFLOW_PASSWORD: 'not-the-password' }));

      await rejection(wrong.ping());
      await rejection(wrong.ping());

      expect(tokenRequests()).toHaveLength(2);
    });
  });

  describe('transport failures', () => {
    it('gives up after AIRFLOW_TIMEOUT_MS with 504', async () => {
      const started = Date.now();

      const err = await rejection(client.getDag('slow'));

      expect(err).toBeInstanceOf(UpstreamTimeoutError);
      expect(err).toMatchObject({ statusCode: 504, upstream: 'Airflow' });
      expect(Date.now() - started).toBeLessThan(2000);
    });

    it('gives up with 504 when the token request itself hangs', async () => {
      state.tokenDelayMs = 5000;

      const err = await rejection(client.ping());

      expect(err).toBeInstanceOf(UpstreamTimeoutError);
      expect(apiCalls()).toHaveLength(0);
    });
  });
});

describe('AirflowV2Client when nothing listens', () => {
  it('maps the refused connection to 503 naming Airflow, with Retry-After', async () => {
    const server = createServer();
    const port = await listen(server);
    await close(server);
    const client = new AirflowV2Client(configFor(port));

    const err = await rejection(client.getDag('user_profiles_ingest'));

    expect(err).toBeInstanceOf(UpstreamUnavailableError);
    expect(err).toMatchObject({ statusCode: 503, upstream: 'Airflow' });
    expect(err.message).toContain('ECONNREFUSED');
    expect(err.headers['Retry-After']).toMatch(/^\d+$/);
  });
});

describe('AirflowV2Client.mapError', () => {
  const axiosError = (response: { status: number; data: unknown }) => Object.assign(new Error('Request failed'), { isAxiosError: true, response });

  it('passes a non-string detail on as JSON text', () => {
    const mapped = AirflowV2Client.mapError(axiosError({ status: 409, data: { detail: { reason: 'Unique constraint violation' } } }));

    expect(mapped).toBeInstanceOf(ConflictError);
    expect(mapped.message).toContain('{"reason":"Unique constraint violation"}');
  });

  it('maps a 500 to 502 with the status and a plain-text body', () => {
    const mapped = AirflowV2Client.mapError(axiosError({ status: 500, data: 'Internal Server Error' }));

    expect(mapped).toBeInstanceOf(UpstreamRejectedError);
    expect(mapped).toMatchObject({ statusCode: 502, upstream: 'Airflow', details: [{ status: 500 }] });
    expect(mapped.message).toContain('500');
    expect(mapped.message).toContain('Internal Server Error');
  });
});
