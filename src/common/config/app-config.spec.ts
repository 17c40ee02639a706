import { resolve } from 'node:path';
import { toAppConfig } from './app-config';
import { validateEnvironment } from './env.schema';

const API_KEY = 'k'.repeat(16);
const configFrom = (raw: Record<string, string>) => toAppConfig(validateEnvironment({ API_KEYS: API_KEY, ...raw }));

describe('toAppConfig', () => {
  it('groups the defaults into the typed settings', () => {
    expect(configFrom({})).toEqual({
      env: 'development',
      http: {
        host: '127.0.0.1',
        port: 3000,
        apiKeys: [API_KEY],
        shutdownGraceMs: 10000,
        workers: 1,
        headersTimeoutMs: 10000,
        requestTimeoutMs: 30000,
        keepAliveTimeoutMs: 5000,
        maxConnections: 1024,
      },
      log: { level: 'info' },
      metrics: { public: false },
      console: { dir: resolve('dist/web') },
      ingest: {
        sourcesFile: 'config/sources.yaml',
        maxBodyBytes: 1048576,
        maxEvents: 10000,
        maxDepth: 64,
        idempotencyTtlSeconds: 86400,
        maxBytesInFlight: 2097152,
        admissionWaitMs: 2000,
      },
      sources: { syncSeconds: 2 },
      kafka: {
        brokers: ['127.0.0.1:9092'],
        clientId: 'pipeline-control-plane',
        ssl: false,
        sasl: undefined,
        publishTimeoutMs: 5000,
        createTopics: true,
        topicPartitions: 3,
        topicReplicationFactor: 1,
      },
      cassandra: {
        contactPoints: ['127.0.0.1:9042'],
        localDataCenter: 'datacenter1',
        keyspace: 'pipeline',
        replication: { class: 'SimpleStrategy', replication_factor: 1 },
        credentials: undefined,
        requestTimeoutMs: 5000,
      },
      records: { maxRangeDays: 31, pageTokenSecret: expect.any(Function) },
      pipeline: { lagSeconds: 10, stallSeconds: 30 },
      livy: { url: 'http://127.0.0.1:8998', credentials: undefined, timeoutMs: 10000 },
      spark: {
        jobsDir: resolve('spark-jobs'),
        remoteJobsDir: resolve('spark-jobs'),
        packages: ['org.apache.spark:spark-sql-kafka-0-10_2.12:3.5.7', 'com.datastax.spark:spark-cassandra-connector_2.12:3.5.1'],
        historyRetentionDays: 30,
        limits: {
          maxExecutorMemoryMb: 2048,
          maxDriverMemoryMb: 2048,
          maxExecutors: 4,
          maxExecutorCores: 2,
          maxConcurrentBatches: 4,
          maxConcurrentBatchesPerJob: 2,
        },
      },
      airflow: { url: 'http://127.0.0.1:8080', username: 'admin', password: 'admin-local-password', timeoutMs: 10000, waitMaxSeconds: 600 },
      schedules: { syncSeconds: 10, minIntervalSeconds: 60, max: 100 },
      access: { keysSyncSeconds: 2, keysStaleMaxSeconds: 300, auditRetentionDays: 90, rateLimitSyncMs: 500 },
      streaming: {
        autostart: false,
        checkpointDir: resolve('.stack/spark/checkpoints/events_stream'),
        kafkaBootstrap: ['127.0.0.1:9092'],
        cassandraHosts: ['127.0.0.1:9042'],
        superviseSeconds: 5,
        heartbeatStaleSeconds: 15,
        maxBackoffSeconds: 60,
        startTimeoutSeconds: 300,
        stopTimeoutSeconds: 45,
        stuckSeconds: 150,
      },
      secret: expect.any(Function),
    });
  });

  it('lets the Spark job reach Kafka, Cassandra and the job files at their own addresses', () => {
    const config = toAppConfig(
      validateEnvironment({
        API_KEYS: 'k'.repeat(16),
        LIVY_URL: 'http://livy:8998/',
        SPARK_JOBS_REMOTE_DIR: 'hdfs:///jobs/',
        SPARK_PACKAGES: '',
        STREAMING_CHECKPOINT_DIR: 's3a://bucket/ckpt',
        STREAMING_KAFKA_BOOTSTRAP: 'k1:9092,k2:9092',
        STREAMING_CASSANDRA_HOSTS: 'c1:9042',
      }),
    );
    expect(config.livy.url).toBe('http://livy:8998');
    expect(config.spark).toMatchObject({ remoteJobsDir: 'hdfs:///jobs', packages: [] });
    expect(config.streaming).toMatchObject({ checkpointDir: 's3a://bucket/ckpt', kafkaBootstrap: ['k1:9092', 'k2:9092'], cassandraHosts: ['c1:9042'] });
  });

  it('splits comma-separated lists', () => {
    const config = configFrom({
      API_KEYS: 'first-key-0123456789,second-key-0123456789',
      KAFKA_BROKERS: 'kafka-1:9092,kafka-2:9093',
      CASSANDRA_CONTACT_POINTS: 'cass-1:9042,cass-2:9042,cass-3:9042',
    });

    expect(config.http.apiKeys).toEqual(['first-key-0123456789', 'second-key-0123456789']);
    expect(config.kafka.brokers).toEqual(['kafka-1:9092', 'kafka-2:9093']);
    expect(config.cassandra.contactPoints).toEqual(['cass-1:9042', 'cass-2:9042', 'cass-3:9042']);
  });

  it('parses SimpleStrategy:<rf> into a numeric replication factor', () => {
    expect(configFrom({ CASSANDRA_REPLICATION: 'SimpleStrategy:3' }).cassandra.replication).toEqual({
      class: 'SimpleStrategy',
      replication_factor: 3,
    });
  });

  it('parses NetworkTopologyStrategy into one numeric factor per data center', () => {
    expect(configFrom({ CASSANDRA_REPLICATION: 'NetworkTopologyStrategy:dc1=3:dc2=2' }).cassandra.replication).toEqual({
      class: 'NetworkTopologyStrategy',
      dc1: 3,
      dc2: 2,
    });
  });

  it('builds SASL settings when a mechanism is configured', () => {
    const config = configFrom({ KAFKA_SASL_MECHANISM: 'scram-sha-256', KAFKA_SASL_USERNAME: 'svc', KAFKA_SASL_PASSWORD: 'secret' });

    expect(config.kafka.sasl).toEqual({ mechanism: 'scram-sha-256', username: 'svc', password: 'secret' });
  });

  it('builds Cassandra credentials only when both username and password are set', () => {
    expect(configFrom({ CASSANDRA_USERNAME: 'cassandra', CASSANDRA_PASSWORD: 'pw' }).cassandra.credentials).toEqual({
      username: 'cassandra',
      password: 'pw',
    });
    expect(configFrom({ CASSANDRA_USERNAME: 'cassandra' }).cassandra.credentials).toBeUndefined();
  });

  it('resolves CONSOLE_DIR against the working directory; an empty one serves no console', () => {
    expect(configFrom({ CONSOLE_DIR: 'build/console' }).console.dir).toBe(resolve('build/console'));
    expect(configFrom({ CONSOLE_DIR: '' }).console.dir).toBeUndefined();
  });

  describe('secret', () => {
    it('answers a variable of the environment the configuration was read from, by name', () => {
      const environment = { API_KEYS: API_KEY, WEBHOOKS_SIGNING_SECRET: 'whsec_c2VjcmV0', EMPTY: '' };
      const config = toAppConfig(validateEnvironment(environment), environment);

      expect(config.secret('WEBHOOKS_SIGNING_SECRET')).toBe('whsec_c2VjcmV0');
      expect(config.secret('EMPTY')).toBe('');
      expect(config.secret('NOT_SET')).toBeUndefined();
    });

    it('keeps the values the environment had when the configuration was read', () => {
      const environment: Record<string, string> = { API_KEYS: API_KEY, SIGNING: 'before' };
      const config = toAppConfig(validateEnvironment(environment), environment);
      environment.SIGNING = 'after';

      expect(config.secret('SIGNING')).toBe('before');
    });

    it('answers nothing for names inherited by every object', () => {
      const config = configFrom({});

      expect(config.secret('constructor')).toBeUndefined();
      expect(config.secret('toString')).toBeUndefined();
    });

    it('never shows the secrets in a dump of the settings', () => {
      const environment = { API_KEYS: API_KEY, WEBHOOKS_SIGNING_SECRET: 'whsec_c2VjcmV0LXZhbHVl', PAGE_TOKEN_SECRET: 'page-token-secret-never-dumped-0001' };
      const config = toAppConfig(validateEnvironment(environment), environment);

      expect(JSON.stringify(config)).not.toContain('c2VjcmV0LXZhbHVl');
      expect(JSON.stringify(config)).not.toContain('page-token-secret-never-dumped');
      expect(config.records.pageTokenSecret()).toBe('page-token-secret-never-dumped-0001');
    });
  });
});
