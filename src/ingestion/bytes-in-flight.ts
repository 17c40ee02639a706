import type { Readable } from 'node:stream';
import { BadRequestError, ServiceUnavailableError } from '../common/errors/errors';
import type { BodyEncoding } from './raw-body.reader';

/** Ingest refused because its API process held its bound of body bytes in flight and no room came in time. */
export class BytesInFlightError extends ServiceUnavailableError {}

/** A request waiting for room, its body not read. */
interface Waiter {
  bytes: number;
  /** performance.now() past which it is refused. */
  deadline: number;
  admit(): void;
  refuse(err: Error): void;
}

/**
 * What a request body counts for before a byte of it is read: its Content-Length when it is read as
 * sent. A body whose size is not known up front (chunked) counts for the source's limit, the most
 * reading it can hold, and so does a compressed one, whose Content-Length says nothing of its size
 * once inflated; either counts for its real size once read and inflated (see IngestionService). A
 * Content-Length over the source's limit counts for nothing: the body is refused (413) unread.
 */
export function bytesToAdmit(contentLength: string | undefined, encoding: BodyEncoding, maxBodyBytes: number): number {
  const declared = contentLength === undefined || contentLength === '' ? NaN : Number(contentLength);
  if (declared > maxBodyBytes) return 0;
  return encoding === 'identity' && Number.isSafeInteger(declared) && declared >= 0 ? declared : maxBodyBytes;
}

/**
 * The bytes of ingest bodies one API process holds at once (INGEST_MAX_BYTES_IN_FLIGHT): a request
 * takes its share before its body is read and gives it back once answered, since its parsed events
 * live until Kafka acknowledged them and take many times the body's size in memory. A request that
 * does not fit waits, in arrival order and its body unread (TCP holds the sender back), at most
 * INGEST_ADMISSION_WAIT_MS; then it is refused with 503 and Retry-After. A request larger than the
 * whole bound passes when nothing else is in flight, or it never could.
 *
 * The path of a request that fits is two comparisons and an addition. Waiting requests share one
 * timer, set for the first one's deadline (every wait is as long, so the first deadline is the
 * earliest); room made by a release goes to the waiting requests at once.
 */
export class BytesInFlight {
  private held = 0;
  private readonly waiting: Waiter[] = [];
  private timer: NodeJS.Timeout | undefined;
  private readonly retryAfterSeconds: number;

  constructor(
    readonly maxBytes: number,
    readonly waitMs: number,
  ) {
    this.retryAfterSeconds = Math.max(1, Math.ceil(waitMs / 1000));
  }

  /** The bytes taken and not released yet. */
  get bytes(): number {
    return this.held;
  }

  /** Requests waiting for room. */
  get queued(): number {
    return this.waiting.length;
  }

  /** Takes `bytes` now if they fit and no request waits before this one (nothing always fits); false: call wait(). */
  take(bytes: number): boolean {
    if (bytes === 0) return true;
    if (this.waiting.length > 0 || !this.fits(bytes)) return false;
    this.held += bytes;
    return true;
  }

  /**
   * Waits for room for `bytes` behind the requests already waiting; resolves once they are taken.
   * Rejects with BytesInFlightError (503) when no room came within waitMs, and with a 400 when the
   * client left meanwhile (`body` closed): its answer can reach no one, and it must not hold its place.
   */
  wait(bytes: number, body: Readable): Promise<void> {
    if (body.destroyed) return Promise.reject(aborted());
    if (this.take(bytes)) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const left = () => {
        const at = this.waiting.indexOf(waiter);
        if (at < 0) return;
        this.waiting.splice(at, 1);
        reject(aborted());
        // It may have held up smaller requests behind it.
        this.admitWaiting();
      };
      const waiter: Waiter = {
        bytes,
        deadline: performance.now() + this.waitMs,
        admit: () => {
          body.off('close', left);
          resolve();
        },
        refuse: (err) => {
          body.off('close', left);
          reject(err);
        },
      };
      body.once('close', left);
      this.waiting.push(waiter);
      this.timer ??= this.expireIn(this.waitMs);
    });
  }

  /** Gives back `bytes` taken earlier, and lets in the waiting requests that now fit, first come first. */
  release(bytes: number): void {
    this.held -= bytes;
    if (this.waiting.length > 0) this.admitWaiting();
  }

  /** Fits within the bound, or nothing else is in flight (a request over the whole bound passes alone). */
  private fits(bytes: number): boolean {
    return this.held + bytes <= this.maxBytes || this.held === 0;
  }

  private admitWaiting(): void {
    while (this.waiting.length > 0 && this.fits(this.waiting[0].bytes)) {
      const waiter = this.waiting.shift()!;
      this.held += waiter.bytes;
      waiter.admit();
    }
    if (this.waiting.length === 0 && this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
  }

  /** Refuses the waiting requests whose deadline passed, then sets the timer for the next deadline. */
  private readonly expire = (): void => {
    this.timer = undefined;
    const now = performance.now();
    while (this.waiting.length > 0 && this.waiting[0].deadline <= now) {
      const waiter = this.waiting.shift()!;
      waiter.refuse(this.refusal(waiter.bytes));
    }
    // A refused request may have held up smaller ones behind it.
    this.admitWaiting();
    if (this.waiting.length > 0) this.timer = this.expireIn(this.waiting[0].deadline - now);
  };

  private expireIn(ms: number): NodeJS.Timeout {
    const timer = setTimeout(this.expire, Math.max(1, Math.ceil(ms)));
    // Refusing a request is no reason to keep the process alive: its connection does that.
    timer.unref();
    return timer;
  }

  private refusal(bytes: number): BytesInFlightError {
    return new BytesInFlightError(
      `Ingest is at its bound of ${this.maxBytes} bytes in flight (INGEST_MAX_BYTES_IN_FLIGHT) on this API process: this request, ` +
        `counted as ${bytes} bytes, found no room within ${this.waitMs} ms (INGEST_ADMISSION_WAIT_MS); retry after ${this.retryAfterSeconds} s`,
      this.retryAfterSeconds,
    );
  }
}

/** As raw-body words a body cut short, so a client gone while waiting is counted as one gone while sending. */
const aborted = () => new BadRequestError('The request body could not be read: request aborted');
