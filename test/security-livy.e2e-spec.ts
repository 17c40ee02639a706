import { ROOT } from './support/harness';

/**
 * Livy as the local stack runs it (infra/local/livy/livy.conf), asked directly, as a web page or another
 * local program could. CSRF protection is on: a POST or DELETE without X-Requested-By is a 400, whatever
 * its body, so a cross-site form post (text/plain, no custom header) cannot submit a batch. The jobs
 * whitelist refuses a path outside spark-jobs/.
 *
 * Not tested here, because it is not true: Livy 0.7.1 checks livy.file.local-dir-whitelist as a string
 * prefix of the path as sent (Session.resolveURI), so `<repo>/spark-jobs/../package.json` passes it and
 * would be submitted. The control plane refuses such paths before it asks Livy (src/livy/job-file.ts,
 * unit-tested), and Livy must never be reachable but from the API.
 */
const LIVY = (process.env.LIVY_URL ?? 'http://127.0.0.1:8998').replace(/\/+$/, '');

describe('Livy refuses what the control plane never sends', () => {
  it('refuses a cross-site style POST /batches (text/plain, no X-Requested-By) with 400', async () => {
    const res = await fetch(`${LIVY}/batches`, {
      method: 'POST',
      headers: { 'Content-Type': 'text/plain' },
      body: JSON.stringify({ file: `${ROOT}/spark-jobs/daily_rollup.py`, name: `csrf-${Date.now()}` }),
    });

    expect(res.status).toBe(400);
    expect(await res.text()).toMatch(/CSRF/i);
  });

  it('refuses a JSON POST /batches without X-Requested-By too', async () => {
    const res = await fetch(`${LIVY}/batches`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ file: `${ROOT}/spark-jobs/daily_rollup.py`, name: `csrf-json-${Date.now()}` }),
    });

    expect(res.status).toBe(400);
    expect(await res.text()).toMatch(/CSRF/i);
  });

  it('refuses a DELETE without X-Requested-By (400, not the 404 of an unknown batch)', async () => {
    const res = await fetch(`${LIVY}/batches/2147483000`, { method: 'DELETE' });

    expect(res.status).toBe(400);
  });

  it('still answers reads without the header (the control plane and the probes list batches)', async () => {
    const res = await fetch(`${LIVY}/batches?size=0`);

    expect(res.status).toBe(200);
  });

  it('refuses a file outside spark-jobs/ even with the header (the whitelist is on)', async () => {
    const res = await fetch(`${LIVY}/batches`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'X-Requested-By': 'security-e2e' },
      body: JSON.stringify({ file: `${ROOT}/package.json`, name: `outside-${Date.now()}` }),
    });

    expect(res.status).toBe(400);
    expect(await res.text()).toMatch(/cannot be added to user sessions/);
  });
});
