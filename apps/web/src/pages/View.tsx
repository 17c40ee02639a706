import { useMemo, useState } from 'preact/hooks';
import type { ViewDefinitionDto, ViewDto } from '../api';
import { NEEDS, useCan } from '../access';
import { ViewResults } from '../components/ViewResults';
import { Badge, ErrorBox, Facts, Pre, Section, Updated } from '../components/ui';
import { useApi } from '../context';
import { ago, count, oneLine, time } from '../format';
import { useAction, usePolled, useTitle } from '../hooks';
import { hrefOf } from '../route';
import { viewTone } from '../tones';
import { DEFAULT_LATENESS } from '../view-form';
import { progressText, valueNames } from '../view-results';

/** The newest results read for the chart and the table: the API's largest page. */
const RESULTS_LIMIT = 1000;

/**
 * One view: its state as the streaming job reports it, its results (a chart of one value, a line
 * per group, and the table, newest window first), read again every few seconds while the page is
 * open; its definition; delete.
 */
export function ViewPage({ view: name }: { view: string }) {
  useTitle(`View ${name}`);
  const api = useApi();
  // While a delete is asked for and sent, the page reads no more: its reads would answer 404.
  const [deleting, setDeleting] = useState(false);
  const read = usePolled(() => api.view(name), [name], 3000, deleting);
  const admin = useCan()(NEEDS.admin);
  const v = read.data;

  return (
    <>
      <div class="page-head">
        <h1>
          View <code>{name}</code>
        </h1>
        <Updated at={read.at} loading={read.loading} />
      </div>
      <p>
        <a href={hrefOf({ page: 'views' })}>All views</a>
        {v && (
          <>
            {' '}
            · its source <a href={hrefOf({ page: 'source', source: v.source })}>{v.source}</a>
          </>
        )}
      </p>
      <ErrorBox error={read.error} title={`GET /views/${name} failed`} />
      {v && (
        <>
          <State view={v} />
          <Results view={v} held={deleting} />
          <Definition definition={v.definition} />
          {admin && <Delete name={name} onAsking={setDeleting} />}
        </>
      )}
    </>
  );
}

function State({ view: v }: { view: ViewDto }) {
  return (
    <Section title="State" id="view-state">
      <Facts
        items={[
          [
            'State',
            <span class="view-state" data-state={v.state}>
              <Badge tone={viewTone(v.state)}>{v.state}</Badge>
            </span>,
          ],
          [
            'Progress',
            v.progress ? (
              <>
                {v.progress.offsetsAvailable > 0 && (
                  <progress max={v.progress.offsetsAvailable} value={Math.min(v.progress.offsetsRead, v.progress.offsetsAvailable)} aria-label="Offsets read" />
                )}{' '}
                {progressText(v.progress)}
              </>
            ) : (
              'not yet reported'
            ),
          ],
          ['Late events', <span data-late-events={v.lateEvents}>{count(v.lateEvents)}</span>],
          ['Watermark', v.watermark ? time(v.watermark) : 'not yet reported'],
          [
            'Last report',
            v.updatedAt
              ? `${time(v.updatedAt)} (${ago(v.updatedAt)})`
              : v.state === 'pending'
                ? 'not yet: the streaming job picks a new view up within seconds'
                : 'none',
          ],
          ['Created', `${time(v.createdAt)} by ${v.createdBy}`],
        ]}
      />
      {v.state === 'failed' && (
        <div class="error" role="alert">
          <p class="error-title">The view failed; the other views and the raw events go on. Delete it and create it again to start it afresh.</p>
          {v.error && <Pre label="Why the view failed">{v.error}</Pre>}
        </div>
      )}
    </Section>
  );
}

/** The newest results, read again every few seconds: the chart of one value, a line per group, and the table. */
function Results({ view, held }: { view: ViewDto; held: boolean }) {
  const api = useApi();
  const results = usePolled(() => api.viewResults(view.name, { limit: RESULTS_LIMIT }), [view.name, view.id], 5000, held);
  const names = useMemo(() => valueNames(view.definition), [view.id]);

  return (
    <Section title="Results" id="view-results" actions={<Updated at={results.at} loading={results.loading} />}>
      <ErrorBox error={results.error} title={`GET /views/${view.name}/results failed`} />
      <ViewResults
        id="view-results"
        label={`Results of ${view.name}`}
        items={results.data?.items ?? []}
        names={names}
        groupBy={view.definition.groupBy ?? []}
        window={view.definition.window}
      />
      {results.data && results.data.items.length === 0 && <p>No result in the last 24 hours yet.</p>}
      {results.data?.nextPageToken && (
        <p class="help">
          Older results than the {count(results.data.items.length)} read are on further pages of <code>GET /views/{view.name}/results</code>.
        </p>
      )}
    </Section>
  );
}

function Definition({ definition: d }: { definition: ViewDefinitionDto }) {
  const names = valueNames(d);
  return (
    <Section title="Definition" id="view-definition">
      <Facts
        items={[
          ['Source', d.source],
          ['Window', d.slide ? `${d.window}, a new one every ${d.slide}` : `${d.window}, one after the other`],
          ['Group by', d.groupBy?.length ? <code>{d.groupBy.join(', ')}</code> : 'nothing: one result per window'],
          [
            'Filter',
            d.filter?.length ? (
              <ul class="plain">
                {d.filter.map((f, i) => (
                  <li key={i}>
                    <code>
                      {f.field} {f.op}
                      {f.value === undefined ? '' : ` ${oneLine(f.value)}`}
                    </code>
                  </li>
                ))}
              </ul>
            ) : (
              'every event'
            ),
          ],
          [
            'Aggregates',
            <ul class="plain">
              {d.aggregates.map((a, i) => (
                <li key={i}>
                  <code>
                    {names[i]} = {a.fn}({a.field ?? ''})
                  </code>
                </li>
              ))}
            </ul>,
          ],
          ['Event time', d.timeField ? <code>{d.timeField}</code> : 'receivedAt (when the API received the event)'],
          ['Lateness', d.lateness ?? `${DEFAULT_LATENESS} (the default)`],
          ['Backfill from', d.backfillFrom ? time(d.backfillFrom) : 'everything Kafka still holds of the source'],
        ]}
      />
      <details>
        <summary>As JSON</summary>
        <Pre label="The definition as JSON">{JSON.stringify(d, null, 2)}</Pre>
      </details>
    </Section>
  );
}

/** Delete, asked twice; the page holds its reads from the first click, and shows the list once the view is gone. */
function Delete({ name, onAsking }: { name: string; onAsking: (asking: boolean) => void }) {
  const api = useApi();
  const [confirming, setConfirming] = useState(false);
  const remove = useAction(async () => {
    await api.deleteView(name);
    window.location.hash = hrefOf({ page: 'views' });
  });
  const ask = (asking: boolean) => {
    setConfirming(asking);
    onAsking(asking);
  };
  return (
    <Section title="Delete" id="view-delete">
      <p>The streaming job stops the view's query within seconds, and its results are no longer read. A view created again under this name starts afresh.</p>
      <div class="buttons">
        {confirming ? (
          <>
            <button type="button" class="danger" disabled={remove.pending} onClick={() => void remove.run()}>
              {remove.pending ? 'Deleting…' : `Delete ${name} for good`}
            </button>
            <button type="button" class="secondary" onClick={() => ask(false)}>
              Keep it
            </button>
          </>
        ) : (
          <button type="button" class="danger" onClick={() => ask(true)}>
            Delete view
          </button>
        )}
      </div>
      <ErrorBox error={remove.error} title="The view was not deleted" />
    </Section>
  );
}
