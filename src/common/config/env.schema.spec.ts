import { validateEnvironment } from './env.schema';

const API_KEY = 'k'.repeat(16);

/** The message of the error validateEnvironment throws for this environment. */
function configError(raw: Record<string, unknown>): string {
  try {
    validateEnvironment(raw);
  } catch (err) {
    return (err as Error).message;
  }
  throw new Error('expected validateEnvironment to reject the environment');
}

describe('validateEnvironment', () => {
  it('applies every default when only API_KEYS is set', () => {
    const env = validateEnvironment({ API_KEYS: API_KEY });

    expect(env).toMatchObject({
      NODE_ENV: 'development',
      HOST: '127.0.0.1',
      PORT: 3000,
      API_KEYS: API_KEY,
      LOG_LEVEL: 'info',
      SHUTDOWN_GRACE_MS: 10000,
      API_WORKERS: 1,
      METRICS_PUBLIC: false,
      CONSOLE_DIR: 'dist/web',
      SOURCES_FILE: 'config/sources.yaml',
      INGEST_MAX_BODY_BYTES: 1048576,
      INGEST_MAX_EVENTS: 10000,
      INGEST_MAX_DEPTH: 64,
      KAFKA_BROKERS: '127.0.0.1:9092',
      KAFKA_CLIENT_ID: 'pipeline-control-plane',
      KAFKA_SSL: false,
      KAFKA_PUBLISH_TIMEOUT_MS: 5000,
      KAFKA_CREATE_TOPICS: true,
      KAFKA_TOPIC_PARTITIONS: 3,
      KAFKA_TOPIC_REPLICATION_FACTOR: 1,
      CASSANDRA_CONTACT_POINTS: '127.0.0.1:9042',
      CASSANDRA_LOCAL_DC: 'datacenter1',
      CASSANDRA_KEYSPACE: 'pipeline',
      CASSANDRA_REPLICATION: 'SimpleStrategy:1',
      CASSANDRA_REQUEST_TIMEOUT_MS: 5000,
      RECORDS_MAX_RANGE_DAYS: 31,
    });
    expect(env.KAFKA_SASL_MECHANISM).toBeUndefined();
  });

  it('converts numeric and boolean strings from the environment', () => {
    const env = validateEnvironment({ API_KEYS: API_KEY, PORT: '8080', KAFKA_SSL: 'yes', KAFKA_CREATE_TOPICS: 'off' });

    expect(env.PORT).toBe(8080);
    expect(env.KAFKA_SSL).toBe(true);
    expect(env.KAFKA_CREATE_TOPICS).toBe(false);
  });

  it('reads METRICS_PUBLIC as a boolean and rejects anything else, naming it', () => {
    expect(validateEnvironment({ API_KEYS: API_KEY, METRICS_PUBLIC: 'true' }).METRICS_PUBLIC).toBe(true);
    expect(validateEnvironment({ API_KEYS: API_KEY, METRICS_PUBLIC: 'off' }).METRICS_PUBLIC).toBe(false);
    expect(configError({ API_KEYS: API_KEY, METRICS_PUBLIC: 'sometimes' })).toMatch(/METRICS_PUBLIC="sometimes": METRICS_PUBLIC must be a boolean value/);
  });

  it('rejects a missing API_KEYS as unset', () => {
    expect(configError({})).toMatch(/API_KEYS=\(unset\): must be a comma-separated list of API keys/);
  });

  it.each([
    ['not a number', 'abc', /PORT="abc": .*PORT must be an integer number/],
    ['above 65535', '70000', /PORT=70000: PORT must not be greater than 65535/],
    ['zero', '0', /PORT=0: PORT must not be less than 1/],
  ])('rejects a PORT that is %s, naming the variable and the allowed range', (_case, port, expected) => {
    expect(configError({ API_KEYS: API_KEY, PORT: port })).toMatch(expected);
  });

  it.each([
    ['zero', '0', /INGEST_MAX_DEPTH=0: INGEST_MAX_DEPTH must not be less than 1/],
    ['above 1000', '1001', /INGEST_MAX_DEPTH=1001: INGEST_MAX_DEPTH must not be greater than 1000/],
    ['not a number', 'deep', /INGEST_MAX_DEPTH="deep": .*INGEST_MAX_DEPTH must be an integer number/],
  ])('rejects an INGEST_MAX_DEPTH that is %s, naming the allowed range', (_case, depth, expected) => {
    expect(configError({ API_KEYS: API_KEY, INGEST_MAX_DEPTH: depth })).toMatch(expected);
    expect(validateEnvironment({ API_KEYS: API_KEY, INGEST_MAX_DEPTH: '1000' }).INGEST_MAX_DEPTH).toBe(1000);
  });

  it('bounds the ingest bytes in flight and the wait for room by default, and rejects what is not a positive whole number, naming it', () => {
    expect(validateEnvironment({ API_KEYS: API_KEY })).toMatchObject({ INGEST_MAX_BYTES_IN_FLIGHT: 2097152, INGEST_ADMISSION_WAIT_MS: 2000 });
    expect(validateEnvironment({ API_KEYS: API_KEY, INGEST_MAX_BYTES_IN_FLIGHT: '16777216', INGEST_ADMISSION_WAIT_MS: '500' })).toMatchObject({
      INGEST_MAX_BYTES_IN_FLIGHT: 16777216,
      INGEST_ADMISSION_WAIT_MS: 500,
    });
    expect(configError({ API_KEYS: API_KEY, INGEST_MAX_BYTES_IN_FLIGHT: '0' })).toMatch(
      /INGEST_MAX_BYTES_IN_FLIGHT=0: INGEST_MAX_BYTES_IN_FLIGHT must not be less than 1024/,
    );
    expect(configError({ API_KEYS: API_KEY, INGEST_MAX_BYTES_IN_FLIGHT: '8MiB' })).toMatch(
      /INGEST_MAX_BYTES_IN_FLIGHT="8MiB": .*INGEST_MAX_BYTES_IN_FLIGHT must be an integer number/,
    );
    expect(configError({ API_KEYS: API_KEY, INGEST_MAX_BYTES_IN_FLIGHT: '1.5' })).toMatch(/INGEST_MAX_BYTES_IN_FLIGHT="1.5": .*must be an integer number/);
    expect(configError({ API_KEYS: API_KEY, INGEST_ADMISSION_WAIT_MS: '0' })).toMatch(
      /INGEST_ADMISSION_WAIT_MS=0: INGEST_ADMISSION_WAIT_MS must not be less than 1/,
    );
    expect(configError({ API_KEYS: API_KEY, INGEST_ADMISSION_WAIT_MS: '-5' })).toMatch(/INGEST_ADMISSION_WAIT_MS=-5: .*must not be less than 1/);
    expect(configError({ API_KEYS: API_KEY, INGEST_ADMISSION_WAIT_MS: '60001' })).toMatch(/INGEST_ADMISSION_WAIT_MS=60001: .*must not be greater than 60000/);
  });

  it('bounds what callers may ask of Spark and of the scheduler by default, and rejects a ceiling of zero', () => {
    expect(validateEnvironment({ API_KEYS: API_KEY })).toMatchObject({
      SPARK_MAX_EXECUTOR_MEMORY_MB: 2048,
      SPARK_MAX_DRIVER_MEMORY_MB: 2048,
      SPARK_MAX_EXECUTORS: 4,
      SPARK_MAX_EXECUTOR_CORES: 2,
      SPARK_MAX_CONCURRENT_BATCHES: 4,
      SPARK_MAX_CONCURRENT_BATCHES_PER_JOB: 2,
      SCHEDULES_MIN_INTERVAL_SECONDS: 60,
      SCHEDULES_MAX: 100,
    });
    expect(configError({ API_KEYS: API_KEY, SPARK_MAX_CONCURRENT_BATCHES: '0' })).toMatch(/SPARK_MAX_CONCURRENT_BATCHES=0: .*must not be less than 1/);
    expect(configError({ API_KEYS: API_KEY, SPARK_MAX_EXECUTOR_MEMORY_MB: '2g' })).toMatch(/SPARK_MAX_EXECUTOR_MEMORY_MB="2g": .*must be an integer number/);
    expect(configError({ API_KEYS: API_KEY, SCHEDULES_MIN_INTERVAL_SECONDS: '0' })).toMatch(/SCHEDULES_MIN_INTERVAL_SECONDS=0: /);
  });

  it('bounds the HTTP server by default and keeps the headers timeout within the request timeout', () => {
    expect(validateEnvironment({ API_KEYS: API_KEY })).toMatchObject({
      HTTP_HEADERS_TIMEOUT_MS: 10000,
      HTTP_REQUEST_TIMEOUT_MS: 30000,
      HTTP_KEEPALIVE_TIMEOUT_MS: 5000,
      HTTP_MAX_CONNECTIONS: 1024,
    });
    expect(configError({ API_KEYS: API_KEY, HTTP_MAX_CONNECTIONS: '0' })).toMatch(/HTTP_MAX_CONNECTIONS=0: .*must not be less than 1/);
    expect(configError({ API_KEYS: API_KEY, HTTP_HEADERS_TIMEOUT_MS: '40000' })).toContain(
      'HTTP_HEADERS_TIMEOUT_MS must not be greater than HTTP_REQUEST_TIMEOUT_MS',
    );
  });

  describe('with NODE_ENV=production', () => {
    const GOOD_KEY = 'prod-key-0123456789abcdef0123456789';
    const GOOD_SECRET = 'prod-page-token-secret-0123456789abcdef';
    const production = (env: Record<string, string>) => ({ NODE_ENV: 'production', API_KEYS: GOOD_KEY, PAGE_TOKEN_SECRET: GOOD_SECRET, ...env });

    it('starts with keys and a page-token secret of 32 bytes or more that are not published', () => {
      const env = validateEnvironment(production({ API_KEYS: `${GOOD_KEY},${'x'.repeat(32)}` }));

      expect(env.PAGE_TOKEN_SECRET).toBe(GOOD_SECRET);
    });

    it.each([
      ['the make up key', 'local-dev-key-change-me', 'key 1 of 1 is a published development value'],
      ['the Airflow dev key', 'local-dev-airflow-key-change-me', 'key 1 of 1 is a published development value'],
      ['a change-me placeholder', 'change-me-to-a-long-random-api-key-000', 'key 1 of 1 is a published development value'],
      ['a changeme placeholder', 'CHANGEME-0123456789abcdef0123456789', 'key 1 of 1 is a published development value'],
      ['a key under 32 bytes', 'short-but-valid-key-0123', 'key 1 of 1 is 24 bytes long; at least 32 are required'],
    ])('refuses %s in API_KEYS on one line naming the variable, never the key', (_case, key, problem) => {
      const message = configError(production({ API_KEYS: key }));

      expect(message.split('\n')).toEqual(['Refusing to start with NODE_ENV=production:', expect.stringContaining(`API_KEYS: ${problem}`)]);
      expect(message).not.toContain(key);
    });

    it('names which of several keys is refused', () => {
      const message = configError(production({ API_KEYS: `${GOOD_KEY},local-dev-key-change-me` }));

      expect(message).toContain('API_KEYS: key 2 of 2 is a published development value');
      expect(message).not.toContain(GOOD_KEY);
    });

    it.each([
      ['unset', undefined, 'PAGE_TOKEN_SECRET is not set: it is required in production'],
      ['the documented dev value', 'local-dev-page-token-secret-change-me', 'PAGE_TOKEN_SECRET is a published development value'],
      ['under 32 bytes', 'page-token-secret-too-short', 'PAGE_TOKEN_SECRET is 27 bytes long; at least 32 are required'],
    ])('refuses a PAGE_TOKEN_SECRET that is %s', (_case, secret, expected) => {
      const env: Record<string, string> = production({});
      if (secret === undefined) delete env.PAGE_TOKEN_SECRET;
      else env.PAGE_TOKEN_SECRET = secret;
      const message = configError(env);

      expect(message).toContain(expected);
      if (secret) expect(message).not.toContain(secret);
    });

    it('names every refused variable, one line each', () => {
      const message = configError({ NODE_ENV: 'production', API_KEYS: 'local-dev-key-change-me' });

      expect(message.split('\n')).toHaveLength(3);
      expect(message).toMatch(/^ {2}API_KEYS: /m);
      expect(message).toMatch(/^ {2}PAGE_TOKEN_SECRET is not set/m);
    });

    it('lets development and test run with the published values', () => {
      expect(validateEnvironment({ API_KEYS: 'local-dev-key-change-me' }).PAGE_TOKEN_SECRET).toBe('local-dev-page-token-secret-change-me');
      expect(() => validateEnvironment({ NODE_ENV: 'test', API_KEYS: 'local-dev-key-change-me' })).not.toThrow();
    });
  });

  it('rejects KAFKA_BROKERS that are not host:port pairs', () => {
    const message = configError({ API_KEYS: API_KEY, KAFKA_BROKERS: 'kafka-1,kafka-2:9092' });

    expect(message).toContain('KAFKA_BROKERS="kafka-1,kafka-2:9092": must be a comma-separated list of host:port');
  });

  it('rejects a CASSANDRA_REPLICATION that is not one of the two strategy forms', () => {
    const message = configError({ API_KEYS: API_KEY, CASSANDRA_REPLICATION: 'NetworkTopologyStrategy:dc1' });

    expect(message).toContain('CASSANDRA_REPLICATION="NetworkTopologyStrategy:dc1"');
    expect(message).toContain("'SimpleStrategy:<rf>' or 'NetworkTopologyStrategy:<dc>=<rf>[:<dc>=<rf>...]'");
  });

  it('rejects an API key shorter than 16 characters without ever showing API_KEYS', () => {
    const secret = 'a-valid-key-0123456789,short-key';
    const message = configError({ API_KEYS: secret });

    expect(message).toContain('API_KEYS=<hidden>: must be a comma-separated list of API keys, each at least 16 characters without spaces');
    expect(message).not.toContain('short-key');
    expect(message).not.toContain('a-valid-key-0123456789');
  });

  it('hides API_KEYS and passwords even when they are valid and another variable is wrong', () => {
    const key = 'visible-if-leaked-0001';
    const message = configError({ API_KEYS: key, PORT: 'x', CASSANDRA_PASSWORD: 42 });

    expect(message).toContain('PORT="x"');
    expect(message).toContain('CASSANDRA_PASSWORD=<hidden>');
    expect(message).not.toContain(key);
    expect(message).not.toContain('42');
  });

  it('names every bad variable in one message', () => {
    const message = configError({ API_KEYS: API_KEY, PORT: '-1', LOG_LEVEL: 'verbose', CASSANDRA_KEYSPACE: 'Pipeline' });

    expect(message.split('\n')[0]).toBe('Invalid configuration:');
    expect(message).toMatch(/PORT=-1: /);
    expect(message).toMatch(/LOG_LEVEL="verbose": LOG_LEVEL must be one of the following values: fatal, error, warn, info, debug, trace, silent/);
    expect(message).toMatch(/CASSANDRA_KEYSPACE="Pipeline": must be a lower-case CQL identifier/);
  });

  it('requires a username and password when a SASL mechanism is set', () => {
    expect(configError({ API_KEYS: API_KEY, KAFKA_SASL_MECHANISM: 'scram-sha-512', KAFKA_SASL_PASSWORD: 'pw' })).toContain(
      'KAFKA_SASL_MECHANISM is set: KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD are required too',
    );
    expect(() => validateEnvironment({ API_KEYS: API_KEY, KAFKA_SASL_MECHANISM: 'plain', KAFKA_SASL_USERNAME: 'u', KAFKA_SASL_PASSWORD: 'p' })).not.toThrow();
  });

  it('rejects an unknown SASL mechanism', () => {
    expect(configError({ API_KEYS: API_KEY, KAFKA_SASL_MECHANISM: 'gssapi' })).toMatch(
      /KAFKA_SASL_MECHANISM="gssapi": KAFKA_SASL_MECHANISM must be one of the following values: plain, scram-sha-256, scram-sha-512/,
    );
  });
});
