import { Injectable } from '@nestjs/common';
import { types } from 'cassandra-driver';
import { CassandraClient } from './cassandra.client';

/** What the control plane remembers of a Spark batch it submitted. */
export interface BatchRecord {
  id: number;
  job: string;
  name?: string;
  state?: string;
  appId?: string;
  args: string[];
  submittedAt: Date;
  finishedAt?: Date;
}

/**
 * The history of batches submitted through the control plane (table spark_batches). Livy keeps
 * neither submission times nor killed batches, so both are recorded here. Keyed by Livy's batch id:
 * a restarted Livy reuses ids, and a new submission overwrites the stale record.
 */
@Injectable()
export class BatchHistoryRepository {
  private readonly table: string;

  constructor(private readonly cassandra: CassandraClient) {
    this.table = `${cassandra.keyspace}.spark_batches`;
  }

  async record(batch: BatchRecord): Promise<void> {
    await this.cassandra.execute(
      `INSERT INTO ${this.table} (id, job, name, state, app_id, args, submitted_at, finished_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
      [batch.id, batch.job, batch.name ?? null, batch.state ?? null, batch.appId ?? null, JSON.stringify(batch.args), batch.submittedAt, batch.finishedAt ?? null],
    );
  }

  /** Records a terminal state once: the first observed finish time is kept. */
  async finish(id: number, state: string, at: Date): Promise<void> {
    await this.cassandra.execute(`UPDATE ${this.table} SET state = ?, finished_at = ? WHERE id = ? IF finished_at = null`, [state, at, id]);
  }

  async get(id: number): Promise<BatchRecord | undefined> {
    const { rows } = await this.cassandra.execute(`SELECT * FROM ${this.table} WHERE id = ?`, [id]);
    return rows[0] ? toRecord(rows[0]) : undefined;
  }

  async list(): Promise<BatchRecord[]> {
    const { rows } = await this.cassandra.execute(`SELECT * FROM ${this.table}`, [], { fetchSize: 5000 });
    return rows.map(toRecord);
  }
}

function toRecord(r: types.Row): BatchRecord {
  return {
    id: r.id,
    job: r.job,
    name: r.name ?? undefined,
    state: r.state ?? undefined,
    appId: r.app_id ?? undefined,
    args: r.args ? (JSON.parse(r.args) as string[]) : [],
    submittedAt: r.submitted_at,
    finishedAt: r.finished_at ?? undefined,
  };
}
