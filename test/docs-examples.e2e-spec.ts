import { INestApplication } from '@nestjs/common';
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import request from 'supertest';
import { eventually, ROOT, startApp } from './support/harness';

/**
 * Every `bash` example of README.md and docs/*.md, run as a reader would paste it, against the real
 * stack and an API started here: each exits 0, no request of it fails on the server's side (or with a
 * client error its text does not announce), and each answer it states (`# {"accepted":1,...}`) comes
 * back with the same top-level fields.
 */

/** The keys the docs use (`make up`'s), Airflow's included: its DAGs call the API back with theirs. */
const DOC_KEYS = process.env.API_KEYS || 'local-dev-key-change-me,local-dev-airflow-key-change-me';

/** Blocks no test can run, by their first line, and why. */
const EXCLUDED: { file: string; firstLine: RegExp; why: string }[] = [
  { file: 'README.md', firstLine: /^make up\s+#/, why: '`make up` and `make test` start and test the whole stack this test runs against' },
  {
    file: 'docs/operations.md',
    firstLine: /^cp infra\/\.env\.example/,
    why: 'docker compose needs a Docker engine (infra/checks/run.sh checks the files statically)',
  },
  {
    file: 'docs/operations.md',
    firstLine: /^docker compose -f infra\/docker-compose\.yml -f infra\/docker-compose\.cluster\.yml/,
    why: 'docker compose needs a Docker engine (infra/checks/run.sh checks the files statically)',
  },
  {
    file: 'docs/operations.md',
    firstLine: /^make down\s/,
    why: '`make cluster` cannot start beside the stack this test runs against (it takes the same ports)',
  },
];

/**
 * What a reader does between two examples without writing it down: the replay comes after a schema
 * fix and a restart, long after the stream stored the dead letter; a test arrives within milliseconds.
 */
const BEFORE: { block: RegExp; bash: string }[] = [
  {
    block: /dead-letters\/orders\/replay/,
    bash: `for _ in $(seq 90); do
  curl -s "localhost:3000/api/v1/dead-letters/orders?limit=100" -H "X-API-Key: $KEY" | jq -e --arg id "$DEAD" 'any(.items[]; .id == $id)' >/dev/null && break
  sleep 1
done`,
  },
];

interface Block {
  file: string;
  index: number;
  text: string;
}

const DOC_FILES = [
  'README.md',
  ...readdirSync(join(ROOT, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .sort()
    .map((f) => `docs/${f}`),
];

function bashBlocks(file: string): Block[] {
  const markdown = readFileSync(join(ROOT, file), 'utf8');
  return [...markdown.matchAll(/^```bash\n([\s\S]*?)^```$/gm)].map((m, index) => ({ file, index, text: m[1] }));
}

const excluded = (b: Block) => EXCLUDED.find((e) => e.file === b.file && e.firstLine.test(b.text.split('\n')[0]));

/**
 * The answers a block states: comment lines opening with `{"` or `HTTP/`, with the comment lines
 * indented under them, reduced to the top-level field names of their first JSON object (the values
 * are often elided: `"total":...`).
 */
function statedFields(block: string): string[][] {
  const lines = block.split('\n');
  const stated: string[][] = [];
  for (let i = 0; i < lines.length; i++) {
    const first = /^#\s?((\{"|HTTP\/).*)$/.exec(lines[i]);
    if (!first) continue;
    let text = first[1];
    while (i + 1 < lines.length && /^#\s{2,}\S/.test(lines[i + 1])) text += lines[++i].replace(/^#\s+/, '');
    const keys = topLevelKeys(text);
    if (keys.length) stated.push(keys);
  }
  return stated;
}

function topLevelKeys(text: string): string[] {
  const start = text.indexOf('{');
  const keys: string[] = [];
  let depth = 0;
  for (let i = start; i >= 0 && i < text.length; i++) {
    const c = text[i];
    if (c === '"') {
      const end = text.indexOf('"', i + 1);
      if (end < 0) break;
      if (depth === 1 && /^\s*:/.test(text.slice(end + 1))) keys.push(text.slice(i + 1, end));
      i = end;
    } else if (c === '{' || c === '[') depth++;
    else if (c === '}' || c === ']') {
      if (--depth === 0) break;
    }
  }
  return keys;
}

function jsonObjects(output: string): Record<string, unknown>[] {
  return output
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l.startsWith('{'))
    .flatMap((l) => {
      try {
        return [JSON.parse(l) as Record<string, unknown>];
      } catch {
        return [];
      }
    });
}

// Each answer on a line of its own, and its status on stderr, whatever the example asked curl for.
const PRELUDE = `curl() { command curl -w '%{stderr}@@status %{http_code}\\n' "$@"; local rc=$?; echo; return $rc; }\n`;
const MARK = '@@block ';

describe('the examples of README.md and docs/', () => {
  let app: INestApplication;
  let port: number;
  const api = () => request(app.getHttpServer());
  const auth = { 'X-API-Key': DOC_KEYS.split(',')[0] };
  let dagWasPaused: boolean;
  const startedAt = Date.now();

  beforeAll(async () => {
    app = await startApp({ API_KEYS: DOC_KEYS });
    // On the docs' own port when it is free: the DAG the examples trigger calls back the API there.
    port = await app
      .listen(3000, '127.0.0.1')
      .catch(() => app.listen(0, '127.0.0.1'))
      .then(() => (app.getHttpServer().address() as AddressInfo).port);
    await eventually('readiness', async () => ((await api().get('/health/ready')).status === 200 ? true : undefined), 180_000);
    dagWasPaused = (await api().get('/api/v1/dags/user_profiles_ingest').set(auth).expect(200)).body.isPaused;
    await api().post('/api/v1/streaming/start').set(auth).expect(200);
    await eventually(
      'the streaming job running',
      async () => (/^running/.test((await api().get('/api/v1/streaming').set(auth)).body.state) ? true : undefined),
      240_000,
      2000,
    );
  }, 480_000);

  afterAll(async () => {
    if (!app) return;
    // Whatever an example left behind when it failed halfway: the DAG as it was, and the schedules it created.
    await api().patch('/api/v1/dags/user_profiles_ingest').set(auth).send({ isPaused: dagWasPaused });
    const { body } = await api().get('/api/v1/schedules').set(auth);
    for (const s of body.schedules ?? []) {
      if (['nightly rollup', 'users'].includes(s.name) && Date.parse(s.createdAt) >= startedAt) await api().delete(`/api/v1/schedules/${s.id}`).set(auth);
    }
    await app.close();
  });

  it('knows every bash block: each runs here or is excluded with a reason', () => {
    const blocks = DOC_FILES.flatMap(bashBlocks);
    expect(blocks.length).toBeGreaterThan(10);
    for (const e of EXCLUDED) expect({ excluded: e.why, found: blocks.some((b) => excluded(b) === e) }).toEqual({ excluded: e.why, found: true });
  });

  it.each(DOC_FILES.filter((f) => bashBlocks(f).some((b) => !excluded(b))))(
    'runs the examples of %s as written',
    async (file) => {
      const blocks = bashBlocks(file).filter((b) => !excluded(b));
      const script =
        PRELUDE +
        blocks
          .map((b) => {
            const before = BEFORE.filter((h) => h.block.test(b.text)).map((h) => h.bash + '\n');
            return `printf '\\n${MARK}${b.index}\\n'; printf '${MARK}${b.index}\\n' >&2\n${before.join('')}${b.text}`;
          })
          .join('\n')
          .replace(/localhost:3000/g, `127.0.0.1:${port}`);

      // Asynchronously: the API answering the examples runs in this very process.
      const run = await promisify(execFile)('bash', ['-euo', 'pipefail', '-c', script], {
        cwd: ROOT,
        encoding: 'utf8',
        timeout: 300_000,
        maxBuffer: 64 << 20,
      }).catch((err: { code: number; stdout: string; stderr: string }) => ({ ...err, failed: true }));
      expect({ file, failed: 'failed' in run, stderr: 'failed' in run ? run.stderr.slice(-3000) : '' }).toEqual({ file, failed: false, stderr: '' });

      const outputs = new Map(
        run.stdout
          .split(`\n${MARK}`)
          .slice(1)
          .map((part) => [Number(part.split('\n')[0]), part] as const),
      );
      const errors = new Map(
        run.stderr
          .split(MARK)
          .slice(1)
          .map((part) => [Number(part.split('\n')[0]), part] as const),
      );
      for (const block of blocks) {
        const where = `${file}, bash block ${block.index + 1}`;
        const statuses = [...(errors.get(block.index) ?? '').matchAll(/^@@status (\d+)$/gm)].map((m) => Number(m[1]));
        // A server error, or a request that reached nothing, is never what an example means; a client
        // error only when the example says so.
        const unexpected = statuses.filter((s) => s === 0 || s >= 500 || (s >= 400 && !block.text.includes(String(s))));
        expect({ where, unexpected }).toEqual({ where, unexpected: [] });

        const answers = jsonObjects(outputs.get(block.index) ?? '');
        for (const fields of statedFields(block.text)) {
          const matching = answers.some((a) => fields.every((f) => f in a));
          expect({ where, stated: fields, matching }).toEqual({ where, stated: fields, matching: true });
        }
      }
    },
    360_000,
  );
});
