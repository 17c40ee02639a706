import { uuidV7 } from './uuid-v7';

const V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const millisecondOf = (id: string) => parseInt(id.replace(/-/g, '').slice(0, 12), 16);

describe('uuidV7', () => {
  afterEach(() => jest.useRealTimers());

  it('writes version 7, variant 10, and the current Unix millisecond in the first 48 bits', () => {
    jest.useFakeTimers({ now: Date.parse('2026-11-30T12:34:56.789Z') });
    const id = uuidV7();
    expect(id).toMatch(V7);
    expect(millisecondOf(id)).toBe(Date.parse('2026-11-30T12:34:56.789Z'));
  });

  // The last id made is process state: each test starts later than the one before.
  it('makes ids that sort in the order they were made, within a millisecond, across milliseconds and when the clock steps back', () => {
    jest.useFakeTimers({ now: Date.parse('2026-11-30T13:00:00Z') });
    const ids: string[] = [];
    for (let i = 0; i < 5000; i++) {
      if (i % 1000 === 999) jest.setSystemTime(Date.now() + (i === 2999 ? -5000 : 1));
      ids.push(uuidV7());
    }
    expect(ids.every((id) => V7.test(id))).toBe(true);
    expect([...ids].sort()).toEqual(ids);
    expect(new Set(ids).size).toBe(ids.length);
    expect(millisecondOf(ids[0])).toBe(Date.parse('2026-11-30T13:00:00Z'));
    expect(millisecondOf(ids[999])).toBe(Date.parse('2026-11-30T13:00:00.001Z'));
    // after the clock stepped back, ids stay in the millisecond already reached
    expect(millisecondOf(ids[3000])).toBe(millisecondOf(ids[2998]));
  });

  it('draws fresh random bits for the tail of every id and for the counter of every new millisecond', () => {
    jest.useFakeTimers({ now: Date.parse('2026-11-30T14:00:00Z') });
    const tails = new Set<string>();
    const counters = new Set<string>();
    for (let i = 0; i < 2000; i++) {
      jest.setSystemTime(Date.now() + 1);
      const id = uuidV7();
      tails.add(id.slice(-10));
      counters.add(id.slice(14, 23));
    }
    expect(tails.size).toBeGreaterThan(1990);
    expect(counters.size).toBeGreaterThan(1990);
  });
});
