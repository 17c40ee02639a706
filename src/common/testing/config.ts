import { AppConfig, toAppConfig } from '../config/app-config';
import { validateEnvironment } from '../config/env.schema';

/** A validated configuration for unit tests: the defaults, an API key, and the given variables. */
export function testConfig(env: Record<string, string> = {}): AppConfig {
  return toAppConfig(validateEnvironment({ API_KEYS: 'k'.repeat(16), ...env }));
}
