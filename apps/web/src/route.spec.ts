import { canWith, NEEDS } from './access';
import { hrefOf, parseRoute } from './route';
import { session } from './session';
import { airflowTone, batchTone, streamTone, verdictTone, viewTone } from './tones';

describe('routes', () => {
  it.each([
    ['', { page: 'overview' }],
    ['#/', { page: 'overview' }],
    ['#/sources/clicks', { page: 'source', source: 'clicks' }],
    ['#/sources/a%20b/', { page: 'source', source: 'a b' }],
    ['#/stream', { page: 'stream' }],
    ['#/airflow', { page: 'airflow' }],
    ['#/schedules', { page: 'schedules' }],
    ['#/sources', { page: 'sources' }],
    ['#/sources/a%20b/edit', { page: 'source-edit', source: 'a b' }],
    ['#/views', { page: 'views' }],
    ['#/views/revenue_per_currency', { page: 'view', view: 'revenue_per_currency' }],
    ['#/views/a/b', { page: 'not-found', path: '/views/a/b' }],
    ['#/keys', { page: 'keys' }],
    ['#/audit', { page: 'audit' }],
    ['#/nope', { page: 'not-found', path: '/nope' }],
    ['#/sources/%E0%A4%A', { page: 'not-found', path: '/sources/%E0%A4%A' }],
  ])('%s is %j', (hash, route) => expect(parseRoute(hash)).toEqual(route));

  it('links back to the same route', () => {
    for (const hash of [
      '#/',
      '#/sources/a%20b',
      '#/stream',
      '#/airflow',
      '#/schedules',
      '#/sources',
      '#/sources/a%20b/edit',
      '#/views',
      '#/views/a%20b',
      '#/keys',
      '#/audit',
    ])
      expect(hrefOf(parseRoute(hash))).toBe(hash);
  });
});

describe('what a key may do', () => {
  it('follows the API: admin grants all, a wildcard its kind, a source scope that source only', () => {
    const ingest = canWith(['ingest:*']);
    const reader = canWith(['read:*']);
    const operator = canWith(['operate', 'read:orders']);

    expect([ingest('ingest:orders'), ingest('read:*'), ingest('operate'), ingest('admin')]).toEqual([true, false, false, false]);
    expect([reader(NEEDS.overview), reader(NEEDS.views), reader(NEEDS.operate), reader(NEEDS.admin)]).toEqual([true, true, false, false]);
    expect([operator(NEEDS.operate), operator('read:orders'), operator('read:*'), operator(NEEDS.admin)]).toEqual([true, true, false, false]);
    expect(canWith(['admin'])(NEEDS.operate)).toBe(true);
  });
});

describe('session', () => {
  it('keeps the key in the given store only, and forgets it on sign-out', () => {
    const store = new Map<string, string>();
    const keys = session({ getItem: (k) => store.get(k) ?? null, setItem: (k, v) => void store.set(k, v), removeItem: (k) => void store.delete(k) });
    expect(keys.key()).toBeUndefined();
    keys.signIn('k-0123456789abcdef');
    expect(keys.key()).toBe('k-0123456789abcdef');
    keys.signOut();
    expect(keys.key()).toBeUndefined();
    expect(store.size).toBe(0);
  });
});

describe('tones', () => {
  it('shows a stalled or lagging pipeline, a failed stream, a dead batch and a failed run as problems', () => {
    expect(['flowing', 'lagging', 'stalled', 'stopped', 'degraded'].map(verdictTone)).toEqual(['ok', 'warn', 'bad', 'warn', 'bad']);
    expect(['running', 'running-unmanaged', 'starting', 'stopped', 'failed'].map(streamTone)).toEqual(['ok', 'ok', 'info', 'warn', 'bad']);
    expect(['success', 'dead', 'lost', 'killed', 'running'].map(batchTone)).toEqual(['ok', 'bad', 'bad', 'neutral', 'info']);
    expect(['success', 'failed', 'running', undefined, 'something new'].map(airflowTone)).toEqual(['ok', 'bad', 'info', 'neutral', 'neutral']);
    expect(['pending', 'backfilling', 'running', 'failed'].map(viewTone)).toEqual(['info', 'info', 'ok', 'bad']);
  });
});
