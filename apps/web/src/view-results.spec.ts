import type { ViewResultDto } from './api';
import { chartData, chartSummary, groupLabel, progressText, valueNames } from './view-results';

const result = (minute: number, group: Record<string, string | null>, values: Record<string, number | null>): ViewResultDto => ({
  windowStart: `2026-12-07T12:0${minute}:00.000Z`,
  windowEnd: `2026-12-07T12:0${minute + 1}:00.000Z`,
  group,
  values,
});

const at = (minute: number) => Date.parse(`2026-12-07T12:0${minute}:00.000Z`) / 1000;

// As GET /views/{name}/results answers them: newest window first, then by group.
const items = [
  result(2, { '/currency': 'EUR' }, { count: 2, sum_amount: 5 }),
  result(2, { '/currency': null }, { count: 1, sum_amount: null }),
  result(1, { '/currency': 'EUR' }, { count: 3, sum_amount: 6.75 }),
  result(1, { '/currency': 'USD' }, { count: 2, sum_amount: 15 }),
];

describe("a view's results", () => {
  it('names the values as the API does: as, else fn, else fn_<field names>', () => {
    expect(
      valueNames({ aggregates: [{ fn: 'count' }, { fn: 'sum', field: '/amount' }, { fn: 'p95', field: '/t/ms', as: 'slow' }, { fn: 'count', field: '/a' }] }),
    ).toEqual(['count', 'sum_amount', 'slow', 'count_a']);
  });

  it('labels a group by its values in the order of groupBy', () => {
    expect(groupLabel({ '/currency': 'EUR', '/status': null }, ['/status', '/currency'])).toBe('(none) · EUR');
    expect(groupLabel({}, [])).toBe('all events');
  });

  it('draws one series per group of the value chosen, oldest window first, null where a group has nothing', () => {
    expect(chartData(items, 'count', ['/currency'])).toEqual({
      x: [at(1), at(2)],
      series: [
        { label: '(none)', values: [null, 1] },
        { label: 'EUR', values: [3, 2] },
        { label: 'USD', values: [2, null] },
      ],
      groups: 3,
    });
    expect(chartData(items, 'sum_amount', ['/currency']).series).toEqual([
      { label: '(none)', values: [null, null] },
      { label: 'EUR', values: [6.75, 5] },
      { label: 'USD', values: [15, null] },
    ]);
  });

  it('draws the largest groups only, still in the order of their labels', () => {
    const data = chartData(items, 'sum_amount', ['/currency'], 2);

    expect(data.series.map((s) => s.label)).toEqual(['EUR', 'USD']);
    expect(data.groups).toBe(3);
    expect(chartSummary(data, 'sum_amount', '1m')).toBe('sum_amount per 1m window, the 2 largest of 3 groups, over 2 windows; latest window: EUR 5.');
  });

  it('says what the chart shows, and that there is nothing yet', () => {
    expect(chartSummary(chartData(items, 'count', ['/currency']), 'count', '1m')).toBe(
      'count per 1m window, 3 groups, over 2 windows; latest window: (none) 1, EUR 2.',
    );
    expect(chartSummary(chartData([], 'count', []), 'count', '1m')).toMatch(/^No result yet/);
  });

  it('says how far the view has read its topic', () => {
    expect(progressText({ offsetsRead: 120_400, offsetsAvailable: 120_512 })).toBe('120,400 of 120,512 offsets (99.9 %)');
    expect(progressText({ offsetsRead: 0, offsetsAvailable: 0 })).toBe('0 of 0 offsets');
  });
});
