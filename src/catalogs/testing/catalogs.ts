import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { testConfig } from '../../common/testing/config';
import { SourcesRegistry } from '../sources.registry';

/** The real sources registry over a registry file made for the test (YAML text, as in config/sources.yaml). */
export function sourcesRegistry(yaml: string, env: Record<string, string> = {}): SourcesRegistry {
  const file = join(mkdtempSync(join(tmpdir(), 'sources-')), 'sources.yaml');
  writeFileSync(file, yaml);
  return new SourcesRegistry(testConfig({ ...env, SOURCES_FILE: file }));
}

/** The real sources registry with the given sources, each with default settings. */
export const sourcesNamed = (...names: string[]): SourcesRegistry => sourcesRegistry(`sources:\n${names.map((n) => `  ${n}: {}`).join('\n')}\n`);
