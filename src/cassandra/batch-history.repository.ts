import { Inject, Injectable } from '@nestjs/common';
import { types } from 'cassandra-driver';
import { APP_CONFIG, AppConfig } from '../common/config/app-config';
import { CassandraClient } from './cassandra.client';

/** What the control plane remembers of a Spark batch it submitted. */
export interface BatchRecord {
  /** The control plane's own id (UUID v7); Livy's ids restart at 0 when Livy restarts. */
  id: string;
  /** Livy's id of the batch, valid only while Livy still knows a batch of this name. */
  livyId: number;
  job: string;
  name?: string;
  state?: string;
  appId?: string;
  args: string[];
  /** The Spark conf it was submitted with (the caller's allowed settings and the control plane's); absent for batches recorded before. */
  conf?: Record<string, string>;
  submittedAt: Date;
  finishedAt?: Date;
}

const COLUMNS = 'id, livy_id, job, name, state, app_id, args, conf, submitted_at, finished_at';
const SET_ALL = 'livy_id = ?, job = ?, name = ?, state = ?, app_id = ?, args = ?, conf = ?, submitted_at = ?, finished_at = ?';

/**
 * The history of batches submitted through the control plane (table batches). Livy keeps neither
 * submission times nor killed batches, and forgets everything when it restarts, so both are
 * recorded here, keyed by the control plane's own id; Livy's id is an attribute.
 *
 * A batch is kept while it runs and for BATCH_HISTORY_RETENTION_DAYS after it finished, so the table
 * cannot grow without bound. Rows are written with UPDATE, never INSERT: an UPDATE leaves no row
 * marker, so once the finish rewrote every cell with the TTL, the whole row expires together.
 */
@Injectable()
export class BatchHistoryRepository {
  private readonly table: string;
  private readonly ttlSeconds: number;

  constructor(
    private readonly cassandra: CassandraClient,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    this.table = `${cassandra.keyspace}.batches`;
    this.ttlSeconds = config.spark.historyRetentionDays * 86_400;
  }

  async record(batch: BatchRecord): Promise<void> {
    await this.cassandra.execute(`UPDATE ${this.table} SET ${SET_ALL} WHERE id = ?`, values(batch));
  }

  /**
   * Records a terminal state once, in one lightweight transaction: the first observed finish wins,
   * and it rewrites every cell of the row with the retention TTL.
   */
  async finish(batch: BatchRecord, state: string, at: Date): Promise<void> {
    await this.cassandra.execute(`UPDATE ${this.table} USING TTL ? SET ${SET_ALL} WHERE id = ? IF finished_at = null`, [
      this.ttlSeconds,
      ...values({ ...batch, state, finishedAt: at }),
    ]);
  }

  async get(id: string): Promise<BatchRecord | undefined> {
    const { rows } = await this.cassandra.execute(`SELECT ${COLUMNS} FROM ${this.table} WHERE id = ?`, [id]);
    return rows[0] ? toRecord(rows[0]) : undefined;
  }

  /** Every batch still in the history (a full scan, bounded by the retention). */
  async list(): Promise<BatchRecord[]> {
    return (await this.cassandra.executeAll(`SELECT ${COLUMNS} FROM ${this.table}`, [])).map(toRecord);
  }
}

/** The SET_ALL values followed by the key. */
function values(b: BatchRecord): unknown[] {
  return [
    b.livyId,
    b.job,
    b.name ?? null,
    b.state ?? null,
    b.appId ?? null,
    JSON.stringify(b.args),
    b.conf ? JSON.stringify(b.conf) : null,
    b.submittedAt,
    b.finishedAt ?? null,
    b.id,
  ];
}

function toRecord(r: types.Row): BatchRecord {
  return {
    id: r.id,
    livyId: r.livy_id,
    job: r.job,
    name: r.name ?? undefined,
    state: r.state ?? undefined,
    appId: r.app_id ?? undefined,
    args: r.args ? (JSON.parse(r.args) as string[]) : [],
    conf: r.conf ? (JSON.parse(r.conf) as Record<string, string>) : undefined,
    submittedAt: r.submitted_at,
    finishedAt: r.finished_at ?? undefined,
  };
}
