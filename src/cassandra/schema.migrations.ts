import { copyLegacyEvents } from './legacy-events.copy';
import { MigrationContext } from './migration.context';

/**
 * The keyspace's schema, as an ordered list of idempotent steps. A step, once released, never
 * changes: new columns or tables are new steps, so every deployment converges to the same schema.
 * A step may move data after its statements (`run`): it must be idempotent too, since a step that
 * stopped half way (a crash, a restart) runs again from the start; the step counts as applied only
 * once it returned.
 */
export interface Migration {
  version: number;
  description: string;
  statements: string[];
  run?: (ctx: MigrationContext) => Promise<void>;
}

export const MIGRATIONS: Migration[] = [
  {
    version: 1,
    description: 'events, per-minute counts and the demo users table',
    statements: [
      `CREATE TABLE IF NOT EXISTS events_by_source (
         source text, day date, received_at timestamp, event_id uuid,
         key text, payload text, processed_at timestamp,
         PRIMARY KEY ((source, day), received_at, event_id)
       ) WITH CLUSTERING ORDER BY (received_at DESC, event_id ASC)`,
      `CREATE TABLE IF NOT EXISTS event_counts_by_minute (
         source text, day date, minute timestamp, count bigint,
         PRIMARY KEY ((source, day), minute)
       ) WITH CLUSTERING ORDER BY (minute ASC)`,
      `CREATE TABLE IF NOT EXISTS created_users (
         id uuid PRIMARY KEY,
         first_name text, last_name text, gender text, address text, post_code text,
         email text, username text, dob text, registered_date text, phone text, picture text,
         received_at timestamp
       )`,
    ],
  },
  {
    version: 2,
    description: 'control-plane state: schedules, their runs, and leases',
    statements: [
      `CREATE TABLE IF NOT EXISTS schedules (
         id uuid PRIMARY KEY, name text, cron text, timezone text, enabled boolean,
         target_kind text, target_name text, target_params text,
         created_at timestamp, updated_at timestamp
       )`,
      `CREATE TABLE IF NOT EXISTS schedule_runs (
         schedule_id uuid, fire_time timestamp, status text, run_ref text, error text, finished_at timestamp,
         PRIMARY KEY ((schedule_id), fire_time)
       ) WITH CLUSTERING ORDER BY (fire_time DESC)`,
      `CREATE TABLE IF NOT EXISTS leases (
         name text PRIMARY KEY, holder text, acquired_at timestamp
       )`,
    ],
  },
  {
    version: 3,
    description: 'Spark batches submitted through the control plane (Livy keeps no times and forgets killed batches)',
    statements: [
      `CREATE TABLE IF NOT EXISTS spark_batches (
         id int PRIMARY KEY, job text, name text, state text, app_id text,
         args text, submitted_at timestamp, finished_at timestamp
       )`,
    ],
  },
  {
    version: 4,
    description: 'which replica fired a schedule run',
    statements: ['ALTER TABLE schedule_runs ADD IF NOT EXISTS holder text'],
  },
  {
    version: 5,
    description: "batches keyed by the control plane's own id; the streaming job's desired state, control and heartbeat",
    statements: [
      `CREATE TABLE IF NOT EXISTS batches (
         id text PRIMARY KEY, livy_id int, job text, name text, state text, app_id text,
         args text, submitted_at timestamp, finished_at timestamp
       )`,
      `CREATE TABLE IF NOT EXISTS stream_control (
         stream text PRIMARY KEY, desired text, desired_at timestamp, desired_by text, args text,
         batch_id text, started_at timestamp, stop_run text, stop_reason text,
         restarts int, last_restart_at timestamp, last_restart_reason text,
         failures int, last_error text, next_attempt_at timestamp
       )`,
      `CREATE TABLE IF NOT EXISTS stream_heartbeats (
         stream text PRIMARY KEY, run_id text, batch_id text, app_id text, host text, pid int,
         started_at timestamp, seen_at timestamp, last_batch_at timestamp, epoch bigint,
         rows_read bigint, rows_written bigint, dropped bigint, duration_ms bigint, lag_ms bigint,
         offsets text, topics text, state text, last_error text
       )`,
    ],
  },
  {
    version: 6,
    description: 'idempotency keys: per source and key, the claim of the request that publishes, and its answer',
    statements: [
      `CREATE TABLE IF NOT EXISTS idempotency_keys (
         source text, key text, body_hash text, state text, owner text, created_at timestamp,
         PRIMARY KEY ((source, key))
       )`,
      `CREATE TABLE IF NOT EXISTS idempotency_answers (
         source text, key text, owner text, response text,
         PRIMARY KEY ((source, key))
       )`,
    ],
  },
  {
    version: 7,
    description: 'dead letters: quarantined events and records the streaming job could not read, and their replay',
    statements: [
      `CREATE TABLE IF NOT EXISTS dead_letters (
         source text, failed_at timestamp, id text,
         topic text, partition int, offset bigint,
         reason text, reasons text, schema_hash text, payload text, raw text,
         event_id text, received_at timestamp,
         replayed_at timestamp, replayed_event_id text,
         PRIMARY KEY ((source), failed_at, id)
       ) WITH CLUSTERING ORDER BY (failed_at DESC, id ASC)`,
    ],
  },
  {
    version: 8,
    description: 'events partitioned by (source, time bucket), the index of non-empty buckets per day, and the legacy events copied in',
    statements: [
      `CREATE TABLE IF NOT EXISTS events_by_bucket (
         source text, bucket timestamp, received_at timestamp, event_id uuid,
         key text, payload text, processed_at timestamp,
         PRIMARY KEY ((source, bucket), received_at, event_id)
       ) WITH CLUSTERING ORDER BY (received_at DESC, event_id ASC)`,
      `CREATE TABLE IF NOT EXISTS event_buckets (
         source text, day date, bucket timestamp, bucket_seconds int,
         PRIMARY KEY ((source, day), bucket)
       ) WITH CLUSTERING ORDER BY (bucket DESC)`,
      // The bucket sizes a running copy of the stream writes with: the supervisor restarts one whose sizes differ.
      'ALTER TABLE stream_heartbeats ADD IF NOT EXISTS buckets text',
    ],
    run: copyLegacyEvents,
  },
  {
    version: 9,
    description: 'the Spark conf each batch was submitted with',
    statements: ['ALTER TABLE batches ADD IF NOT EXISTS conf text'],
  },
  {
    version: 10,
    description: 'scoped API keys (hashes of their secrets only) and the audit trail, one partition per UTC day, newest first',
    statements: [
      `CREATE TABLE IF NOT EXISTS api_keys (
         id text PRIMARY KEY, name text, scopes list<text>, hash text,
         previous_hash text, previous_until timestamp,
         created_at timestamp, expires_at timestamp, rotated_at timestamp, revoked_at timestamp, last_used_at timestamp
       )`,
      `CREATE TABLE IF NOT EXISTS audit_events (
         day text, at timestamp, id text,
         actor text, actor_name text, action text, target text, request_id text, outcome int, changes text,
         PRIMARY KEY ((day), at, id)
       ) WITH CLUSTERING ORDER BY (at DESC, id ASC)`,
    ],
  },
  {
    version: 11,
    description: "sources as resources: the registry, every version of each source's schema, the seed's claim, and each event's schema version",
    statements: [
      // definition: the source's settings as a sources.yaml entry (JSON), secrets as ${NAME} references only;
      // schema_json, because `schema` is a reserved word of CQL.
      `CREATE TABLE IF NOT EXISTS sources (
         name text PRIMARY KEY, version int, definition text, schema_version int,
         archived_at timestamp, created_at timestamp, updated_at timestamp
       )`,
      `CREATE TABLE IF NOT EXISTS source_schemas (
         source text, version int, schema_json text, schema_hash text, compatibility text, created_at timestamp,
         PRIMARY KEY ((source), version)
       ) WITH CLUSTERING ORDER BY (version DESC)`,
      `CREATE TABLE IF NOT EXISTS source_registry_seed (
         registry text PRIMARY KEY, holder text, claimed_at timestamp, done_at timestamp
       )`,
      'ALTER TABLE events_by_bucket ADD IF NOT EXISTS schema_version int',
    ],
  },
  {
    version: 12,
    description: "rate limits: a key's limit, and each API process's recent demand per limited key or source, to share each limit out",
    statements: [
      // rate_limit: the key's limit as JSON ({requestsPerSecond, eventsPerSecond, burst}); a source's is in its definition.
      'ALTER TABLE api_keys ADD IF NOT EXISTS rate_limit text',
      // Rows are written with a TTL of a few sync intervals: nothing here outlives the processes' interest in it.
      `CREATE TABLE IF NOT EXISTS rate_limit_usage (
         subject text, slot bigint, process text, asked double, accepted double,
         PRIMARY KEY ((subject), slot, process)
       ) WITH CLUSTERING ORDER BY (slot DESC, process ASC) AND default_time_to_live = 60`,
    ],
  },
  {
    version: 13,
    description: "the stream's micro-batches as the job records them, one partition per UTC day, newest first, kept 7 days",
    statements: [
      // Written by the streaming job after each micro-batch (contracts/micro-batch-rows.json), so the
      // history outlives Livy's log. A partition per day bounds it (a batch a second is ~86,000 rows,
      // ~15 MB) and a whole day expires at once, which time-window compaction drops as whole files.
      `CREATE TABLE IF NOT EXISTS stream_micro_batches (
         stream text, day date, ended_at timestamp, epoch bigint,
         batch_id text, run_id text, rows_read bigint, rows_written bigint, unreadable bigint, quarantined bigint,
         minutes bigint, users bigint, duration_ms bigint, lag_ms bigint,
         PRIMARY KEY ((stream, day), ended_at, epoch)
       ) WITH CLUSTERING ORDER BY (ended_at DESC, epoch DESC) AND default_time_to_live = 604800
         AND compaction = {'class': 'TimeWindowCompactionStrategy', 'compaction_window_unit': 'DAYS', 'compaction_window_size': 1}`,
    ],
  },
  {
    version: 14,
    description: 'rate_limit_usage: expired rows are purged at the next compaction after 5 minutes, not after the default 10 days',
    statements: [
      // Every row has a TTL of seconds; the table's reads are bounded to live slots too (RateLimitUsageRepository.read).
      'ALTER TABLE rate_limit_usage WITH gc_grace_seconds = 300',
    ],
  },
  {
    version: 15,
    description: 'streaming views: their definitions, the state the streaming job reports for each, and their results per (window, group)',
    statements: [
      // Created and deleted over the API (POST/DELETE /views); the streaming job reads the table every few
      // seconds and runs one query per row. A view re-created under the same name gets a new id: its
      // state and results start afresh, and the old ones are never read again.
      `CREATE TABLE IF NOT EXISTS views (
         name text PRIMARY KEY, id uuid, source text, definition text, created_at timestamp, created_by text
       )`,
      // One row per view id, written by the streaming job only (contracts/views.json): its state, the error
      // that failed it, its events dropped as later than its lateness, and how far it has read its topic.
      `CREATE TABLE IF NOT EXISTS view_status (
         view_id uuid PRIMARY KEY, state text, error text, late_events bigint, last_epoch bigint,
         offsets_read bigint, offsets_available bigint, watermark timestamp, run_id text, updated_at timestamp
       )`,
      // A full value per (window, group), upserted by the job after every micro-batch that changed it: a
      // replayed batch writes the same values again. A window divides a day, so it lies in one day's partition.
      `CREATE TABLE IF NOT EXISTS view_results (
         view_id uuid, day date, window_start timestamp, group_key text,
         window_end timestamp, group_json text, values_json text, updated_at timestamp,
         PRIMARY KEY ((view_id, day), window_start, group_key)
       ) WITH CLUSTERING ORDER BY (window_start DESC, group_key ASC)`,
    ],
  },
  {
    version: 16,
    description: 'events keep their Kafka record headers and the trace id of their traceparent',
    statements: [
      // Written by the streaming job with each event (one cell each: frozen), read by GET /records.
      'ALTER TABLE events_by_bucket ADD IF NOT EXISTS trace_id text',
      'ALTER TABLE events_by_bucket ADD IF NOT EXISTS headers frozen<map<text, text>>',
    ],
  },
];
