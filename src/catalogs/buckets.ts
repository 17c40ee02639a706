/**
 * Time buckets of the events table: a source's events are stored in one Cassandra partition per
 * (source, bucket), the bucket being a span of time that divides a UTC day evenly (so every bucket
 * starts at a multiple of its size since the epoch, and lies within one UTC day).
 */

const DAY_SECONDS = 86_400;

/** The size a partition should stay under: Cassandra's guidance is about 100 MB. */
export const MAX_PARTITION_BYTES = 100 * 1024 * 1024;

/** The bucket of a source that declares neither a bucket nor its volume. */
export const DEFAULT_BUCKET_SECONDS = 3600;

/** Bytes of one stored event when a source declares a peak rate but no eventBytes. */
export const DEFAULT_EVENT_BYTES = 1024;

/** The sizes a derived bucket is chosen from, largest first: the largest that keeps a partition small enough wins. */
export const BUCKET_LADDER_SECONDS = [86_400, 43_200, 21_600, 10_800, 3600, 1800, 600, 300, 60, 30, 10, 5, 1] as const;

const UNITS = { d: DAY_SECONDS, h: 3600, m: 60, s: 1 } as const;
const DURATION = /^([1-9]\d*)(s|m|h|d)$/;

/** `30s`, `5m`, `1h`, `1d` → seconds; undefined for anything else (a bucket, a view's window, slide or lateness). */
export function durationSeconds(text: string): number | undefined {
  const match = DURATION.exec(text);
  return match ? Number(match[1]) * UNITS[match[2] as keyof typeof UNITS] : undefined;
}

/** `10m` → 600; undefined for anything that is not `<n>s|m|h|d` between 1 s and 1 d dividing a day evenly. */
export function parseBucket(text: string): number | undefined {
  const seconds = durationSeconds(text);
  return seconds !== undefined && isBucketSeconds(seconds) ? seconds : undefined;
}

/** Whether a number of seconds is a valid bucket size: 1 s to 1 d, dividing a day evenly. */
export function isBucketSeconds(seconds: number): boolean {
  return Number.isInteger(seconds) && seconds >= 1 && seconds <= DAY_SECONDS && DAY_SECONDS % seconds === 0;
}

/** 600 → `10m`: the largest unit that divides the size evenly. */
export function bucketText(seconds: number): string {
  for (const [unit, size] of Object.entries(UNITS)) {
    if (seconds % size === 0) return `${seconds / size}${unit}`;
  }
  return `${seconds}s`;
}

/** Bytes one partition of this size holds at the declared peak rate. */
export const partitionBytes = (seconds: number, peakEventsPerSecond: number, eventBytes: number): number => seconds * peakEventsPerSecond * eventBytes;

/** The largest ladder size whose partition stays within MAX_PARTITION_BYTES at the peak rate (1 s at the very least). */
export function derivedBucketSeconds(peakEventsPerSecond: number, eventBytes: number): number {
  return (
    BUCKET_LADDER_SECONDS.find((s) => partitionBytes(s, peakEventsPerSecond, eventBytes) <= MAX_PARTITION_BYTES) ??
    BUCKET_LADDER_SECONDS[BUCKET_LADDER_SECONDS.length - 1]
  );
}

/** The start (epoch ms) of the bucket of this size that holds the instant. */
export function bucketStart(instant: Date | number, seconds: number): number {
  const ms = seconds * 1000;
  return Math.floor(new Date(instant).getTime() / ms) * ms;
}

/** `104857600` → `100 MiB`: a byte count for a log line. */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${Number.isInteger(value) ? value : value.toFixed(1)} ${units[unit]}`;
}
