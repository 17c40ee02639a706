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
    expect(() =>
      validateEnvironment({ API_KEYS: API_KEY, KAFKA_SASL_MECHANISM: 'plain', KAFKA_SASL_USERNAME: 'u', KAFKA_SASL_PASSWORD: 'p' }),
    ).not.toThrow();
  });

  it('rejects an unknown SASL mechanism', () => {
    expect(configError({ API_KEYS: API_KEY, KAFKA_SASL_MECHANISM: 'gssapi' })).toMatch(
      /KAFKA_SASL_MECHANISM="gssapi": KAFKA_SASL_MECHANISM must be one of the following values: plain, scram-sha-256, scram-sha-512/,
    );
  });
});
