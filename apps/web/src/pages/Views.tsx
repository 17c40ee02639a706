import { useState } from 'preact/hooks';
import type { ViewDefinitionDto, ViewPreviewDto } from '../api';
import type { MAX_PREVIEW_RANGE_HOURS } from '../../../../src/views/dto/views.dto';
import { NEEDS, useCan } from '../access';
import { Badge, DataTable, ErrorBox, num, Section, Updated } from '../components/ui';
import { ViewFields } from '../components/ViewFields';
import { ViewResults } from '../components/ViewResults';
import { useApi } from '../context';
import { count, time } from '../format';
import { useAction, usePolled, useTitle } from '../hooks';
import { hrefOf } from '../route';
import { viewTone } from '../tones';
import { definitionOf, definitionText, fieldsOf, fromJson, newForm, placeErrors, sameJson, ViewForm } from '../view-form';
import { valueNames } from '../view-results';

/** The ranges a preview reads, in hours: the longest is the API's (checked against it at compile time). */
const LONGEST_PREVIEW: typeof MAX_PREVIEW_RANGE_HOURS = 24;
const PREVIEW_HOURS = [1, 6, LONGEST_PREVIEW];

/** Streaming views: every view with its state as the streaming job reports it, and a new one defined in a form. */
export function ViewsPage() {
  useTitle('Views');
  const api = useApi();
  const views = usePolled(() => api.views(), [], 5000);
  const [creating, setCreating] = useState(false);
  // Hooks first: a key without admin is offered no new view (the API would refuse it).
  const admin = useCan()(NEEDS.admin);

  return (
    <>
      <div class="page-head">
        <h1>Views</h1>
        <Updated at={views.at} loading={views.loading} />
      </div>
      <p>Continuous aggregations of a source's events, per window of event time and per group, computed by the streaming job as events arrive.</p>
      <ErrorBox error={views.error} title="GET /views failed" />
      {admin && (
        <div class="buttons">
          <button type="button" onClick={() => setCreating(!creating)} aria-expanded={creating}>
            New view
          </button>
        </div>
      )}
      {admin && creating && <NewView onCancel={() => setCreating(false)} />}
      {views.data && (
        <Section title="All views" id="views">
          {views.data.items.length === 0 ? (
            <p>No view yet.</p>
          ) : (
            <DataTable label="Views" columns={['Name', 'Source', 'Window', 'State', num('Late events'), 'Updated']}>
              {views.data.items.map((v) => (
                <tr key={v.name} data-view={v.name} data-state={v.state}>
                  <th scope="row">
                    <a href={hrefOf({ page: 'view', view: v.name })}>{v.name}</a>
                  </th>
                  <td>{v.source}</td>
                  <td class="nowrap">
                    {v.definition.window}
                    {v.definition.slide && <span class="sub">every {v.definition.slide}</span>}
                  </td>
                  <td>
                    <Badge tone={viewTone(v.state)} label={v.error}>
                      {v.state}
                    </Badge>
                  </td>
                  <td class="num">{count(v.lateEvents)}</td>
                  <td>{v.updatedAt ? time(v.updatedAt) : 'not yet reported'}</td>
                </tr>
              ))}
            </DataTable>
          )}
        </Section>
      )}
    </>
  );
}

/**
 * A new view: the form (or its JSON); a preview of it over the source's stored events (POST
 * /views/preview, which creates nothing); POST /views; the API's 400 at the fields it names. Once
 * created, the view's page.
 */
function NewView({ onCancel }: { onCancel: () => void }) {
  const api = useApi();
  const sources = usePolled(() => api.sources(), []);
  const names = (sources.data?.sources ?? []).map((s) => s.name);
  const [typed, setForm] = useState<ViewForm>(() => newForm());
  // The source select shows the first source until another is chosen: so does the body.
  const form = typed.source ? typed : { ...typed, source: names[0] ?? '' };
  /** The definition as JSON text while it is edited by hand; undefined while the form is shown. */
  const [json, setJson] = useState<string>();
  const [jsonError, setJsonError] = useState<string>();
  const [hours, setHours] = useState(PREVIEW_HOURS[0]);
  const [previewed, setPreviewed] = useState<{ body: unknown; answer: ViewPreviewDto }>();
  // The API checks the body, whatever the form left out or the JSON holds.
  const create = useAction(async (body: unknown) => {
    const view = await api.createView(body as ViewDefinitionDto);
    window.location.hash = hrefOf({ page: 'view', view: view.name });
  });
  const preview = useAction(async (body: unknown) => {
    const to = new Date();
    const from = new Date(to.getTime() - hours * 3600_000);
    const answer = await api.previewView({ definition: body as ViewDefinitionDto, from: from.toISOString(), to: to.toISOString() });
    setPreviewed({ body, answer });
  });
  // The last refusal, of a create or a preview (which names the definition's paths definition/<path>).
  const placed =
    json !== undefined
      ? undefined
      : create.error
        ? placeErrors(create.error.fieldErrors(), fieldsOf(form))
        : preview.error
          ? placeErrors(preview.error.fieldErrors(), fieldsOf(form), 'definition')
          : undefined;

  /** The body as it stands: the form's, or the JSON typed (undefined, saying why, when it is no JSON). */
  function body(): { value?: unknown } {
    if (json === undefined) return { value: definitionOf(form) };
    try {
      const value: unknown = JSON.parse(json);
      setJsonError(undefined);
      return { value };
    } catch (err) {
      setJsonError(`definition: ${(err as Error).message}`);
      return {};
    }
  }

  function submit(e: Event) {
    e.preventDefault();
    const b = body();
    if (!('value' in b)) return;
    preview.clearError();
    void create.run(b.value);
  }

  function runPreview() {
    const b = body();
    if (!('value' in b)) return;
    create.clearError();
    void preview.run(b.value);
  }

  function toggle() {
    if (json === undefined) {
      setJson(definitionText(form));
      setJsonError(undefined);
      return;
    }
    const read = fromJson(json);
    setJsonError(read.error);
    if (read.form) {
      setForm(read.form);
      setJson(undefined);
    }
  }

  const stale = previewed !== undefined && !sameJson(previewed.body, json === undefined ? definitionOf(form) : parsedOrText(json));
  return (
    <Section title="New view" id="view-new">
      <ErrorBox error={sources.error} title="GET /sources failed" />
      <ErrorBox error={create.error} title="The view was not created" fields={placed?.elsewhere} />
      <ErrorBox error={preview.error} title="The preview failed" fields={placed?.elsewhere} />
      <form onSubmit={submit} noValidate class="stack grid-form">
        <div class="buttons wide">
          <button type="button" class="secondary" onClick={toggle} aria-pressed={json !== undefined}>
            Edit as JSON
          </button>
        </div>
        {json === undefined ? (
          <ViewFields form={form} onChange={setForm} sources={names} errors={placed?.at ?? new Map()} />
        ) : (
          <div class={`field wide${jsonError ? ' invalid' : ''}`}>
            <label for="view-json">Definition (JSON, the body of POST /views)</label>
            <textarea
              id="view-json"
              rows={18}
              spellcheck={false}
              value={json}
              onInput={(e) => setJson(e.currentTarget.value)}
              aria-invalid={jsonError ? true : undefined}
              aria-describedby={jsonError ? 'view-json-error' : undefined}
            />
            {jsonError && (
              <p id="view-json-error" class="field-error">
                {jsonError}
              </p>
            )}
          </div>
        )}
        <div class="buttons preview-controls wide">
          <button type="button" class="secondary" disabled={preview.pending} onClick={runPreview} aria-describedby="view-preview-help">
            {preview.pending ? 'Previewing…' : 'Preview'}
          </button>
          <label class="inline" for="view-preview-hours">
            over the last
          </label>
          <select id="view-preview-hours" value={hours} onChange={(e) => setHours(Number(e.currentTarget.value))}>
            {PREVIEW_HOURS.map((h) => (
              <option key={h} value={h}>
                {h === 1 ? 'hour' : `${h} hours`}
              </option>
            ))}
          </select>
          <p id="view-preview-help" class="help">
            Computes the definition over the source's stored events, as the streaming job would, and creates nothing.
          </p>
        </div>
        <div class="buttons wide">
          <button type="submit" disabled={create.pending}>
            {create.pending ? 'Creating…' : 'Create view'}
          </button>
          <button type="button" class="secondary" onClick={onCancel}>
            Cancel
          </button>
        </div>
      </form>
      {previewed && <Preview {...previewed} stale={stale} />}
    </Section>
  );
}

/** What a preview answered: the definition over the events read, as a view's results. */
function Preview({ body, answer: a, stale }: { body: unknown; answer: ViewPreviewDto; stale: boolean }) {
  // The API answered the preview: the body is a valid definition.
  const d = body as ViewDefinitionDto;
  return (
    <div class="preview-box" id="view-preview">
      <h3>Preview</h3>
      <p role="status">
        {count(a.events)} events received from {time(a.from)} to {time(a.to)}
        {a.truncated ? ' (the newest only: the range held more)' : ''}, computed as the view would compute them: {count(a.items.length)} results. Here every
        event counts however late, and distinct and the percentiles are exact.
      </p>
      {stale && <p class="warning">The definition changed since this preview: preview it again to see the change.</p>}
      <ViewResults id="view-preview" label="Preview results" items={a.items} names={valueNames(d)} groupBy={d.groupBy ?? []} window={d.window} />
    </div>
  );
}

/** JSON text as a value, or the text itself when it is none (so a change of it still tells). */
function parsedOrText(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}
