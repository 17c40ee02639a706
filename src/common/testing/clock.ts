import { Logger } from '@nestjs/common';

/**
 * For every test of the calling file: jest's fake clock starting at `now` (promise jobs and
 * setImmediate stay real, so awaited I/O of the fakes still runs), and Nest's log and warn lines
 * silenced; both restored after each test.
 */
export function fakeClockAndQuietLogs(now: Date): void {
  beforeEach(() => {
    jest.useFakeTimers({ now, doNotFake: ['nextTick', 'queueMicrotask', 'setImmediate'] });
    jest.spyOn(Logger.prototype, 'log').mockImplementation(() => undefined);
    jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
  });

  afterEach(() => {
    jest.useRealTimers();
    jest.restoreAllMocks();
  });
}
