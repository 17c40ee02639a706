import { PassThrough } from 'node:stream';
import { BadRequestError } from '../common/errors/errors';
import { BytesInFlight, BytesInFlightError, bytesToAdmit } from './bytes-in-flight';

/** A request body nobody reads, as a waiting request's is. */
const body = () => new PassThrough();

/** How a wait ended, once it did: 'admitted', or the error it was refused with. */
function outcome(wait: Promise<void>): { current: 'waiting' | 'admitted' | Error } {
  const state: { current: 'waiting' | 'admitted' | Error } = { current: 'waiting' };
  wait.then(
    () => (state.current = 'admitted'),
    (err: Error) => (state.current = err),
  );
  return state;
}

/** The real setImmediate, kept before any test fakes the timers. */
const immediate = setImmediate;
/** Lets what just happened run its callbacks: the stream's events, then the promises' (under fake timers too). */
const settled = () => new Promise<void>((resolve) => immediate(resolve));

describe('bytesToAdmit', () => {
  it("counts a body read as sent for its Content-Length, and one of unknown size or compressed for the source's limit", () => {
    expect(bytesToAdmit('1000', 'identity', 4096)).toBe(1000);
    expect(bytesToAdmit('0', 'identity', 4096)).toBe(0);
    expect(bytesToAdmit('4096', 'identity', 4096)).toBe(4096);
    expect(bytesToAdmit(undefined, 'identity', 4096)).toBe(4096);
    expect(bytesToAdmit('', 'identity', 4096)).toBe(4096);
    expect(bytesToAdmit('12abc', 'identity', 4096)).toBe(4096);
    expect(bytesToAdmit('100', 'gzip', 4096)).toBe(4096);
    expect(bytesToAdmit('100', 'deflate', 4096)).toBe(4096);
    expect(bytesToAdmit(undefined, 'gzip', 4096)).toBe(4096);
  });

  it("counts nothing for a Content-Length over the source's limit: that body is refused unread", () => {
    expect(bytesToAdmit('4097', 'identity', 4096)).toBe(0);
    expect(bytesToAdmit('4097', 'gzip', 4096)).toBe(0);
  });
});

describe('BytesInFlight', () => {
  afterEach(() => jest.useRealTimers());

  it('takes what fits at once, and gives it back', () => {
    const budget = new BytesInFlight(1000, 2000);

    expect(budget.take(600)).toBe(true);
    expect(budget.take(400)).toBe(true);
    expect(budget.bytes).toBe(1000);
    expect(budget.take(1)).toBe(false);
    budget.release(400);
    expect(budget.take(1)).toBe(true);
    budget.release(600);
    budget.release(1);
    expect(budget.bytes).toBe(0);
  });

  it('takes a request larger than the whole bound when nothing else is in flight, and only then', async () => {
    const budget = new BytesInFlight(1000, 2000);

    expect(budget.take(5000)).toBe(true);
    expect(budget.take(0)).toBe(true);
    expect(budget.take(1)).toBe(false);
    budget.release(5000);

    expect(budget.take(1)).toBe(true);
    expect(budget.take(5000)).toBe(false);
    const big = outcome(budget.wait(5000, body()));
    budget.release(1);
    await settled();

    expect(big.current).toBe('admitted');
    expect(budget.bytes).toBe(5000);
  });

  it('lets waiting requests in first come, first served, as room is released; a later small one does not pass a waiting big one', async () => {
    const budget = new BytesInFlight(1000, 2000);
    budget.take(900);

    const big = outcome(budget.wait(800, body()));
    const small = outcome(budget.wait(100, body()));
    // Would fit on its own, but two requests wait before it.
    expect(budget.take(50)).toBe(false);
    await settled();
    expect([big.current, small.current, budget.queued]).toEqual(['waiting', 'waiting', 2]);

    budget.release(900);
    await settled();

    expect([big.current, small.current, budget.queued]).toEqual(['admitted', 'admitted', 0]);
    expect(budget.bytes).toBe(900);
  });

  it('refuses a request that found no room in time with 503, Retry-After and a message naming the bound, and lets the next one in', async () => {
    jest.useFakeTimers();
    const budget = new BytesInFlight(1000, 2000);
    budget.take(500);

    const first = outcome(budget.wait(900, body()));
    jest.advanceTimersByTime(500);
    const second = outcome(budget.wait(400, body()));
    jest.advanceTimersByTime(1499);
    await settled();
    expect([first.current, second.current]).toEqual(['waiting', 'waiting']);

    jest.advanceTimersByTime(1);
    await settled();

    // The first one out of time; the second, held up behind it only, now fits.
    expect(first.current).toBeInstanceOf(BytesInFlightError);
    expect(second.current).toBe('admitted');
    const refused = first.current as BytesInFlightError;
    expect(refused.statusCode).toBe(503);
    expect(refused.headers['Retry-After']).toBe('2');
    expect(refused.upstream).toBeUndefined();
    expect(refused.message).toBe(
      'Ingest is at its bound of 1000 bytes in flight (INGEST_MAX_BYTES_IN_FLIGHT) on this API process: this request, counted as 900 bytes, ' +
        'found no room within 2000 ms (INGEST_ADMISSION_WAIT_MS); retry after 2 s',
    );
    expect(budget.bytes).toBe(900);
    expect(budget.queued).toBe(0);
    expect(jest.getTimerCount()).toBe(0);
  });

  it('holds one timer however many requests wait, none once nobody waits', async () => {
    jest.useFakeTimers();
    const budget = new BytesInFlight(1000, 2000);
    budget.take(1000);

    const waits = [0, 1, 2, 3, 4].map(() => outcome(budget.wait(200, body())));
    expect(jest.getTimerCount()).toBe(1);
    budget.release(1000);
    await settled();

    expect(waits.map((w) => w.current)).toEqual(['admitted', 'admitted', 'admitted', 'admitted', 'admitted']);
    expect(jest.getTimerCount()).toBe(0);
  });

  it('refuses each waiting request at its own deadline, with the one timer', async () => {
    jest.useFakeTimers();
    const budget = new BytesInFlight(1000, 1000);
    budget.take(1000);

    const first = outcome(budget.wait(100, body()));
    jest.advanceTimersByTime(300);
    const second = outcome(budget.wait(100, body()));
    expect(jest.getTimerCount()).toBe(1);

    jest.advanceTimersByTime(700);
    await settled();
    expect(first.current).toBeInstanceOf(BytesInFlightError);
    expect(second.current).toBe('waiting');
    expect(jest.getTimerCount()).toBe(1);

    jest.advanceTimersByTime(299);
    await settled();
    expect(second.current).toBe('waiting');
    jest.advanceTimersByTime(1);
    await settled();
    expect(second.current).toBeInstanceOf(BytesInFlightError);
    expect(budget.bytes).toBe(1000);
    expect(jest.getTimerCount()).toBe(0);
  });

  it('rounds Retry-After up to whole seconds, at least 1', () => {
    jest.useFakeTimers();
    const refusal = async (waitMs: number) => {
      const budget = new BytesInFlight(1000, waitMs);
      budget.take(1000);
      const wait = budget.wait(100, body());
      jest.advanceTimersByTime(waitMs);
      return ((await wait.catch((err: BytesInFlightError) => err)) as BytesInFlightError).headers['Retry-After'];
    };

    return expect(Promise.all([refusal(1), refusal(1000), refusal(2500)])).resolves.toEqual(['1', '1', '3']);
  });

  it('drops a request whose client left while it waited (400, as a body cut short), and lets in those it held up', async () => {
    const budget = new BytesInFlight(1000, 2000);
    budget.take(500);
    const gone = body();

    const left = outcome(budget.wait(900, gone));
    const behind = outcome(budget.wait(400, body()));
    gone.destroy();
    await settled();

    expect(left.current).toBeInstanceOf(BadRequestError);
    expect((left.current as Error).message).toBe('The request body could not be read: request aborted');
    expect(behind.current).toBe('admitted');
    expect([budget.bytes, budget.queued]).toEqual([900, 0]);
  });

  it('refuses at once a request whose client already left, holding nothing', async () => {
    const budget = new BytesInFlight(1000, 2000);
    budget.take(1000);
    const gone = body();
    gone.destroy();

    await expect(budget.wait(100, gone)).rejects.toThrow(BadRequestError);
    expect([budget.bytes, budget.queued]).toEqual([1000, 0]);
  });

  it('stops listening to a body once its request is let in or refused', async () => {
    jest.useFakeTimers();
    const budget = new BytesInFlight(1000, 2000);
    budget.take(1000);
    const admitted = body();
    const refused = body();
    const listeners = admitted.listenerCount('close');

    const first = budget.wait(1000, admitted);
    budget.release(1000);
    await first;
    const second = budget.wait(1000, refused).catch((err: Error) => err);
    expect(refused.listenerCount('close')).toBe(listeners + 1);
    jest.advanceTimersByTime(2000);
    await second;

    expect(admitted.listenerCount('close')).toBe(listeners);
    expect(refused.listenerCount('close')).toBe(listeners);
    // A client leaving after its request was let in gives nothing back twice.
    admitted.destroy();
    await settled();
    expect(budget.bytes).toBe(1000);
  });

  it('resolves at once when called with room and nobody waiting', async () => {
    const budget = new BytesInFlight(1000, 2000);

    await expect(budget.wait(300, body())).resolves.toBeUndefined();
    expect(budget.bytes).toBe(300);
  });
});
