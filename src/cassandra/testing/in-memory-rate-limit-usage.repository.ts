import { RateLimitUsageRepository, UsageReport } from '../rate-limit-usage.repository';
import { UpstreamUnavailableError } from '../../common/errors/errors';

/**
 * Unit-test stand-in for the rate_limit_usage table, shared by every limiter (process) given it: a
 * row expires `ttlSeconds` after it was written (by Date.now(), so jest's fake clock moves it), and a
 * read answers each process's newest row. `down = true` fails every call as the adapter does when no
 * Cassandra host answers.
 */
export class InMemoryRateLimitUsageRepository implements Pick<RateLimitUsageRepository, 'report' | 'read'> {
  readonly rows = new Map<string, { report: UsageReport; expiresAt: number }>();
  down = false;

  report = jest.fn(async (r: UsageReport, ttlSeconds: number): Promise<void> => {
    this.reachable();
    this.rows.set(`${r.subject}|${r.slot}|${r.process}`, { report: { ...r }, expiresAt: Date.now() + ttlSeconds * 1000 });
  });

  read = jest.fn(async (subject: string, since: number): Promise<UsageReport[]> => {
    this.reachable();
    const newest = new Map<string, UsageReport>();
    for (const { report, expiresAt } of this.rows.values()) {
      if (report.subject !== subject || report.slot < since || expiresAt <= Date.now()) continue;
      const seen = newest.get(report.process);
      if (seen === undefined || seen.slot < report.slot) newest.set(report.process, { ...report });
    }
    return [...newest.values()];
  });

  get repository(): RateLimitUsageRepository {
    return this as unknown as RateLimitUsageRepository;
  }

  private reachable(): void {
    if (this.down) throw new UpstreamUnavailableError('Cassandra', 'Cassandra is unavailable: no host answered');
  }
}
