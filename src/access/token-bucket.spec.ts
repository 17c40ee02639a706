import { shareOf, TokenBucket } from './token-bucket';

describe('TokenBucket', () => {
  it('starts full, takes one at a time, and refills at the rate up to its size', () => {
    const bucket = new TokenBucket(10, 5, 1, 0);

    expect([1, 2, 3, 4, 5].map(() => bucket.take(1, 0))).toEqual([0, 0, 0, 0, 0]);
    expect(bucket.take(1, 0)).toBe(1);
    expect(bucket.take(1, 100)).toBe(0);
    expect(bucket.take(1, 100)).toBe(1);
    bucket.take(0, 60_000);
    expect(bucket.tokens).toBe(5);
  });

  it('holds and refills only its share of the limit', () => {
    const bucket = new TokenBucket(10, 4, 0.25, 0);

    expect(bucket.capacity).toBe(1);
    expect(bucket.take(1, 0)).toBe(0);
    expect(bucket.take(1, 0)).toBe(1);
    // 2.5 a second: one more token after 400 ms.
    expect(bucket.take(1, 399)).toBe(1);
    expect(bucket.take(1, 400)).toBe(0);
  });

  it('answers the whole seconds until a take would pass, at least 1', () => {
    const bucket = new TokenBucket(0.5, 1, 1, 0);
    bucket.take(1, 0);

    expect(bucket.take(1, 0)).toBe(2);
    expect(bucket.take(1, 1_500)).toBe(1);
    expect(bucket.check(1, 2_000)).toBe(0);
  });

  it('lets a batch larger than the bucket through a full bucket, and its debt holds the next back', () => {
    const bucket = new TokenBucket(10, 10, 1, 0);

    expect(bucket.take(30, 0)).toBe(0);
    expect(bucket.tokens).toBe(-20);
    expect(bucket.check(1, 0)).toBe(3);
    expect(bucket.check(1, 2_000)).toBe(1);
    expect(bucket.check(1, 2_100)).toBe(0);
    // Not yet full again: a second large batch waits for the whole bucket.
    expect(bucket.take(30, 2_100)).toBe(1);
  });

  it('counts what was asked and taken, for the next report', () => {
    const bucket = new TokenBucket(10, 2, 1, 0);
    for (let i = 0; i < 5; i++) bucket.take(1, 0);

    expect({ asked: bucket.asked, taken: bucket.taken }).toEqual({ asked: 5, taken: 2 });
  });

  it('keeps its tokens within the new capacity when its share shrinks', () => {
    const bucket = new TokenBucket(10, 10, 1, 0);
    bucket.reshape(10, 10, 0.2, 0);

    expect(bucket.tokens).toBe(2);
  });

  it('gives back a refunded take', () => {
    const bucket = new TokenBucket(10, 10, 1, 0);
    bucket.take(4, 0);
    bucket.refund(4);

    expect({ tokens: bucket.tokens, taken: bucket.taken }).toEqual({ tokens: 10, taken: 0 });
  });
});

describe('shareOf', () => {
  it('splits a limit that demand exceeds in proportion to demand, the shares adding up to 1', () => {
    const demands = [30, 10, 20];
    const shares = demands.map((mine, i) =>
      shareOf(
        20,
        mine,
        demands.filter((_, j) => j !== i),
        1 / 3,
      ),
    );

    expect(shares.map((s) => +s.toFixed(4))).toEqual([0.5, 0.1667, 0.3333]);
    expect(shares.reduce((a, b) => a + b)).toBeCloseTo(1, 10);
  });

  it('gives each process its demand under the limit and splits the rest among those asking', () => {
    const demands = [2, 6, 0];
    const shares = demands.map((mine, i) =>
      shareOf(
        20,
        mine,
        demands.filter((_, j) => j !== i),
        0,
      ),
    );

    expect(shares).toEqual([(2 + 6) / 20, (6 + 6) / 20, 0]);
  });

  it('is the fallback for a process asking nothing', () => {
    expect(shareOf(20, 0, [50, 50], 1 / 3)).toBe(1 / 3);
  });
});
