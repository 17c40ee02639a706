/**
 * One limited subject's bucket in one API process: it refills at `share` of the limit's rate and
 * holds at most `share` of its burst, so that the processes' buckets together hold the limit (the
 * shares are set by RateLimiter from what every process reports). A take needs the bucket to hold
 * the cost, or to be full when the cost is more than it can hold (a batch larger than the bucket
 * passes once it is full and leaves it in debt); its debt holds the next takes back until refilled,
 * so over time the rate holds whatever the batches' sizes.
 */
export class TokenBucket {
  tokens: number;
  private at: number;
  /** What was asked and what was taken since the last report: the process's demand for the limit. */
  asked = 0;
  taken = 0;

  constructor(
    public perSecond: number,
    public burst: number,
    public share: number,
    now: number,
  ) {
    this.tokens = burst * share;
    this.at = now;
  }

  get capacity(): number {
    return this.burst * this.share;
  }

  /** Takes `cost` if the bucket allows it: 0; else the seconds until it would (at least 1, an integer). */
  take(cost: number, now: number): number {
    this.asked += cost;
    const wait = this.waitFor(cost, now);
    if (wait > 0) return wait;
    this.tokens -= cost;
    this.taken += cost;
    return 0;
  }

  /** Whether a take of `cost` would pass now, without taking: 0, or the seconds to wait. */
  check(cost: number, now: number): number {
    return this.waitFor(cost, now);
  }

  /** Gives back a take that another bucket of the same request refused. */
  refund(cost: number): void {
    this.tokens = Math.min(this.capacity, this.tokens + cost);
    this.taken -= cost;
  }

  /** A new share (or limit): the tokens held stay, within the new capacity. */
  reshape(perSecond: number, burst: number, share: number, now: number): void {
    this.refill(now);
    this.perSecond = perSecond;
    this.burst = burst;
    this.share = share;
    this.tokens = Math.min(this.tokens, this.capacity);
  }

  private waitFor(cost: number, now: number): number {
    this.refill(now);
    const needed = Math.min(cost, this.capacity);
    if (needed > 0 && this.tokens >= needed) return 0;
    const rate = this.perSecond * this.share;
    if (rate <= 0) return 1;
    return Math.max(1, Math.ceil((needed - this.tokens) / rate));
  }

  private refill(now: number): void {
    if (now <= this.at) return;
    this.tokens = Math.min(this.capacity, this.tokens + ((now - this.at) / 1000) * this.perSecond * this.share);
    this.at = now;
  }
}

/** What one process reported for a subject: how much it was asked per second over its last report's span. */
export interface Demand {
  process: string;
  perSecond: number;
}

/**
 * This process's share of a limit from every process's demand (its own included): the limit split
 * in proportion to demand when demand exceeds it, else each process gets its demand and the rest is
 * split evenly among the processes asking. The shares of all processes, computed from the same
 * reports, add up to 1. A process asking nothing holds no share; `fallback` is what it takes when it
 * starts asking (until the next report), as the processes that are not asking cannot know of it.
 */
export function shareOf(limit: number, mine: number, others: number[], fallback: number): number {
  if (mine <= 0) return fallback;
  const asking = others.filter((d) => d > 0);
  const total = mine + asking.reduce((a, b) => a + b, 0);
  if (total > limit) return mine / total;
  return (mine + (limit - total) / (asking.length + 1)) / limit;
}
