import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { randomBytes } from 'node:crypto';
import { freePort, ROOT, spawnApi } from './support/harness';

const DEV_KEY = 'local-dev-key-change-me';
const DEV_WEBHOOKS_SECRET = 'whsec_bG9jYWwtZGV2LXdlYmhvb2tzLWtleS1jaGFuZ2UtbWU=';
const strong = () => randomBytes(32).toString('base64url');
const strongWebhooksSecret = () => `whsec_${randomBytes(32).toString('base64')}`;

/** Starts the API as production would and answers how it ended: its exit code and what it printed. */
async function startInProduction(env: Record<string, string | undefined>): Promise<{ code: number | null; stderr: string }> {
  const child = spawn(process.execPath, ['-r', 'ts-node/register', 'apps/api/main.ts'], {
    cwd: ROOT,
    env: {
      ...process.env,
      TS_NODE_TRANSPILE_ONLY: 'true',
      NODE_ENV: 'production',
      PORT: String(await freePort()),
      LOG_LEVEL: 'warn',
      PAGE_TOKEN_SECRET: undefined,
      ...env,
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const killer = setTimeout(() => child.kill('SIGKILL'), 60_000);
  const [code] = (await once(child, 'exit')) as [number | null];
  clearTimeout(killer);
  return { code, stderr };
}

describe('NODE_ENV=production refuses the published development secrets', () => {
  it('does not start with the development API key and no page-token secret, naming each variable and printing no value', async () => {
    const { code, stderr } = await startInProduction({ API_KEYS: `${DEV_KEY},${strong()}`, WEBHOOKS_SIGNING_SECRET: strongWebhooksSecret() });

    expect(code).toBe(1);
    expect(stderr).toMatch(/^The API could not start: Refusing to start with NODE_ENV=production:$/m);
    expect(stderr).toMatch(/^ {2}API_KEYS: key 1 of 2 is a published development value/m);
    expect(stderr).toMatch(/^ {2}PAGE_TOKEN_SECRET is not set: it is required in production/m);
    expect(stderr).not.toContain(DEV_KEY);
  });

  it('does not start with a key or page-token secret shorter than 32 bytes', async () => {
    const { code, stderr } = await startInProduction({
      API_KEYS: 'a-random-but-short-key',
      PAGE_TOKEN_SECRET: 'short-page-token-secret',
      WEBHOOKS_SIGNING_SECRET: strongWebhooksSecret(),
    });

    expect(code).toBe(1);
    expect(stderr).toMatch(/API_KEYS: key 1 of 1 is 22 bytes long; at least 32 are required/);
    expect(stderr).toMatch(/PAGE_TOKEN_SECRET is 23 bytes long; at least 32 are required/);
    expect(stderr).not.toContain('a-random-but-short-key');
  });

  it('does not start with the development signing secret of the webhooks source, naming the variable', async () => {
    const { code, stderr } = await startInProduction({ API_KEYS: strong(), PAGE_TOKEN_SECRET: strong(), WEBHOOKS_SIGNING_SECRET: DEV_WEBHOOKS_SECRET });

    expect(code).toBe(1);
    expect(stderr).toMatch(/^The API could not start: .*WEBHOOKS_SIGNING_SECRET/m);
    expect(stderr).toMatch(/published development value/);
    expect(stderr).not.toContain(DEV_WEBHOOKS_SECRET);
  });

  it('starts with secrets of its own', async () => {
    const api = await spawnApi({ NODE_ENV: 'production', API_KEYS: strong(), PAGE_TOKEN_SECRET: strong(), WEBHOOKS_SIGNING_SECRET: strongWebhooksSecret() });
    try {
      expect((await fetch(`${api.url}/health/live`)).status).toBe(200);
    } finally {
      // A single process ends by raising the signal again once its shutdown hooks ran (Nest's way).
      const exited = once(api.process, 'exit');
      api.process.kill('SIGTERM');
      await exited;
    }
  });
});
