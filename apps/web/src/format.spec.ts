import { ago, count, millis, oneLine, rate, seconds, time } from './format';

describe('format', () => {
  it('rates: a decimal under 10/s, whole numbers above, never 0.0 for a trickle, a dash when unknown', () => {
    expect([rate(undefined), rate(0), rate(0.01), rate(0.25), rate(12.6), rate(12345.4)]).toEqual(['—', '0/s', '<0.1/s', '0.3/s', '13/s', '12,345/s']);
  });

  it('durations from milliseconds to days', () => {
    expect([seconds(0.85), seconds(4.25), seconds(42.4), seconds(200), seconds(7500), seconds(3 * 86400 + 4 * 3600), seconds(-1), seconds(undefined)]).toEqual([
      '850 ms',
      '4.3 s',
      '42 s',
      '3 min 20 s',
      '2 h 5 min',
      '3 d 4 h',
      '0 ms',
      '—',
    ]);
    expect(millis(1234)).toBe('1.2 s');
  });

  it('times of today without their date, others with it', () => {
    const now = new Date(2026, 0, 2, 15, 0, 0);
    expect(time(new Date(2026, 0, 2, 14, 3, 7).toISOString(), now)).toBe('14:03:07');
    expect(time(new Date(2026, 0, 1, 23, 59, 1).toISOString(), now)).toBe('2026-01-01 23:59:01');
    expect(time(undefined)).toBe('—');
  });

  it('how long ago, or how soon', () => {
    const now = Date.parse('2026-01-02T12:00:00Z');
    expect(ago('2026-01-02T11:59:48Z', now)).toBe('12 s ago');
    expect(ago('2026-01-02T12:03:00Z', now)).toBe('in 3 min 0 s');
  });

  it('counts and one-line JSON', () => {
    expect(count(1234567)).toBe('1,234,567');
    expect(oneLine({ a: 'x'.repeat(200) }, 20)).toBe('{"a":"xxxxxxxxxxxxx…');
    expect(oneLine({ a: 1 })).toBe('{"a":1}');
  });
});
