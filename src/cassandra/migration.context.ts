import { types } from 'cassandra-driver';

/** What a migration's data step may use: the connected driver (prepared statements, one page per call), and what it needs to know. */
export interface MigrationContext {
  keyspace: string;
  execute(query: string, params?: unknown[], options?: { fetchSize?: number; pageState?: string }): Promise<{ rows: types.Row[]; pageState?: string }>;
  /** The configured bucket size of a source, in seconds; undefined for a source no longer configured. */
  bucketSecondsOf(source: string): number | undefined;
  log(message: string): void;
}

/**
 * The sources' bucket sizes, as a migration that moves events into buckets needs them: provided by
 * the module that owns the sources (CatalogsModule), so that Cassandra's module does not import it.
 */
export const BUCKET_SIZES = Symbol('BUCKET_SIZES');
export type BucketSizes = MigrationContext['bucketSecondsOf'];

export interface DataStepOptions {
  /** Who runs the step, as written in the lease. */
  holder: string;
  /** Whether the step's version is recorded as applied (by another process that ran it meanwhile). */
  isApplied: () => Promise<boolean>;
  leaseTtlSeconds?: number;
  pollMs?: number;
  sleep?: (ms: number) => Promise<void>;
}

/**
 * Runs a migration's data step in one process at a time, across API workers and replicas: the
 * process that takes the lease `migration:<version>` runs it (renewing the lease while it runs),
 * the others wait until the step is recorded as applied, or take the lease over when its holder
 * died. Resolves true when this process ran the step, false when another one did.
 */
export async function runDataStep(
  ctx: MigrationContext,
  version: number,
  step: (ctx: MigrationContext) => Promise<void>,
  options: DataStepOptions,
): Promise<boolean> {
  const { holder, isApplied, leaseTtlSeconds = 60, pollMs = 2000 } = options;
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const leases = `${ctx.keyspace}.leases`;
  const name = `migration:${version}`;
  let waitingFor: string | undefined;
  for (;;) {
    if (await isApplied()) return false;
    const { rows } = await ctx.execute(`INSERT INTO ${leases} (name, holder, acquired_at) VALUES (?, ?, ?) IF NOT EXISTS USING TTL ?`, [
      name,
      holder,
      new Date(),
      leaseTtlSeconds,
    ]);
    if (rows[0]?.['[applied]'] === true || rows[0]?.holder === holder) break;
    const other = String(rows[0]?.holder);
    if (waitingFor !== other) ctx.log(`${other} runs the data step; waiting for it`);
    waitingFor = other;
    await sleep(pollMs);
  }
  // Renewed well within its TTL; a renewal that fails is retried at the next tick (the step's own
  // statements fail too if Cassandra is gone, and the step then starts again).
  const renew = setInterval(
    () => {
      void ctx
        .execute(`UPDATE ${leases} USING TTL ? SET holder = ?, acquired_at = ? WHERE name = ? IF holder = ?`, [
          leaseTtlSeconds,
          holder,
          new Date(),
          name,
          holder,
        ])
        .catch(() => undefined);
    },
    (leaseTtlSeconds * 1000) / 3,
  );
  try {
    await step(ctx);
  } finally {
    clearInterval(renew);
  }
  // Handed back at once: a process that finds the step to run again (its version deleted by hand)
  // need not wait out the TTL. Best effort: the lease expires anyway.
  await ctx.execute(`DELETE FROM ${leases} WHERE name = ? IF holder = ?`, [name, holder]).catch(() => undefined);
  return true;
}

/** Runs a statement again, up to `attempts` times in all, when it fails (a write timing out under the copy's load). */
export async function withRetries<T>(
  attempts: number,
  fn: () => Promise<T>,
  sleep: (ms: number) => Promise<void> = (ms) => new Promise((r) => setTimeout(r, ms)),
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      if (attempt >= attempts) throw err;
      await sleep(500 * attempt);
    }
  }
}
