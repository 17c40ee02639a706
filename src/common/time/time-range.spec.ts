import { BadRequestError } from '../errors/errors';
import { dayOf, daysNewestFirst, timeRange } from './time-range';

const at = (iso: string) => new Date(iso);
const HOUR_MS = 3_600_000;

describe('daysNewestFirst', () => {
  it('lists every UTC day a range crossing midnight touches, newest first', () => {
    expect(daysNewestFirst({ from: at('2026-01-01T22:00:00Z'), to: at('2026-01-03T01:00:00Z') })).toEqual(['2026-01-03', '2026-01-02', '2026-01-01']);
  });

  it('excludes the day that starts exactly at `to`, since `to` is exclusive', () => {
    expect(daysNewestFirst({ from: at('2026-01-01T12:00:00Z'), to: at('2026-01-03T00:00:00Z') })).toEqual(['2026-01-02', '2026-01-01']);
  });

  it('includes the day that starts exactly at `from`', () => {
    expect(daysNewestFirst({ from: at('2026-01-02T00:00:00Z'), to: at('2026-01-02T00:00:00.001Z') })).toEqual(['2026-01-02']);
  });

  it('answers one day for a range inside a day', () => {
    expect(daysNewestFirst({ from: at('2026-03-10T08:00:00Z'), to: at('2026-03-10T09:00:00Z') })).toEqual(['2026-03-10']);
  });

  it('uses UTC days regardless of the offset the instants were written with', () => {
    expect(daysNewestFirst({ from: at('2026-01-01T23:30:00-02:00'), to: at('2026-01-02T02:30:00+02:00') })).toEqual(['2026-01-02']);
  });

  it('crosses month and year ends', () => {
    expect(daysNewestFirst({ from: at('2025-12-31T23:00:00Z'), to: at('2026-01-01T01:00:00Z') })).toEqual(['2026-01-01', '2025-12-31']);
  });
});

describe('dayOf', () => {
  it('answers the UTC day of an instant', () => {
    expect(dayOf(at('2026-01-01T23:59:59.999Z'))).toBe('2026-01-01');
    expect(dayOf(Date.parse('2026-01-02T00:00:00Z'))).toBe('2026-01-02');
  });
});

describe('timeRange', () => {
  it('parses explicit ISO instants', () => {
    expect(timeRange('2026-01-01T00:00:00Z', '2026-01-02', HOUR_MS, 31)).toEqual({
      from: at('2026-01-01T00:00:00Z'),
      to: at('2026-01-02T00:00:00Z'),
    });
  });

  it('defaults `to` to now and `from` to the default window before it', () => {
    const before = Date.now();
    const { from, to } = timeRange(undefined, undefined, HOUR_MS, 31);

    expect(to.getTime()).toBeGreaterThanOrEqual(before);
    expect(to.getTime()).toBeLessThanOrEqual(Date.now());
    expect(to.getTime() - from.getTime()).toBe(HOUR_MS);
  });

  it('rejects from >= to', () => {
    expect(() => timeRange('2026-01-02T00:00:00Z', '2026-01-02T00:00:00Z', HOUR_MS, 31)).toThrow(BadRequestError);
    expect(() => timeRange('2026-01-03T00:00:00Z', '2026-01-02T00:00:00Z', HOUR_MS, 31)).toThrow('from must be earlier than to');
  });

  it('rejects a range longer than the maximum number of days, but accepts exactly the maximum', () => {
    expect(timeRange('2026-01-01T00:00:00Z', '2026-01-03T00:00:00Z', HOUR_MS, 2).from).toEqual(at('2026-01-01T00:00:00Z'));
    expect(() => timeRange('2026-01-01T00:00:00Z', '2026-01-03T00:00:00.001Z', HOUR_MS, 2)).toThrow(
      'The range from..to spans more than 2 days: narrow it (RECORDS_MAX_RANGE_DAYS)',
    );
  });

  it.each(['yesterday', '1767225600000', '2026-13-45T00:00:00Z', '2026-01-01T00:00:00', '', '2026-01-01T00:00Z'])(
    'rejects %j (not RFC 3339, or a date-time without a zone), naming the parameter',
    (text) => {
      expect(() => timeRange(text, '2026-01-02T00:00:00Z', HOUR_MS, 31)).toThrow(
        'from must be a real calendar date (YYYY-MM-DD) or an RFC 3339 date-time with a zone',
      );
      expect(() => timeRange(undefined, text, HOUR_MS, 31)).toThrow('to must be a real calendar date (YYYY-MM-DD) or an RFC 3339 date-time with a zone');
    },
  );

  // Date itself rolls these over into the next month.
  it.each(['2026-02-30', '2026-02-29', '2026-04-31', '2026-02-30T00:00:00Z', '2026-01-01T24:00:00Z'])(
    'rejects %j, a day or time the calendar does not have',
    (text) => {
      expect(() => timeRange(text, '2026-03-05T00:00:00Z', HOUR_MS, 31)).toThrow(BadRequestError);
      expect(() => timeRange(text, '2026-03-05T00:00:00Z', HOUR_MS, 31)).toThrow(/^from must be a real calendar date/);
    },
  );

  it('accepts a date, a UTC date-time and a date-time with an offset', () => {
    expect(timeRange('2026-01-01', '2026-01-01T12:00:00+02:00', HOUR_MS, 31)).toEqual({
      from: at('2026-01-01T00:00:00Z'),
      to: at('2026-01-01T10:00:00Z'),
    });
  });
});
