import { useState } from 'preact/hooks';
import { Badge, DataTable, ErrorBox, Pre, Section, Updated } from '../components/ui';
import { useApi } from '../context';
import { oneLine, time } from '../format';
import { usePolled, useTitle } from '../hooks';

interface Filters {
  from: string;
  to: string;
  actor: string;
  action: string;
}

const NONE: Filters = { from: '', to: '', actor: '', action: '' };
const PAGE = 50;

/** A datetime-local value (the browser's zone) as the instant the API takes. */
const instant = (local: string) => (local ? new Date(local).toISOString() : undefined);

/** The audit trail, newest first: filtered by time, actor and action, paged with the API's page tokens. */
export function AuditPage() {
  useTitle('Audit');
  const api = useApi();
  const [draft, setDraft] = useState<Filters>(NONE);
  const [filters, setFilters] = useState<Filters>(NONE);
  // The tokens of the pages before the one shown, to go back without the API keeping state.
  const [tokens, setTokens] = useState<(string | undefined)[]>([undefined]);
  const token = tokens[tokens.length - 1];
  const page = usePolled(
    () =>
      api.audit({
        from: instant(filters.from),
        to: instant(filters.to),
        actor: filters.actor.trim(),
        action: filters.action.trim(),
        limit: PAGE,
        pageToken: token,
      }),
    [filters, token],
  );
  const set = (patch: Partial<Filters>) => setDraft({ ...draft, ...patch });

  return (
    <>
      <div class="page-head">
        <h1>Audit trail</h1>
        <Updated at={page.at} loading={page.loading} />
      </div>
      <Section title="Filters" id="audit-filters">
        <form
          class="grid-form"
          noValidate
          onSubmit={(e) => {
            e.preventDefault();
            setFilters(draft);
            setTokens([undefined]);
          }}
        >
          <div class="field">
            <label for="audit-from">From</label>
            <input id="audit-from" type="datetime-local" value={draft.from} onInput={(e) => set({ from: e.currentTarget.value })} />
          </div>
          <div class="field">
            <label for="audit-to">To</label>
            <input id="audit-to" type="datetime-local" value={draft.to} onInput={(e) => set({ to: e.currentTarget.value })} />
          </div>
          <div class="field">
            <label for="audit-actor">Actor (key id or bootstrap:…)</label>
            <input id="audit-actor" value={draft.actor} spellcheck={false} onInput={(e) => set({ actor: e.currentTarget.value })} />
          </div>
          <div class="field">
            <label for="audit-action">Action (key.revoke, key.*)</label>
            <input id="audit-action" value={draft.action} spellcheck={false} onInput={(e) => set({ action: e.currentTarget.value })} />
          </div>
          <div class="buttons wide">
            <button type="submit">Show</button>
            <button
              type="button"
              class="secondary"
              onClick={() => {
                setDraft(NONE);
                setFilters(NONE);
                setTokens([undefined]);
              }}
            >
              Clear
            </button>
          </div>
        </form>
      </Section>
      <ErrorBox error={page.error} title="GET /audit failed" />
      {page.data && (
        <Section title={tokens.length > 1 ? `Events, page ${tokens.length}` : 'Events, newest first'} id="audit-events">
          {page.data.events.length === 0 ? (
            <p>No event on this page.</p>
          ) : (
            <DataTable label="Audit events" columns={['When', 'Actor', 'Action', 'Target', 'Outcome', 'Request', 'Changes']}>
              {page.data.events.map((e) => (
                <tr key={e.id} data-action={e.action}>
                  <td class="nowrap">{time(e.at)}</td>
                  <td>
                    {e.actorName} <code class="sub">{e.actor}</code>
                  </td>
                  <th scope="row">
                    <code>{e.action}</code>
                  </th>
                  <td>
                    <code>{e.target ?? '—'}</code>
                  </td>
                  <td>
                    <Badge tone={e.outcome < 400 ? 'ok' : 'bad'}>{e.outcome}</Badge>
                  </td>
                  <td>
                    <code>{e.requestId ?? '—'}</code>
                  </td>
                  <td>
                    {e.changes ? (
                      <details>
                        <summary>{oneLine(e.changes, 40)}</summary>
                        <Pre label={`Changes of ${e.action}`}>{JSON.stringify(e.changes, null, 2)}</Pre>
                      </details>
                    ) : (
                      '—'
                    )}
                  </td>
                </tr>
              ))}
            </DataTable>
          )}
          <div class="buttons">
            <button type="button" class="secondary" disabled={tokens.length < 2} onClick={() => setTokens(tokens.slice(0, -1))}>
              Newer
            </button>
            <button
              type="button"
              class="secondary"
              disabled={!page.data.nextPageToken}
              onClick={() => page.data?.nextPageToken && setTokens([...tokens, page.data.nextPageToken])}
            >
              Older
            </button>
          </div>
        </Section>
      )}
    </>
  );
}
