import { useMemo, useState } from 'preact/hooks';
import type { ViewResultDto } from '../api';
import { count, time } from '../format';
import { chartData, groupLabel } from '../view-results';
import { DataTable, num } from './ui';
import { ViewChart } from './ViewChart';

/** Rows of the table (the chart draws every result given). */
const TABLE_ROWS = 100;

/**
 * Results of a view, or of a preview: a chart of one value (the first aggregate's, or the one
 * chosen), a line per group, and the table, newest window first, a column per group field and value.
 */
export function ViewResults({
  id,
  label,
  items,
  names,
  groupBy,
  window,
}: {
  id: string;
  label: string;
  items: ViewResultDto[];
  names: string[];
  groupBy: string[];
  window: string;
}) {
  const [chosen, setChosen] = useState<string>();
  const value = chosen !== undefined && names.includes(chosen) ? chosen : names[0];
  const data = useMemo(() => chartData(items, value, groupBy), [items, value, groupBy.join('\n')]);

  return (
    <>
      {names.length > 1 && (
        <div class="field">
          <label for={`${id}-value`}>Chart of</label>
          <select id={`${id}-value`} value={value} onChange={(e) => setChosen(e.currentTarget.value)}>
            {names.map((n) => (
              <option key={n} value={n}>
                {n}
              </option>
            ))}
          </select>
        </div>
      )}
      <ViewChart key={value} data={data} value={value} window={window} />
      {items.length > 0 && (
        <>
          <DataTable label={label} columns={['Window', ...groupBy, ...names.map(num)]} class="results">
            {items.slice(0, TABLE_ROWS).map((r) => (
              <tr key={`${r.windowStart} ${JSON.stringify(r.group)}`} data-window={r.windowStart} data-group={groupLabel(r.group, groupBy)}>
                <th scope="row" class="nowrap">
                  {time(r.windowStart)} – {time(r.windowEnd)}
                </th>
                {groupBy.map((p) => (
                  <td key={p}>{r.group[p] ?? <span class="sub">(none)</span>}</td>
                ))}
                {names.map((n) => (
                  <td key={n} class="num" data-value={n} data-number={r.values[n] ?? ''}>
                    {count(r.values[n] ?? undefined)}
                  </td>
                ))}
              </tr>
            ))}
          </DataTable>
          <p class="help">
            {items.length > TABLE_ROWS ? `The newest ${TABLE_ROWS} of ${count(items.length)} results` : `${count(items.length)} results`}, newest window first,
            then by group.
          </p>
        </>
      )}
    </>
  );
}
