import { AppConfig, toAppConfig } from '../config/app-config';
import { validateEnvironment } from '../config/env.schema';

/** The development signing secret of the `webhooks` source (`make up` sets the same one): whsec_ + base64 of the key. */
export const TEST_WEBHOOKS_SECRET = 'whsec_bG9jYWwtZGV2LXdlYmhvb2tzLWtleS1jaGFuZ2UtbWU=';

/**
 * A validated configuration for unit tests: the defaults, an API key, the signing secret
 * config/sources.yaml refers to, and the given variables.
 */
export function testConfig(env: Record<string, string> = {}): AppConfig {
  const environment = { API_KEYS: 'k'.repeat(16), WEBHOOKS_SIGNING_SECRET: TEST_WEBHOOKS_SECRET, ...env };
  return toAppConfig(validateEnvironment(environment), environment);
}
