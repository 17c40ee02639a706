import { resolve } from 'node:path';
import { EnvironmentVariables } from './env.schema';

/**
 * The value of an environment variable a catalog refers to by name (`${NAME}` in
 * config/sources.yaml), as the environment was when the configuration was read; undefined when unset.
 * A function rather than a copy of the environment, so the secrets never show up in a dump of the settings.
 */
export type SecretLookup = (variable: string) => string | undefined;

/** The control plane's settings, typed and grouped by the part that uses them. */
export interface AppConfig {
  env: 'development' | 'production' | 'test';
  /**
   * The HTTP server's limits (see server-limits.ts): how long the headers, and the whole request, may
   * take to arrive, how long an idle keep-alive connection is kept, and how many connections a process holds.
   */
  http: {
    host: string;
    port: number;
    apiKeys: string[];
    shutdownGraceMs: number;
    workers: number;
    headersTimeoutMs: number;
    requestTimeoutMs: number;
    keepAliveTimeoutMs: number;
    maxConnections: number;
  };
  log: { level: string };
  /** GET /metrics: answered without an API key when public (for a scraper on a trusted network). */
  metrics: { public: boolean };
  /** The web console's built files, served at / (undefined: no console). */
  console: { dir?: string };
  /**
   * maxDepth: the deepest nesting of objects and arrays an event may have (the event itself is depth 1).
   * idempotencyTtlSeconds: how long the answer to a request with an idempotency key is kept for its retries.
   * maxBytesInFlight: the bytes of bodies one API process holds from before reading them until their answer;
   * admissionWaitMs: how long a request that does not fit waits for room before its 503.
   */
  ingest: {
    sourcesFile: string;
    maxBodyBytes: number;
    maxEvents: number;
    maxDepth: number;
    idempotencyTtlSeconds: number;
    maxBytesInFlight: number;
    admissionWaitMs: number;
  };
  /** syncSeconds: how often each API process re-reads the sources registry (Cassandra) and swaps in what changed. */
  sources: { syncSeconds: number };
  kafka: {
    brokers: string[];
    clientId: string;
    ssl: boolean;
    sasl?: { mechanism: 'plain' | 'scram-sha-256' | 'scram-sha-512'; username: string; password: string };
    publishTimeoutMs: number;
    createTopics: boolean;
    topicPartitions: number;
    topicReplicationFactor: number;
  };
  cassandra: {
    contactPoints: string[];
    localDataCenter: string;
    keyspace: string;
    replication: Record<string, string | number>;
    credentials?: { username: string; password: string };
    requestTimeoutMs: number;
  };
  /** pageTokenSecret: what page tokens are signed with; a function, like `secret`, so it never shows in a dump. */
  records: { maxRangeDays: number; pageTokenSecret: () => string };
  pipeline: { lagSeconds: number; stallSeconds: number };
  livy: { url: string; credentials?: { username: string; password: string }; timeoutMs: number };
  /**
   * limits: the operator's ceilings on a caller's Spark conf (the stricter of these and the job
   * catalog's bounds applies), and on the batches of batch jobs running at once, in all and per job.
   */
  spark: {
    jobsDir: string;
    remoteJobsDir: string;
    packages: string[];
    historyRetentionDays: number;
    limits: {
      maxExecutorMemoryMb: number;
      maxDriverMemoryMb: number;
      maxExecutors: number;
      maxExecutorCores: number;
      maxConcurrentBatches: number;
      maxConcurrentBatchesPerJob: number;
    };
  };
  airflow: { url: string; username: string; password: string; timeoutMs: number; waitMaxSeconds: number };
  /** minIntervalSeconds: the shortest gap between two fires of a schedule of a Spark job; max: the most schedules there may be. */
  schedules: { syncSeconds: number; minIntervalSeconds: number; max: number };
  /**
   * keysSyncSeconds: how often each process re-reads the keys table; keysStaleMaxSeconds: how long its
   * last read still counts while Cassandra does not answer; auditRetentionDays: the audit events' TTL;
   * rateLimitSyncMs: how often each process shares its rate-limit counts with the others.
   */
  access: { keysSyncSeconds: number; keysStaleMaxSeconds: number; auditRetentionDays: number; rateLimitSyncMs: number };
  streaming: {
    autostart: boolean;
    checkpointDir: string;
    kafkaBootstrap: string[];
    cassandraHosts: string[];
    superviseSeconds: number;
    heartbeatStaleSeconds: number;
    maxBackoffSeconds: number;
    startTimeoutSeconds: number;
    stopTimeoutSeconds: number;
    stuckSeconds: number;
  };
  secret: SecretLookup;
}

export const APP_CONFIG = Symbol('APP_CONFIG');

const list = (value: string) =>
  value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);

function replication(spec: string): Record<string, string | number> {
  const [strategy, ...parts] = spec.split(':');
  if (strategy === 'SimpleStrategy') return { class: strategy, replication_factor: Number(parts[0]) };
  const out: Record<string, string | number> = { class: strategy };
  for (const part of parts) {
    const [dc, rf] = part.split('=');
    out[dc] = Number(rf);
  }
  return out;
}

/**
 * The typed settings from the validated variables; `environment` is the raw environment the
 * variables came from, which catalogs may refer to for their secrets (see SecretLookup).
 */
export function toAppConfig(env: EnvironmentVariables, environment: Readonly<Record<string, string | undefined>> = {}): AppConfig {
  const snapshot: Readonly<Record<string, string | undefined>> = Object.freeze({ ...environment });
  const pageTokenSecret = env.PAGE_TOKEN_SECRET;
  return {
    env: env.NODE_ENV as AppConfig['env'],
    http: {
      host: env.HOST,
      port: env.PORT,
      apiKeys: list(env.API_KEYS),
      shutdownGraceMs: env.SHUTDOWN_GRACE_MS,
      workers: env.API_WORKERS,
      headersTimeoutMs: env.HTTP_HEADERS_TIMEOUT_MS,
      requestTimeoutMs: env.HTTP_REQUEST_TIMEOUT_MS,
      keepAliveTimeoutMs: env.HTTP_KEEPALIVE_TIMEOUT_MS,
      maxConnections: env.HTTP_MAX_CONNECTIONS,
    },
    log: { level: env.LOG_LEVEL },
    metrics: { public: env.METRICS_PUBLIC },
    console: { dir: env.CONSOLE_DIR.trim() ? resolve(env.CONSOLE_DIR) : undefined },
    ingest: {
      sourcesFile: env.SOURCES_FILE,
      maxBodyBytes: env.INGEST_MAX_BODY_BYTES,
      maxEvents: env.INGEST_MAX_EVENTS,
      maxDepth: env.INGEST_MAX_DEPTH,
      idempotencyTtlSeconds: env.IDEMPOTENCY_TTL_SECONDS,
      maxBytesInFlight: env.INGEST_MAX_BYTES_IN_FLIGHT,
      admissionWaitMs: env.INGEST_ADMISSION_WAIT_MS,
    },
    sources: { syncSeconds: env.SOURCES_SYNC_SECONDS },
    kafka: {
      brokers: list(env.KAFKA_BROKERS),
      clientId: env.KAFKA_CLIENT_ID,
      ssl: env.KAFKA_SSL,
      sasl: env.KAFKA_SASL_MECHANISM
        ? { mechanism: env.KAFKA_SASL_MECHANISM, username: env.KAFKA_SASL_USERNAME!, password: env.KAFKA_SASL_PASSWORD! }
        : undefined,
      publishTimeoutMs: env.KAFKA_PUBLISH_TIMEOUT_MS,
      createTopics: env.KAFKA_CREATE_TOPICS,
      topicPartitions: env.KAFKA_TOPIC_PARTITIONS,
      topicReplicationFactor: env.KAFKA_TOPIC_REPLICATION_FACTOR,
    },
    cassandra: {
      contactPoints: list(env.CASSANDRA_CONTACT_POINTS),
      localDataCenter: env.CASSANDRA_LOCAL_DC,
      keyspace: env.CASSANDRA_KEYSPACE,
      replication: replication(env.CASSANDRA_REPLICATION),
      credentials: env.CASSANDRA_USERNAME && env.CASSANDRA_PASSWORD ? { username: env.CASSANDRA_USERNAME, password: env.CASSANDRA_PASSWORD } : undefined,
      requestTimeoutMs: env.CASSANDRA_REQUEST_TIMEOUT_MS,
    },
    records: { maxRangeDays: env.RECORDS_MAX_RANGE_DAYS, pageTokenSecret: () => pageTokenSecret },
    pipeline: { lagSeconds: env.PIPELINE_LAG_SECONDS, stallSeconds: env.PIPELINE_STALL_SECONDS },
    livy: {
      url: env.LIVY_URL.replace(/\/+$/, ''),
      credentials: env.LIVY_USERNAME && env.LIVY_PASSWORD ? { username: env.LIVY_USERNAME, password: env.LIVY_PASSWORD } : undefined,
      timeoutMs: env.LIVY_TIMEOUT_MS,
    },
    spark: {
      jobsDir: resolve(env.SPARK_JOBS_DIR),
      // Where Livy finds the same files; the local directory when Livy runs on this machine.
      remoteJobsDir: (env.SPARK_JOBS_REMOTE_DIR || resolve(env.SPARK_JOBS_DIR)).replace(/\/+$/, ''),
      packages: list(env.SPARK_PACKAGES),
      historyRetentionDays: env.BATCH_HISTORY_RETENTION_DAYS,
      limits: {
        maxExecutorMemoryMb: env.SPARK_MAX_EXECUTOR_MEMORY_MB,
        maxDriverMemoryMb: env.SPARK_MAX_DRIVER_MEMORY_MB,
        maxExecutors: env.SPARK_MAX_EXECUTORS,
        maxExecutorCores: env.SPARK_MAX_EXECUTOR_CORES,
        maxConcurrentBatches: env.SPARK_MAX_CONCURRENT_BATCHES,
        maxConcurrentBatchesPerJob: env.SPARK_MAX_CONCURRENT_BATCHES_PER_JOB,
      },
    },
    airflow: {
      url: env.AIRFLOW_URL.replace(/\/+$/, ''),
      username: env.AIRFLOW_USERNAME,
      password: env.AIRFLOW_PASSWORD,
      timeoutMs: env.AIRFLOW_TIMEOUT_MS,
      waitMaxSeconds: env.AIRFLOW_WAIT_MAX_SECONDS,
    },
    schedules: { syncSeconds: env.SCHEDULES_SYNC_SECONDS, minIntervalSeconds: env.SCHEDULES_MIN_INTERVAL_SECONDS, max: env.SCHEDULES_MAX },
    access: {
      keysSyncSeconds: env.KEYS_SYNC_SECONDS,
      keysStaleMaxSeconds: env.KEYS_STALE_MAX_SECONDS,
      auditRetentionDays: env.AUDIT_RETENTION_DAYS,
      rateLimitSyncMs: env.RATE_LIMIT_SYNC_MS,
    },
    streaming: {
      autostart: env.STREAMING_AUTOSTART,
      checkpointDir: /^[a-z][a-z0-9+.-]*:\/\//i.test(env.STREAMING_CHECKPOINT_DIR) ? env.STREAMING_CHECKPOINT_DIR : resolve(env.STREAMING_CHECKPOINT_DIR),
      kafkaBootstrap: list(env.STREAMING_KAFKA_BOOTSTRAP ?? env.KAFKA_BROKERS),
      cassandraHosts: list(env.STREAMING_CASSANDRA_HOSTS ?? env.CASSANDRA_CONTACT_POINTS),
      superviseSeconds: env.STREAMING_SUPERVISE_SECONDS,
      heartbeatStaleSeconds: env.STREAMING_HEARTBEAT_STALE_SECONDS,
      maxBackoffSeconds: env.STREAMING_MAX_BACKOFF_SECONDS,
      startTimeoutSeconds: env.STREAMING_START_TIMEOUT_SECONDS,
      stopTimeoutSeconds: env.STREAMING_STOP_TIMEOUT_SECONDS,
      stuckSeconds: env.STREAMING_STUCK_SECONDS,
    },
    secret: (variable) => (Object.prototype.hasOwnProperty.call(snapshot, variable) ? snapshot[variable] : undefined),
  };
}
