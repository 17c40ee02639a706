import { Inject, Injectable, ServiceUnavailableException } from '@nestjs/common';
import { HealthCheckResult, HealthCheckService, HealthIndicatorResult } from '@nestjs/terminus';
import { AIRFLOW_API, AirflowApi } from '../airflow/airflow.api';
import { CassandraClient } from '../cassandra/cassandra.client';
import { KafkaProducer } from '../kafka/kafka.producer';
import { LivyClient } from '../livy/livy.client';
import { DependencyIndicator } from './dependency.indicator';

/** How long one readiness check answers every caller: a public route must not fan out to four backends per request. */
export const READINESS_CACHE_MS = 1000;

/** The report, and whether every dependency is up (200) or not (503). */
export interface Readiness {
  ok: boolean;
  report: HealthCheckResult;
}

/**
 * Readiness, checked at most once per READINESS_CACHE_MS whatever the number of callers: callers
 * within that time after a check, and those arriving while one runs, share its result.
 */
@Injectable()
export class ReadinessService {
  private current?: { result: Promise<Readiness>; settledAt?: number };

  constructor(
    private readonly health: HealthCheckService,
    private readonly dependency: DependencyIndicator,
    private readonly kafka: KafkaProducer,
    private readonly cassandra: CassandraClient,
    private readonly livy: LivyClient,
    @Inject(AIRFLOW_API) private readonly airflow: AirflowApi,
  ) {}

  check(): Promise<Readiness> {
    const current = this.current;
    if (current && (current.settledAt === undefined || Date.now() - current.settledAt < READINESS_CACHE_MS)) return current.result;
    const entry: { result: Promise<Readiness>; settledAt?: number } = { result: this.run() };
    const settled = () => (entry.settledAt = Date.now());
    entry.result.then(settled, settled);
    this.current = entry;
    return entry.result;
  }

  /** One fan-out; never rejects: terminus raises the report of a failed check, which is a result too. */
  private async run(): Promise<Readiness> {
    try {
      return { ok: true, report: await this.health.check(this.checks()) };
    } catch (err) {
      if (err instanceof ServiceUnavailableException) return { ok: false, report: err.getResponse() as HealthCheckResult };
      throw err;
    }
  }

  private checks(): (() => Promise<HealthIndicatorResult>)[] {
    return [
      () => this.dependency.check('kafka', () => this.kafka.ping()),
      () => this.dependency.check('cassandra', () => this.cassandra.ping()),
      () => this.dependency.check('livy', () => this.livy.ping()),
      () => this.dependency.check('airflow', () => this.airflow.ping()),
    ];
  }
}

/** The report without what a caller without a key may not learn (versions, addresses, latencies, messages): up or down per dependency. */
export function publicReport(report: HealthCheckResult): HealthCheckResult {
  const statuses = (part: Partial<HealthIndicatorResult> | undefined): HealthIndicatorResult | undefined =>
    part === undefined ? undefined : Object.fromEntries(Object.entries(part).flatMap(([name, entry]) => (entry ? [[name, { status: entry.status }]] : [])));
  return { status: report.status, info: statuses(report.info), error: statuses(report.error), details: statuses(report.details)! };
}
