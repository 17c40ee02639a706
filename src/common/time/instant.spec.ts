import { isoInstant, parseDateOrDateTime, parseDateTime, parseFullDate } from './instant';

describe('parseFullDate', () => {
  it.each([
    ['2026-01-31', '2026-01-31T00:00:00.000Z'],
    ['2024-02-29', '2024-02-29T00:00:00.000Z'],
    ['2000-02-29', '2000-02-29T00:00:00.000Z'],
    ['0001-01-01', '0001-01-01T00:00:00.000Z'],
    ['0099-12-31', '0099-12-31T00:00:00.000Z'],
  ])('takes the real day %s', (text, iso) => {
    expect(parseFullDate(text)?.toISOString()).toBe(iso);
  });

  it.each(['2026-02-30', '2026-02-29', '1900-02-29', '2026-04-31', '2026-13-01', '2026-00-10', '2026-01-00', '2026-1-1', '20260101', ' 2026-01-01'])(
    'refuses %j (a day the calendar does not have, or not YYYY-MM-DD)',
    (text) => {
      expect(parseFullDate(text)).toBeUndefined();
    },
  );
});

describe('parseDateTime', () => {
  it.each([
    ['2026-01-31T23:59:59Z', '2026-01-31T23:59:59.000Z'],
    ['2026-01-31T23:59:59.5Z', '2026-01-31T23:59:59.500Z'],
    ['2026-01-31T23:59:59.123456789Z', '2026-01-31T23:59:59.123Z'],
    ['2026-03-01T01:30:00+02:00', '2026-02-28T23:30:00.000Z'],
    ['2026-02-28T23:00:00-01:30', '2026-03-01T00:30:00.000Z'],
    ['2026-01-01t00:00:00z', '2026-01-01T00:00:00.000Z'],
    ['0001-01-01T00:00:00+00:00', '0001-01-01T00:00:00.000Z'],
  ])('takes %s', (text, iso) => {
    expect(parseDateTime(text)?.toISOString()).toBe(iso);
  });

  it.each([
    '2026-02-30T00:00:00Z',
    '2026-01-01T24:00:00Z',
    '2026-01-01T23:60:00Z',
    '2026-01-01T23:59:60Z',
    '2026-01-01T00:00:00+24:00',
    '2026-01-01T00:00:00+02:60',
    '2026-01-01T00:00:00',
    '2026-01-01T00:00Z',
    '2026-01-01',
    '2026-01-01 00:00:00Z',
    'yesterday',
  ])('refuses %j', (text) => {
    expect(parseDateTime(text)).toBeUndefined();
  });
});

describe('parseDateOrDateTime', () => {
  it('takes either form', () => {
    expect(parseDateOrDateTime('2026-01-02')?.toISOString()).toBe('2026-01-02T00:00:00.000Z');
    expect(parseDateOrDateTime('2026-01-02T03:04:05Z')?.toISOString()).toBe('2026-01-02T03:04:05.000Z');
    expect(parseDateOrDateTime('2026-02-30')).toBeUndefined();
  });
});

describe('isoInstant', () => {
  it('writes what toISOString writes, for instants in the same, alternating and distant minutes', () => {
    const base = Date.parse('2026-01-01T23:59:58.997Z');
    const instants = [
      ...Array.from({ length: 3000 }, (_, i) => base + i),
      ...Array.from({ length: 200 }, (_, i) => base + (i % 2) * 61_000 + i),
      ...[0, -1, -999, -60_000, -60_001, 951_782_399_999, 951_782_400_000, 8.64e15, -8.64e15, -62_198_755_200_001].map(Number),
      ...Array.from({ length: 2000 }, (_, i) => Math.round(Math.sin(i) * 4e12) + 1.7e12),
    ];
    for (const ms of instants) expect(isoInstant(new Date(ms))).toBe(new Date(ms).toISOString());
  });

  it('refuses an invalid date as toISOString does', () => {
    expect(() => isoInstant(new Date(NaN))).toThrow(RangeError);
  });
});
