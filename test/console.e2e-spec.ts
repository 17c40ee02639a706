import { INestApplication } from '@nestjs/common';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Browser, BrowserContext, chromium, Page } from 'playwright-core';
import { API_KEY, AUTH, eventually, ROOT, startApp } from './support/harness';
import { pipelineOf } from './support/pipeline';

/** Debian's Chromium (`make chromium` installs it); playwright-core downloads no browser. */
const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const CONSOLE_DIR = join(ROOT, 'dist/web');
/** Screenshots and measurements of a run (git-ignored). */
const ARTIFACTS = join(ROOT, 'test/artifacts');
const VIEWPORTS = { desktop: { width: 1400, height: 900 }, phone: { width: 390, height: 844 } } as const;
/** The most gzipped JavaScript the overview may load, and the whole console (with the chart's chunk). */
const OVERVIEW_JS_BUDGET = 50 * 1024;
const ALL_JS_BUDGET = 90 * 1024;
const AXE = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
/** Where the console keeps the signed-in key (apps/web/src/session.ts). */
const SESSION_KEY = 'pipeline-console.api-key';
/**
 * Chromium logs every 4xx answer as a failed load. The tests provoke 400s, 401s and a 409 on purpose
 * (a wrong key, a refused cron, a refused view window, an incompatible schema) and check that the page shows them; any
 * other console error fails.
 */
const EXPECTED_REFUSAL = /^Failed to load resource: the server responded with a status of (400|401|409) /;

interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: { target: unknown[] }[];
}

/**
 * The console in a real browser against the real stack: the API runs in this process and serves
 * the built console (dist/web, `make console`); Chromium loads it over loopback. Each test saves a
 * desktop and a phone screenshot under test/artifacts/ and scans the page with axe-core at both
 * widths; a Content-Security-Policy violation or a script error fails the test.
 */
describe('the web console, in Chromium', () => {
  let app: INestApplication;
  let url: string;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let flow: ReturnType<typeof pipelineOf>;
  let problems: string[];
  let dagWasPaused: boolean | undefined;
  const measured: Record<string, unknown> = {};

  beforeAll(async () => {
    if (!existsSync(join(CONSOLE_DIR, 'index.html'))) throw new Error(`no console build in ${CONSOLE_DIR}: run "make console" (make e2e does)`);
    if (!existsSync(CHROMIUM)) throw new Error(`no Chromium at ${CHROMIUM}: run "make chromium" (make e2e does), or set CHROMIUM_PATH`);
    mkdirSync(ARTIFACTS, { recursive: true });
    app = await startApp({ CONSOLE_DIR });
    await app.listen(0, '127.0.0.1');
    url = (await app.getUrl()).replace('[::1]', '127.0.0.1');
    flow = pipelineOf(app.getHttpServer());
    await eventually('readiness', async () => ((await flow.api().get('/health/ready')).status === 200 ? true : undefined), 180_000);
    await flow.api().post('/api/v1/streaming/start').set(AUTH).expect(200);
    await flow.streamIn(['running', 'running-unmanaged'], 240_000);
    dagWasPaused = (await flow.api().get('/api/v1/dags/user_profiles_ingest').set(AUTH).expect(200)).body.isPaused;
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-dev-shm-usage'] });
  }, 300_000);

  afterAll(async () => {
    await browser?.close();
    writeFileSync(join(ARTIFACTS, 'console-measurements.json'), `${JSON.stringify(measured, null, 2)}\n`);
    if (flow) {
      // The pipeline keeps flowing for whatever runs next.
      await flow.api().post('/api/v1/streaming/start').set(AUTH);
      await flow.streamIn(['running', 'running-unmanaged'], 240_000).catch(() => undefined);
      if (dagWasPaused) await flow.api().patch('/api/v1/dags/user_profiles_ingest').set(AUTH).send({ isPaused: true });
    }
    await app?.close();
  }, 300_000);

  beforeEach(async () => {
    problems = [];
    context = await browser.newContext({ viewport: VIEWPORTS.desktop });
    // Through the DevTools protocol, not a script of the page: the policy does not apply to it.
    await context.addInitScript(
      "document.addEventListener('securitypolicyviolation', (e) => console.error('CSP violation: ' + e.violatedDirective + ' ' + e.blockedURI))",
    );
    page = await context.newPage();
    page.on('console', (m) => {
      if (m.type() === 'error' && !EXPECTED_REFUSAL.test(m.text())) problems.push(m.text());
    });
    page.on('pageerror', (err) => problems.push(`script error: ${err.message}`));
  });

  afterEach(async () => {
    await context?.close();
    expect(problems).toEqual([]);
  });

  async function signIn(key = API_KEY): Promise<void> {
    await page.goto(`${url}/`);
    await page.getByLabel('API key').fill(key);
    await page.getByRole('button', { name: 'Sign in' }).click();
  }

  /** Screenshots at both widths, each scanned by axe-core: no serious or critical violation. */
  async function capture(name: string): Promise<void> {
    for (const [width, viewport] of Object.entries(VIEWPORTS)) {
      await page.setViewportSize(viewport);
      await page.waitForTimeout(300); // the layout and the chart settle at the new width
      await page.screenshot({ path: join(ARTIFACTS, `${name}-${width}.png`) });
      const violations = await scan();
      expect({ page: `${name} (${width})`, violations }).toEqual({ page: `${name} (${width})`, violations: [] });
    }
    await page.setViewportSize(VIEWPORTS.desktop);
  }

  async function scan(): Promise<string[]> {
    if (!(await page.evaluate("'axe' in window"))) await page.evaluate(AXE);
    const violations = await page.evaluate<AxeViolation[]>("axe.run(document, { resultTypes: ['violations'] }).then((r) => r.violations)");
    return violations
      .filter((v) => v.impact === 'serious' || v.impact === 'critical')
      .map((v) => `${v.impact} ${v.id}: ${v.help} (${v.nodes.map((n) => JSON.stringify(n.target)).join(', ')})`);
  }

  const overviewFilled = () => page.locator('[data-dependency][data-up]').nth(3).waitFor();

  it('refuses a wrong key at sign-in with the API message and request id, and opens the overview with the right one', async () => {
    await signIn('wrong-key-0123456789abcdef');
    const error = page.getByRole('alert');
    await expect(error.textContent()).resolves.toMatch(/401 Unauthorized.*Invalid API key.*request id/s);
    await capture('sign-in-refused');

    await page.getByLabel('API key').fill(API_KEY);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await overviewFilled();
    await expect(page.getByRole('heading', { level: 1 }).textContent()).resolves.toBe('Pipeline');
  });

  it('shows the overview: the four dependencies up, the stream running, each source; fast and small', async () => {
    // A first visit with an empty cache, the key already in the tab's session (as after a sign-in):
    // the time from navigation to the overview filled with GET /pipeline's answer, and the bytes of
    // JavaScript on the wire.
    const js: { url: string; bytes: number }[] = [];
    page.on('response', (res) => {
      if (res.url().endsWith('.js')) void res.headerValue('content-length').then((n) => js.push({ url: res.url(), bytes: Number(n) }));
    });
    await page.addInitScript(`if (location.protocol === 'http:') sessionStorage.setItem(${JSON.stringify(SESSION_KEY)}, ${JSON.stringify(API_KEY)})`);
    const started = Date.now();
    await page.goto(`${url}/`);
    await overviewFilled();
    const filledMs = Date.now() - started;
    const firstLoad = [...js];
    // Again, with the scripts cached (they are immutable: a new build has new names).
    await page.goto('about:blank');
    const again = Date.now();
    await page.goto(`${url}/`);
    await overviewFilled();
    const cachedMs = Date.now() - again;

    for (const name of ['kafka', 'cassandra', 'livy', 'airflow']) {
      await expect(page.locator(`[data-dependency="${name}"]`).getAttribute('data-up')).resolves.toBe('true');
    }
    await expect(page.locator('.stage', { hasText: 'Spark stream' }).locator('.badge').first().textContent()).resolves.toMatch(/running/);
    for (const source of ['users', 'orders', 'clicks']) await page.locator(`tr[data-source="${source}"]`).waitFor();
    const overviewJs = firstLoad.reduce((sum, f) => sum + f.bytes, 0);
    expect(overviewJs).toBeGreaterThan(0);
    expect(overviewJs).toBeLessThan(OVERVIEW_JS_BUDGET);
    Object.assign(measured, { overviewFilledMs: filledMs, overviewFilledCachedMs: cachedMs, overviewJsGzipBytes: overviewJs });
    console.log(
      `console: overview filled ${filledMs} ms after navigation (${cachedMs} ms cached); ${overviewJs} bytes of gzipped JavaScript (${firstLoad.length} files)`,
    );

    // Every control is reachable with the keyboard alone.
    const reached = new Set<string>();
    for (let i = 0; i < 40; i++) {
      await page.keyboard.press('Tab');
      reached.add(await page.evaluate<string>("document.activeElement?.textContent?.trim() ?? ''"));
    }
    for (const control of ['Skip to content', 'Overview', 'Stream & batches', 'Airflow', 'Schedules', 'Sign out', 'Stop stream', 'users', 'clicks']) {
      expect([...reached]).toContain(control);
    }
    await capture('overview');
  });

  it('sends a test event from the source page and shows it readable, with its latency and as stored', async () => {
    const js: number[] = [];
    page.on('response', (res) => {
      if (res.url().endsWith('.js')) void res.headerValue('content-length').then((n) => js.push(Number(n)));
    });
    await signIn();
    await overviewFilled();
    await page.getByRole('link', { name: 'clicks' }).click();
    await page.getByRole('heading', { name: 'Send a test event' }).waitFor();
    await page.getByLabel('Event (JSON)').fill(JSON.stringify({ page: '/console-e2e', at: Date.now() }));
    await page.getByRole('button', { name: 'POST /ingest/clicks' }).click();

    const sent = page.locator('.sent');
    await expect(sent.textContent()).resolves.toMatch(/202 Accepted/);
    const eventId = await sent.getAttribute('data-event-id');
    expect(eventId).toMatch(/^[0-9a-f-]{36}$/);
    const readable = page.locator('.readable');
    await readable.waitFor({ timeout: 60_000 });
    const latencyMs = Number(await readable.getAttribute('data-latency-ms'));
    expect(latencyMs).toBeGreaterThan(0);
    await expect(readable.textContent()).resolves.toMatch(/Readable after .*(ms|s)/);
    // The event as GET /records answers it, shown beside its latency.
    await expect(page.locator('.sent .stored').textContent()).resolves.toContain('/console-e2e');
    await expect(page.locator('.sent .stored').textContent()).resolves.toContain(eventId!);
    measured.testEventReadableMs = latencyMs;
    // With the chart's chunk, loaded by this page: the whole console's JavaScript stays small too.
    await page.locator('.chart-box canvas').first().waitFor();
    measured.consoleJsGzipBytes = js.reduce((a, b) => a + b, 0);
    expect(measured.consoleJsGzipBytes).toBeLessThan(ALL_JS_BUDGET);
    await capture('source');
  });

  it("sends the orders page's prefilled event, which passes the schema and becomes readable; an invalid one says quarantined", async () => {
    await signIn();
    await overviewFilled();
    await page.getByRole('link', { name: 'orders' }).click();
    await page.getByRole('heading', { name: 'Send a test event' }).waitFor();
    // Sent as prefilled: a sample derived from the source's schema.
    await page.getByRole('button', { name: 'POST /ingest/orders' }).click();
    await page.locator('.readable').waitFor({ timeout: 60_000 });
    await expect(page.locator('.sent').textContent()).resolves.toMatch(/202 Accepted/);

    await page.getByLabel('Event (JSON)').fill(JSON.stringify({ order_id: 'console-e2e-bad', amount: 'ten', currency: 'EUR' }));
    await page.getByRole('button', { name: 'POST /ingest/orders' }).click();
    const quarantined = page.locator('.sent.quarantined');
    await quarantined.waitFor({ timeout: 10_000 });
    await expect(quarantined.textContent()).resolves.toMatch(/202 Quarantined.*dead-letters\/orders.*\/amount/s);
    expect(await page.getByText('Waiting for it to be readable').count()).toBe(0);
  });

  it('stops the stream from the console: the verdict says stopped and lag grows while events arrive; started again, lag returns to 0', async () => {
    await signIn();
    await overviewFilled();
    const clicksLag = async () => Number(await page.locator('tr[data-source="clicks"] [data-lag-events]').getAttribute('data-lag-events'));
    try {
      await page.getByRole('button', { name: 'Stop stream' }).click();
      await page.locator('[data-verdict="stopped"]').waitFor({ timeout: 120_000 });
      const before = await clicksLag();
      await flow.ingest(
        'clicks',
        Array.from({ length: 25 }, (_, i) => ({ page: `/console-lag/${i}` })),
      );
      await eventually('the lag of clicks grown by 25 on the page', async () => ((await clicksLag()) >= before + 25 ? true : undefined), 30_000, 500);
      await expect(page.locator('.verdict').textContent()).resolves.toMatch(/STOPPED/);
      await capture('overview-stopped');

      await page.getByRole('button', { name: 'Start stream' }).click();
      await page.locator('[data-verdict="flowing"]').waitFor({ timeout: 240_000 });
      await eventually(
        'every lag back to 0 on the page',
        async () => {
          const lags = (await page.locator('[data-lag-events]').evaluateAll((cells) => cells.map((c) => c.getAttribute('data-lag-events')))).map(Number);
          return lags.length > 0 && lags.every((l) => l === 0) ? true : undefined;
        },
        240_000,
        1000,
      );
      await expect(page.locator('.stage', { hasText: 'Spark stream' }).locator('.badge').first().textContent()).resolves.toMatch(/running/);
      await capture('overview-flowing-again');
    } finally {
      await flow.api().post('/api/v1/streaming/start').set(AUTH);
    }
  }, 600_000);

  it('shows the stream, its micro-batches and log, and the Spark batches', async () => {
    await signIn();
    await overviewFilled();
    await page.getByRole('link', { name: 'Stream & batches' }).click();
    await page.locator('.stream-state[data-state^="running"]').waitFor({ timeout: 60_000 });
    await page.getByRole('heading', { name: 'Last micro-batches' }).waitFor();
    await page.getByRole('heading', { name: 'Spark batches' }).waitFor();
    await page.locator('tr[data-batch]').first().waitFor();
    // The job form is generated from the catalog's JSON Schema; the API's validation errors land at their field.
    await page.getByLabel('Job', { exact: true }).selectOption('daily_rollup');
    await page.getByRole('button', { name: 'Submit daily_rollup' }).click();
    await expect(page.locator('[data-field="day"] .field-error').textContent()).resolves.toMatch(/must have required property/);
    await expect(page.locator('[data-field="sources"] .field-error').textContent()).resolves.toMatch(/must have required property/);
    await capture('stream');
  });

  it('triggers user_profiles_ingest with a conf and follows the run to success', async () => {
    await signIn();
    await overviewFilled();
    await page.getByRole('link', { name: 'Airflow' }).click();
    const row = page.locator('tr[data-dag="user_profiles_ingest"]');
    await row.waitFor();
    if ((await row.locator('[data-paused]').getAttribute('data-paused')) === 'true') {
      await row.getByRole('button', { name: 'Unpause' }).click();
      await row.locator('[data-paused="false"]').waitFor({ timeout: 30_000 });
    }
    await row.getByRole('button', { name: 'Trigger…' }).click();
    await page.getByLabel(/^conf/).fill('{"count": 2}');
    await page.getByRole('button', { name: 'Trigger run' }).click();
    await page.locator('.run-state').waitFor();
    await page.locator('.run-state[data-state="success"]').waitFor({ timeout: 300_000 });
    const tasks = await page.locator('tr[data-task]').count();
    expect(tasks).toBeGreaterThanOrEqual(2);
    await expect(page.locator('tr[data-task] .badge').allTextContents()).resolves.toEqual(Array(tasks).fill(expect.stringMatching(/success/)));
    await capture('airflow');
  }, 420_000);

  it('creates a schedule with a preview of its next fires, edits it, and deletes it', async () => {
    const name = `console e2e ${Date.now()}`;
    try {
      await signIn();
      await overviewFilled();
      await page.getByRole('link', { name: 'Schedules' }).click();
      await page.getByRole('button', { name: 'New schedule' }).click();
      await page.getByLabel('Name').fill(name);
      // A cron the API refuses: its message shows at the field, before anything is sent.
      await page.getByLabel('Cron').fill('every minute');
      await expect(page.locator('#schedule-preview .field-error').textContent()).resolves.toMatch(/cron "every minute" is not valid/);
      await page.getByLabel('Cron').fill('0 3 * * *');
      await page.getByLabel('Time zone').fill('Europe/Paris');
      await page.locator('.fire-times li').nth(4).waitFor();
      const fires = await page.locator('.fire-times li').allTextContents();
      for (const fire of fires) expect(fire).toMatch(/ 03:00:00\+0[12]:00$/);
      await page.getByLabel('Enabled').uncheck();
      await page.getByLabel('DAG').selectOption('user_profiles_ingest');
      await page.getByLabel(/^conf/).fill('{"count": 1}');
      await capture('schedule-form');
      await page.getByRole('button', { name: 'Create schedule' }).click();
      const row = page.locator(`tr[data-schedule="${name}"]`);
      await row.waitFor();
      await expect(row.textContent()).resolves.toMatch(/0 3 \* \* \*.*Europe\/Paris/);

      await row.getByRole('button', { name: 'Edit' }).click();
      await page.getByLabel('Cron').fill('30 4 * * 1');
      await page.getByRole('button', { name: 'Save changes' }).click();
      await page.locator(`tr[data-schedule="${name}"]`, { hasText: '30 4 * * 1' }).waitFor();
      const stored = (await flow.api().get('/api/v1/schedules').set(AUTH).expect(200)).body.schedules.find((s: { name: string }) => s.name === name);
      expect(stored).toMatchObject({
        cron: '30 4 * * 1',
        timezone: 'Europe/Paris',
        enabled: false,
        target: { kind: 'dag', name: 'user_profiles_ingest', conf: { count: 1 } },
      });
      await capture('schedules');

      await row.getByRole('button', { name: 'Delete' }).click();
      await row.getByRole('button', { name: 'Confirm delete' }).click();
      await row.waitFor({ state: 'detached' });
      await flow.api().get(`/api/v1/schedules/${stored.id}`).set(AUTH).expect(404);
    } finally {
      const left = (await flow.api().get('/api/v1/schedules').set(AUTH)).body.schedules?.filter((s: { name: string }) => s.name === name) ?? [];
      for (const s of left) await flow.api().delete(`/api/v1/schedules/${s.id}`).set(AUTH);
    }
  });

  it('defines a view on orders (a refused window shown at its field first), shows its counts per currency and its chart, and deletes it', async () => {
    const name = `console_e2e_${Date.now().toString(36)}`;
    // Only this test's orders carry this value: the view counts nothing else the topic holds.
    const run = `console-e2e-${Date.now()}`;
    try {
      await flow.streamIn(['running', 'running-unmanaged'], 240_000);
      await signIn();
      await overviewFilled();
      await page.getByRole('link', { name: 'Views' }).click();
      await page.getByRole('button', { name: 'New view' }).click();
      await page.getByLabel('Name', { exact: true }).fill(name);
      await page.getByLabel('Source', { exact: true }).selectOption('orders');
      await page.getByLabel('Window', { exact: true }).fill('7m');
      await page.getByRole('button', { name: 'Add a group field' }).click();
      await page.getByLabel('Group field 1', { exact: true }).fill('/currency');
      await page.getByRole('button', { name: 'Add a condition' }).click();
      const condition = page.getByRole('group', { name: 'Condition 1' });
      await condition.getByLabel('Field').fill('/run');
      await condition.getByLabel('Value').fill(run);
      await page.getByRole('button', { name: 'Add an aggregate' }).click();
      const sum = page.getByRole('group', { name: 'Aggregate 2' });
      await sum.getByLabel('Function').selectOption('sum');
      await sum.getByLabel('Field', { exact: true }).fill('/amount');

      // 7m does not divide a day: the API's 400 lands at the window, and nothing is created.
      await page.getByRole('button', { name: 'Create view' }).click();
      await expect(page.locator('[data-field="window"] .field-error').textContent()).resolves.toMatch(/must divide a day evenly/);
      await expect(page.getByLabel('Window', { exact: true }).getAttribute('aria-invalid')).resolves.toBe('true');
      await flow.api().get(`/api/v1/views/${name}`).set(AUTH).expect(404);
      await capture('view-form');

      await page.getByLabel('Window', { exact: true }).fill('1m');
      await page.getByRole('button', { name: 'Create view' }).click();
      await page.getByRole('heading', { name: `View ${name}` }).waitFor();
      const stored = await flow.api().get(`/api/v1/views/${name}`).set(AUTH).expect(200);
      expect(stored.body.definition).toEqual({
        name,
        source: 'orders',
        window: '1m',
        groupBy: ['/currency'],
        filter: [{ field: '/run', op: '=', value: run }],
        aggregates: [{ fn: 'count' }, { fn: 'sum', field: '/amount' }],
      });

      const orders = [
        ['EUR', 1.5],
        ['EUR', 2],
        ['EUR', 3.25],
        ['USD', 10],
        ['USD', 5],
      ].map(([currency, amount], i) => ({ order_id: `${run}-${i}`, amount, currency, run }));
      await flow.ingest('orders', orders);

      // The table as the page shows it, summed per currency over its windows (the orders may straddle a minute).
      const totals = async () => {
        const rows = await page
          .locator('#view-results tr[data-group]')
          .evaluateAll((trs) =>
            trs.map((tr) => [
              tr.getAttribute('data-group'),
              Number(tr.querySelector('[data-value="count"]')?.getAttribute('data-number')),
              Number(tr.querySelector('[data-value="sum_amount"]')?.getAttribute('data-number')),
            ]),
          );
        const byCurrency: Record<string, { count: number; sum: number }> = {};
        for (const [currency, count, amount] of rows as [string, number, number][]) {
          byCurrency[currency] ??= { count: 0, sum: 0 };
          byCurrency[currency].count += count;
          byCurrency[currency].sum += amount;
        }
        return byCurrency;
      };
      const want = { EUR: { count: 3, sum: 6.75 }, USD: { count: 2, sum: 15 } };
      await eventually(
        'the view page showing 3 EUR orders (6.75) and 2 USD orders (15)',
        async () => (await expect(totals()).resolves.toEqual(want), true),
        300_000,
        1000,
      );
      // The page reads the view every 3 s and its results every 5 s: the state it shows may trail the results by one read.
      await eventually(
        'the view page showing the view backfilling or running',
        async () => (/^(backfilling|running)$/.test((await page.locator('.view-state').getAttribute('data-state')) ?? '') ? true : undefined),
        10_000,
        500,
      );

      // The chart: a line per currency of the first aggregate, drawn by uPlot on its canvas.
      const chart = page.locator('#view-results figure.chart');
      await chart.locator('.chart-box canvas').first().waitFor();
      await expect(chart.getAttribute('data-series')).resolves.toBe('2');
      await expect(chart.locator('.legend li').allTextContents()).resolves.toEqual([expect.stringContaining('EUR'), expect.stringContaining('USD')]);
      await expect(chart.locator('figcaption').textContent()).resolves.toMatch(/^count per 1m window, 2 groups/);
      await page.getByLabel('Chart of').selectOption('sum_amount');
      await expect(chart.locator('figcaption').textContent()).resolves.toMatch(/^sum_amount per 1m window, 2 groups/);
      await capture('view');

      await page.getByRole('button', { name: 'Delete view' }).click();
      await page.getByRole('button', { name: `Delete ${name} for good` }).click();
      await page.getByRole('heading', { name: 'Views', exact: true }).waitFor();
      await page.locator('#views').waitFor();
      expect(await page.locator(`tr[data-view="${name}"]`).count()).toBe(0);
      await flow.api().get(`/api/v1/views/${name}`).set(AUTH).expect(404);
    } finally {
      // The streaming job stops the view's query within seconds: the pipeline is left as it was.
      await flow.api().delete(`/api/v1/views/${name}`).set(AUTH);
    }
  }, 420_000);

  describe('sources, keys and the audit trail', () => {
    const source = `console_e2e_${Date.now().toString(36)}`;
    let keyId: string | undefined;

    it('creates a source in the editor, shows a backward-incompatible schema refused at its path, and archives it', async () => {
      try {
        await signIn();
        await overviewFilled();
        await page.getByRole('link', { name: 'Sources' }).click();
        await page.getByRole('button', { name: 'New source' }).click();
        await page.getByLabel('Name').fill(source);
        await page.getByLabel('Description').fill('made by the console tests');
        const schema = { type: 'object', required: ['id'], properties: { id: { type: 'string' }, amount: { type: 'number' } } };
        await page.getByLabel(/^JSON Schema/).fill(JSON.stringify(schema, null, 2));
        await capture('source-new');
        await page.getByRole('button', { name: 'Create source' }).click();
        await page.getByRole('heading', { name: `Source ${source}` }).waitFor();
        await page.locator('tr[data-version="1"]').waitFor();
        await expect(page.getByLabel('Kafka topic').inputValue()).resolves.toBe(`ingest.${source}`);

        // Narrowing a field refuses events the current schema accepts: the API's verdict names the path before anything is saved.
        const narrowed = { ...schema, properties: { ...schema.properties, amount: { type: 'integer' } } };
        await page.getByLabel(/^JSON Schema/).fill(JSON.stringify(narrowed, null, 2));
        await expect(page.getByRole('button', { name: 'Save' }).isDisabled()).resolves.toBe(true);
        await page.getByRole('button', { name: 'Check schema' }).click();
        const verdict = page.locator('#schema-verdict');
        await expect(verdict.textContent()).resolves.toMatch(/not backward-compatible.*\/properties\/amount.*Of the last 0 stored events, it would refuse 0/s);
        await capture('source-edit');
        await page.getByRole('button', { name: 'Save' }).click();
        await expect(page.getByRole('alert').textContent()).resolves.toMatch(/The source was not saved: 409 Conflict.*\/properties\/amount/s);
        const stored = await flow.api().get(`/api/v1/sources/${source}`).set(AUTH).expect(200);
        expect(stored.body).toMatchObject({ version: 1, schema });

        await page.getByRole('button', { name: 'Archive source' }).click();
        await expect(page.getByText('its name cannot be used again').count()).resolves.toBe(1);
        await page.getByRole('button', { name: `Archive ${source} for good` }).click();
        await page.getByText('Archived.').waitFor();
        // The page reads the source again after the archive: its state follows within a read.
        await page.locator('#source-state', { hasText: /archived/ }).waitFor({ timeout: 10_000 });
        expect((await flow.api().get(`/api/v1/sources/${source}`).set(AUTH).expect(200)).body.archivedAt).toEqual(expect.any(String));
      } finally {
        await flow.api().delete(`/api/v1/sources/${source}`).set(AUTH);
      }
    });

    it('creates a key with ingest:<source> and shows its secret once, then revokes it', async () => {
      try {
        await signIn();
        await overviewFilled();
        await page.getByRole('link', { name: 'Keys' }).click();
        await page.getByRole('button', { name: 'New key' }).click();
        await page.getByLabel('Name (who holds it)').fill(`console e2e ${source}`);
        await page.getByLabel('Kind').selectOption('ingest');
        await page.getByLabel('Source', { exact: true }).selectOption('clicks');
        await page.getByRole('button', { name: 'Add ingest:clicks' }).click();
        await capture('key-new');
        await page.getByRole('button', { name: 'Create key' }).click();

        const secret = page.locator('#secret');
        await expect(secret.textContent()).resolves.toMatch(/You will not see it again/);
        const key = (await page.locator('#secret-value').textContent())!;
        expect(key).toMatch(/^pk_[0-9a-f]+_/);
        const self = await flow.api().get('/api/v1/keys/self').set({ 'X-API-Key': key }).expect(200);
        expect(self.body.scopes).toEqual(['ingest:clicks']);
        keyId = self.body.id as string;
        await capture('key-secret');
        await page.getByRole('button', { name: 'I have copied it' }).click();
        await secret.waitFor({ state: 'detached' });
        expect(await page.getByText(key).count()).toBe(0);

        const row = page.locator(`tr[data-key="console e2e ${source}"]`);
        await expect(row.textContent()).resolves.toMatch(/ingest:clicks.*active/s);
        await row.getByRole('button', { name: 'Revoke' }).click();
        await row.getByRole('button', { name: 'Confirm revoke' }).click();
        await row.locator('.badge', { hasText: 'revoked' }).waitFor();
        await flow.api().get('/api/v1/keys/self').set({ 'X-API-Key': key }).expect(401);
        await capture('keys');
      } finally {
        if (keyId) await flow.api().delete(`/api/v1/keys/${keyId}`).set(AUTH);
      }
    });

    it('lists those actions on the audit page, newest first, filtered by action', async () => {
      expect(keyId).toBeDefined();
      await signIn();
      await overviewFilled();
      await page.getByRole('link', { name: 'Audit' }).click();
      await page.locator('tr[data-action]').first().waitFor();
      const rows = async () =>
        page.locator('tr[data-action]').evaluateAll((trs) => trs.map((tr) => `${tr.getAttribute('data-action')} ${tr.querySelectorAll('td')[2]?.textContent}`));
      const all = await rows();
      const at = (entry: string) => all.indexOf(entry);
      for (const entry of [`source.create ${source}`, `source.update ${source}`, `source.archive ${source}`, `key.create ${keyId}`, `key.revoke ${keyId}`]) {
        expect(all).toContain(entry);
      }
      expect(at(`key.revoke ${keyId}`)).toBeLessThan(at(`key.create ${keyId}`));
      expect(at(`source.archive ${source}`)).toBeLessThan(at(`source.create ${source}`));
      await expect(page.locator(`tr[data-action="source.update"]`, { hasText: source }).first().textContent()).resolves.toContain('409');
      await capture('audit');

      await page.getByLabel(/^Action/).fill('key.*');
      await page.getByRole('button', { name: 'Show' }).click();
      await eventually('only key actions listed', async () => {
        const keyed = await rows();
        return keyed.length > 0 && keyed.every((r) => r.startsWith('key.')) && keyed.includes(`key.revoke ${keyId}`) ? true : undefined;
      });
    });

    it('offers a key only the pages and buttons its scopes allow', async () => {
      const made: string[] = [];
      const keyWith = async (scopes: string[]) => {
        const { body } = await flow
          .api()
          .post('/api/v1/keys')
          .set(AUTH)
          .send({ name: `console e2e ${scopes.join(' ')}`, scopes })
          .expect(201);
        made.push(body.id as string);
        return body.key as string;
      };
      try {
        await signIn(await keyWith(['read:*']));
        await overviewFilled();
        const nav = page.getByRole('navigation', { name: 'Pages' });
        await expect(nav.getByRole('link').allTextContents()).resolves.toEqual(['Overview', 'Views']);
        expect(await page.getByRole('button', { name: 'Stop stream' }).count()).toBe(0);
        await capture('read-only-key');
        // Views are read with read:*; defining one needs admin, which this key is not offered.
        await nav.getByRole('link', { name: 'Views' }).click();
        await page.locator('#views').waitFor();
        expect(await page.getByRole('button', { name: 'New view' }).count()).toBe(0);
        await page.goto(`${url}/#/keys`);
        await page.getByRole('heading', { name: 'Not with this key' }).waitFor();
        await expect(page.locator('main').textContent()).resolves.toContain('admin');
        await page.goto(`${url}/#/`);

        await page.getByRole('button', { name: 'Sign out' }).click();
        await signIn(await keyWith(['operate', 'read:*']));
        await overviewFilled();
        await expect(nav.getByRole('link').allTextContents()).resolves.toEqual(['Overview', 'Views', 'Stream & batches', 'Airflow', 'Schedules']);
        await page.getByRole('button', { name: 'Stop stream' }).waitFor();

        await page.getByRole('button', { name: 'Sign out' }).click();
        await signIn(await keyWith(['ingest:*']));
        await page.getByRole('heading', { name: 'Not with this key' }).waitFor();
        await expect(nav.getByRole('link').allTextContents()).resolves.toEqual([]);
        expect(await page.getByRole('button', { name: /stream/ }).count()).toBe(0);
      } finally {
        for (const id of made) await flow.api().delete(`/api/v1/keys/${id}`).set(AUTH);
      }
    });
  });

  it('goes back to sign-in, saying why, when the key is refused later (expired or withdrawn)', async () => {
    await signIn();
    await overviewFilled();
    await page.evaluate("for (const k of Object.keys(sessionStorage)) sessionStorage.setItem(k, 'a-key-withdrawn-since-0123456789')");
    await page.getByRole('link', { name: 'Stream & batches' }).click();
    await page.getByLabel('API key').waitFor();
    await expect(page.getByRole('alert').first().textContent()).resolves.toMatch(
      /Signed out: the API refused the key \(401 Unauthorized\).*Invalid API key.*request id/s,
    );
    await expect(page.evaluate('sessionStorage.length')).resolves.toBe(0);
    await capture('signed-out');
  });
});
