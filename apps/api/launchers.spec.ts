import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { API_NODE_OPTIONS } from '../../bench/support';

const ROOT = join(__dirname, '..', '..');
const read = (file: string) => readFileSync(join(ROOT, file), 'utf8');

describe('the launchers of the API', () => {
  const flags = API_NODE_OPTIONS.join(' ');

  it('package.json start gives the same Node options as the benches', () => {
    const start = (JSON.parse(read('package.json')) as { scripts: Record<string, string> }).scripts.start;
    expect(start).toBe(`node ${flags} dist/apps/api/main.js`);
  });

  it('the local stack gives the same Node options', () => {
    expect(read('infra/local/api/service.sh')).toContain(`launch api node ${flags} dist/apps/api/main.js`);
  });

  it('the container image gives the same Node options', () => {
    const cmd = read('Dockerfile')
      .split('\n')
      .find((line) => line.startsWith('CMD '));
    expect(JSON.parse(cmd!.slice(4))).toEqual(['node', ...API_NODE_OPTIONS, 'dist/apps/api/main.js']);
  });
});
