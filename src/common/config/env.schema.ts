import { plainToInstance, Transform } from 'class-transformer';
import { IsBoolean, IsIn, IsInt, IsNotEmpty, IsOptional, IsString, Matches, Max, Min, validateSync } from 'class-validator';
import { DEV_PAGE_TOKEN_SECRET, MIN_SECRET_BYTES, productionSecretProblem } from './dev-secrets';

const toInt = ({ value }: { value: unknown }) => (typeof value === 'string' && /^-?\d+$/.test(value.trim()) ? Number(value) : value);
const toBool = ({ value }: { value: unknown }) => {
  if (typeof value !== 'string') return value;
  const v = value.trim().toLowerCase();
  if (['true', '1', 'yes', 'on'].includes(v)) return true;
  if (['false', '0', 'no', 'off'].includes(v)) return false;
  return value;
};
const HOST_PORT_LIST = /^[^\s,:]+:\d{1,5}(,[^\s,:]+:\d{1,5})*$/;

/**
 * Every environment variable the control plane reads, with its default.
 * The configuration table of docs/operations.md mirrors this class; keep them in step.
 */
export class EnvironmentVariables {
  @IsOptional()
  @IsIn(['development', 'production', 'test'])
  NODE_ENV = 'development';

  @IsOptional()
  @IsString()
  @IsNotEmpty()
  HOST = '127.0.0.1';

  @IsOptional()
  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(65535)
  PORT = 3000;

  @IsString()
  @Matches(/^[^,\s]{16,}(,[^,\s]{16,})*$/, {
    message: 'must be a comma-separated list of API keys, each at least 16 characters without spaces',
  })
  API_KEYS: string;

  /** Signs page tokens (GET /records, GET /dead-letters); required in production, a published value otherwise. */
  @IsOptional()
  @IsString()
  @IsNotEmpty()
  PAGE_TOKEN_SECRET = DEV_PAGE_TOKEN_SECRET;

  @IsOptional()
  @IsIn(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
  LOG_LEVEL = 'info';

  @IsOptional()
  @Transform(toInt)
  @IsInt()
  @Min(0)
  @Max(600000)
  SHUTDOWN_GRACE_MS = 10000;

  @IsOptional()
  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(64)
  API_WORKERS = 1;

  @IsOptional()
  @Transform(toInt)
  @IsInt()
  @Min(1000)
  @Max(600000)
  HTTP_HEADERS_TIMEOUT_MS = 10000;

  @IsOptional()
  @Transform(toInt)
  @IsInt()
  @Min(1000)
  @Max(3600000)
  HTTP_REQUEST_TIMEOUT_MS = 30000;

  @IsOptional()
  @Transform(toInt)
  @IsInt()
  @Min(100)
  @Max(600000)
  HTTP_KEEPALIVE_TIMEOUT_MS = 5000;

  @IsOptional()
  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(1000000)
  HTTP_MAX_CONNECTIONS = 1024;

  @IsOptional()
  @Transform(toBool)
  @IsBoolean()
  METRICS_PUBLIC = false;

  /** The web console's built files (npm run build:web), served at /; empty to serve no console. */
  @IsOptional()
  @IsString()
  CONSOLE_DIR = 'dist/web';

  @IsOptional()
  @IsString()
  @IsNotEmpty()
  SOURCES_FILE = 'config/sources.yaml';

  @IsOptional()
  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(300)
  SOURCES_SYNC_SECONDS = 2;

  @IsOptional()
  @Transform(toInt)
  @IsInt()
  @Min(1024)
  @Max(104857600)
  INGEST_MAX_BODY_BYTES = 1048576;

  @IsOptional()
  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(100000)
  INGEST_MAX_EVENTS = 10000;

  @IsOptional()
  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(1000)
  INGEST_MAX_DEPTH = 64;

  /**
   * The bytes of ingest bodies one API process holds at once, from before a body is read until its
   * answer (each parsed event lives until Kafka acknowledged it, at many times its size in memory).
   */
  @IsOptional()
  @Transform(toInt)
  @IsInt()
  @Min(1024)
  @Max(4294967296)
  INGEST_MAX_BYTES_IN_FLIGHT = 2097152;

  /** How long a request that does not fit in INGEST_MAX_BYTES_IN_FLIGHT waits for room, its body unread, before its 503. */
  @IsOptional()
  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(60000)
  INGEST_ADMISSION_WAIT_MS = 2000;

  @IsOptional()
  @Transform(toInt)
  @IsInt()
  @Min(60)
  @Max(2592000)
  IDEMPOTENCY_TTL_SECONDS = 86400;

  @IsOptional()
  @Matches(HOST_PORT_LIST, { message: 'must be a comma-separated list of host:port' })
  KAFKA_BROKERS = '127.0.0.1:9092';

  @IsOptional()
  @IsString()
  @IsNotEmpty()
  KAFKA_CLIENT_ID = 'pipeline-control-plane';

  @IsOptional()
  @Transform(toBool)
  @IsBoolean()
  KAFKA_SSL = false;

  @IsOptional()
  @IsIn(['plain', 'scram-sha-256', 'scram-sha-512'])
  KAFKA_SASL_MECHANISM?: 'plain' | 'scram-sha-256' | 'scram-sha-512';

  @IsOptional()
  @IsString()
  KAFKA_SASL_USERNAME?: string;

  @IsOptional()
  @IsString()
  KAFKA_SASL_PASSWORD?: string;

  @IsOptional()
  @Transform(toInt)
  @IsInt()
  @Min(100)
  @Max(120000)
  KAFKA_PUBLISH_TIMEOUT_MS = 5000;

  @IsOptional()
  @Transform(toBool)
  @IsBoolean()
  KAFKA_CREATE_TOPICS = true;

  @IsOptional()
  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(1000)
  KAFKA_TOPIC_PARTITIONS = 3;

  @IsOptional()
  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(10)
  KAFKA_TOPIC_REPLICATION_FACTOR = 1;

  @IsOptional()
  @Matches(HOST_PORT_LIST, { message: 'must be a comma-separated list of host:port' })
  CASSANDRA_CONTACT_POINTS = '127.0.0.1:9042';

  @IsOptional()
  @IsString()
  @IsNotEmpty()
  CASSANDRA_LOCAL_DC = 'datacenter1';

  @IsOptional()
  @Matches(/^[a-z][a-z0-9_]{0,47}$/, { message: 'must be a lower-case CQL identifier (letters, digits, _)' })
  CASSANDRA_KEYSPACE = 'pipeline';

  @IsOptional()
  @Matches(/^(SimpleStrategy:\d+|NetworkTopologyStrategy(:[\w-]+=\d+)+)$/, {
    message: "must be 'SimpleStrategy:<rf>' or 'NetworkTopologyStrategy:<dc>=<rf>[:<dc>=<rf>...]'",
  })
  CASSANDRA_REPLICATION = 'SimpleStrategy:1';

  @IsOptional()
  @IsString()
  CASSANDRA_USERNAME?: string;

  @IsOptional()
  @IsString()
  CASSANDRA_PASSWORD?: string;

  @IsOptional()
  @Transform(toInt)
  @IsInt()
  @Min(100)
  @Max(120000)
  CASSANDRA_REQUEST_TIMEOUT_MS = 5000;

  @IsOptional()
  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(3660)
  RECORDS_MAX_RANGE_DAYS = 31;

  @IsOptional()
  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(86400)
  PIPELINE_LAG_SECONDS = 10;

  @IsOptional()
  @Transform(toInt)
  @IsInt()
  @Min(5)
  @Max(86400)
  PIPELINE_STALL_SECONDS = 30;

  @IsOptional()
  @Matches(/^https?:\/\/[^\s]+$/, { message: 'must be an http(s) URL, e.g. http://127.0.0.1:8998' })
  LIVY_URL = 'http://127.0.0.1:8998';

  @IsOptional()
  @IsString()
  LIVY_USERNAME?: string;

  @IsOptional()
  @IsString()
  LIVY_PASSWORD?: string;

  @IsOptional()
  @Transform(toInt)
  @IsInt()
  @Min(100)
  @Max(120000)
  LIVY_TIMEOUT_MS = 10000;

  @IsOptional()
  @IsString()
  @IsNotEmpty()
  SPARK_JOBS_DIR = 'spark-jobs';

  @IsOptional()
  @IsString()
  SPARK_JOBS_REMOTE_DIR?: string;

  @IsOptional()
  @Matches(/^([\w.-]+:[\w.-]+:[\w.-]+)?(,[\w.-]+:[\w.-]+:[\w.-]+)*$/, {
    message: 'must be a comma-separated list of Maven coordinates group:artifact:version (or empty)',
  })
  SPARK_PACKAGES = 'org.apache.spark:spark-sql-kafka-0-10_2.12:3.5.7,com.datastax.spark:spark-cassandra-connector_2.12:3.5.1';

  /** Ceilings on what a caller may ask of Spark through a job's conf; the stricter of these and the catalog's bounds applies. */
  @IsOptional()
  @Transform(toInt)
  @IsInt()
  @Min(64)
  @Max(1048576)
  SPARK_MAX_EXECUTOR_MEMORY_MB = 2048;

  @IsOptional()
  @Transform(toInt)
  @IsInt()
  @Min(64)
  @Max(1048576)
  SPARK_MAX_DRIVER_MEMORY_MB = 2048;

  @IsOptional()
  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(10000)
  SPARK_MAX_EXECUTORS = 4;

  @IsOptional()
  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(1024)
  SPARK_MAX_EXECUTOR_CORES = 2;

  /** Batches of batch jobs running or starting at once, in all and per job (the streaming job's copy is not counted). */
  @IsOptional()
  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(1000)
  SPARK_MAX_CONCURRENT_BATCHES = 4;

  @IsOptional()
  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(1000)
  SPARK_MAX_CONCURRENT_BATCHES_PER_JOB = 2;

  @IsOptional()
  @Transform(toBool)
  @IsBoolean()
  STREAMING_AUTOSTART = false;

  @IsOptional()
  @IsString()
  @IsNotEmpty()
  STREAMING_CHECKPOINT_DIR = '.stack/spark/checkpoints/events_stream';

  @IsOptional()
  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(300)
  STREAMING_SUPERVISE_SECONDS = 5;

  @IsOptional()
  @Transform(toInt)
  @IsInt()
  @Min(5)
  @Max(600)
  STREAMING_HEARTBEAT_STALE_SECONDS = 15;

  @IsOptional()
  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(3600)
  STREAMING_MAX_BACKOFF_SECONDS = 60;

  @IsOptional()
  @Transform(toInt)
  @IsInt()
  @Min(5)
  @Max(3600)
  STREAMING_START_TIMEOUT_SECONDS = 300;

  @IsOptional()
  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(600)
  STREAMING_STOP_TIMEOUT_SECONDS = 45;

  @IsOptional()
  @Transform(toInt)
  @IsInt()
  @Min(30)
  @Max(3600)
  STREAMING_STUCK_SECONDS = 150;

  @IsOptional()
  @Matches(HOST_PORT_LIST, { message: 'must be a comma-separated list of host:port' })
  STREAMING_KAFKA_BOOTSTRAP?: string;

  @IsOptional()
  @Matches(HOST_PORT_LIST, { message: 'must be a comma-separated list of host:port' })
  STREAMING_CASSANDRA_HOSTS?: string;

  @IsOptional()
  @Matches(/^https?:\/\/[^\s]+$/, { message: 'must be an http(s) URL, e.g. http://127.0.0.1:8080' })
  AIRFLOW_URL = 'http://127.0.0.1:8080';

  @IsOptional()
  @IsString()
  @IsNotEmpty()
  AIRFLOW_USERNAME = 'admin';

  @IsOptional()
  @IsString()
  @IsNotEmpty()
  AIRFLOW_PASSWORD = 'admin-local-password';

  @IsOptional()
  @Transform(toInt)
  @IsInt()
  @Min(100)
  @Max(120000)
  AIRFLOW_TIMEOUT_MS = 10000;

  @IsOptional()
  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(3600)
  AIRFLOW_WAIT_MAX_SECONDS = 600;

  @IsOptional()
  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(3600)
  SCHEDULES_SYNC_SECONDS = 10;

  /** The shortest time between two fires of a schedule whose target is a Spark job. */
  @IsOptional()
  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(86400)
  SCHEDULES_MIN_INTERVAL_SECONDS = 60;

  @IsOptional()
  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(100000)
  SCHEDULES_MAX = 100;

  @IsOptional()
  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(3650)
  BATCH_HISTORY_RETENTION_DAYS = 30;

  /** How often each API process re-reads the keys table: a revoked key stops working everywhere within this (plus a read). */
  @IsOptional()
  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(60)
  KEYS_SYNC_SECONDS = 2;

  /** How long a process keeps checking keys against its last read of the keys table while Cassandra does not answer; then only API_KEYS work. */
  @IsOptional()
  @Transform(toInt)
  @IsInt()
  @Min(5)
  @Max(86400)
  KEYS_STALE_MAX_SECONDS = 300;

  /** How long an audit event is kept (its row's TTL). */
  @IsOptional()
  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(3650)
  AUDIT_RETENTION_DAYS = 90;

  /** How often each API process publishes what it accepted per rate-limited key or source and re-reads the other processes' shares. */
  @IsOptional()
  @Transform(toInt)
  @IsInt()
  @Min(100)
  @Max(10000)
  RATE_LIMIT_SYNC_MS = 500;
}

/** Validates the raw environment once; throws one message naming every bad variable and what it allows. */
export function validateEnvironment(raw: Record<string, unknown>): EnvironmentVariables {
  const env = plainToInstance(EnvironmentVariables, raw, { exposeDefaultValues: true });
  const errors = validateSync(env, { skipMissingProperties: false, forbidUnknownValues: false });
  if (errors.length > 0) {
    const lines = errors.map((e) => {
      const shown = /PASSWORD|API_KEYS|SECRET/.test(e.property) ? '<hidden>' : JSON.stringify(e.value);
      const why = Object.values(e.constraints ?? {}).join('; ');
      return `  ${e.property}=${e.value === undefined ? '(unset)' : shown}: ${why}`;
    });
    throw new Error(`Invalid configuration:\n${lines.join('\n')}`);
  }
  if (env.KAFKA_SASL_MECHANISM && (!env.KAFKA_SASL_USERNAME || !env.KAFKA_SASL_PASSWORD)) {
    throw new Error('Invalid configuration:\n  KAFKA_SASL_MECHANISM is set: KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD are required too');
  }
  if (env.HTTP_HEADERS_TIMEOUT_MS > env.HTTP_REQUEST_TIMEOUT_MS) {
    throw new Error('Invalid configuration:\n  HTTP_HEADERS_TIMEOUT_MS must not be greater than HTTP_REQUEST_TIMEOUT_MS (the headers are part of the request)');
  }
  if (env.NODE_ENV === 'production') {
    const lines = productionSecretProblems(env, raw);
    if (lines.length > 0) throw new Error(`Refusing to start with NODE_ENV=production:\n${lines.map((line) => `  ${line}`).join('\n')}`);
  }
  return env;
}

/**
 * One line per variable whose secret anyone could know: a published development value, or too short
 * to resist guessing. Never the value, nor its length when it is a dev value.
 */
function productionSecretProblems(env: EnvironmentVariables, raw: Record<string, unknown>): string[] {
  const lines: string[] = [];
  const fix = `set a random value of at least ${MIN_SECRET_BYTES} bytes (e.g. openssl rand -base64 32)`;
  const keys = env.API_KEYS.split(',')
    .map((k) => k.trim())
    .filter(Boolean);
  const bad = keys.flatMap((key, i) => {
    const problem = productionSecretProblem(key);
    return problem ? [`key ${i + 1} of ${keys.length} ${problem}`] : [];
  });
  if (bad.length > 0) lines.push(`API_KEYS: ${bad.join('; ')}: ${fix} for each key`);
  if (raw.PAGE_TOKEN_SECRET === undefined || raw.PAGE_TOKEN_SECRET === '') {
    lines.push(`PAGE_TOKEN_SECRET is not set: it is required in production; ${fix}`);
  } else {
    const problem = productionSecretProblem(env.PAGE_TOKEN_SECRET);
    if (problem) lines.push(`PAGE_TOKEN_SECRET ${problem}: ${fix}`);
  }
  return lines;
}
