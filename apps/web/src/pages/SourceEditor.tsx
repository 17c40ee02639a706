import { useState } from 'preact/hooks';
import type { SchemaCheckDto, SourceResourceDto, Tagged } from '../api';
import { ApiError } from '../api';
import { SourceFields } from '../components/SourceFields';
import { Badge, DataTable, ErrorBox, Facts, Pre, Section, Updated } from '../components/ui';
import { useApi } from '../context';
import { count, time } from '../format';
import { useAction, usePolled, useTitle } from '../hooks';
import { hrefOf } from '../route';
import { formOf, parseSchema, settingsOf, SourceForm } from '../source-form';

/**
 * One source's settings and schema: a candidate schema is checked by the API (its compatibility
 * verdict, and the stored events it would refuse) before it is saved; a save applies only over the
 * state read (If-Match); archive; the schema's versions.
 */
export function SourceEditorPage({ source: name }: { source: string }) {
  useTitle(`Edit ${name}`);
  const api = useApi();
  const read = usePolled(() => api.source(name), [name]);
  const versions = usePolled(() => api.schemaVersions(name), [name]);
  const reload = async () => {
    await read.reload();
    await versions.reload();
  };
  const s = read.data?.body;
  // The editor starts over from each state read (it is keyed by the ETag), so what was done is said here.
  const [notice, setNotice] = useState<string>();

  return (
    <>
      <div class="page-head">
        <h1>
          Source <code>{name}</code>
        </h1>
        <Updated at={read.at} loading={read.loading} />
      </div>
      <p>
        <a href={hrefOf({ page: 'sources' })}>All sources</a> · <a href={hrefOf({ page: 'source', source: name })}>its events</a>
      </p>
      <ErrorBox error={read.error} title={`GET /sources/${name} failed`} />
      {s && read.data && (
        <>
          <Section title="State" id="source-state">
            <Facts
              items={[
                ['State', s.archivedAt ? <Badge tone="neutral">archived {time(s.archivedAt)}</Badge> : <Badge tone="ok">live</Badge>],
                [
                  'Version',
                  <span key="v">
                    {s.version} (ETag <code>{read.data.etag ?? '—'}</code>)
                  </span>,
                ],
                ['Schema version', s.schemaVersion ?? 'no schema'],
                ['Updated', time(s.updatedAt)],
              ]}
            />
          </Section>
          {notice && (
            <p class="notice" role="status">
              {notice}
            </p>
          )}
          {!s.archivedAt && (
            <Editor
              key={read.data.etag}
              read={read.data}
              onSaved={async (v) => (setNotice(`Saved as version ${v}.`), await reload())}
              onReload={async () => (setNotice(undefined), await reload())}
            />
          )}
          {!s.archivedAt && <Archive read={read.data} onArchived={async () => (setNotice('Archived.'), await reload())} onReload={reload} />}
        </>
      )}
      <Section title="Schema versions" id="schema-versions" actions={<Updated at={versions.at} loading={versions.loading} />}>
        <ErrorBox error={versions.error} title={`GET /sources/${name}/schemas failed`} />
        {versions.data && versions.data.versions.length === 0 && <p>No schema yet.</p>}
        {versions.data && versions.data.versions.length > 0 && (
          <DataTable label="Schema versions" columns={['Version', 'Made', 'Checked as', 'Schema']}>
            {versions.data.versions.map((v) => (
              <tr key={v.version} data-version={v.version}>
                <th scope="row">{v.version}</th>
                <td>{time(v.createdAt)}</td>
                <td>{v.compatibility}</td>
                <td>
                  <details>
                    <summary>
                      <code>{v.schemaHash.slice(0, 12)}</code>
                    </summary>
                    <Pre label={`Schema version ${v.version}`}>{JSON.stringify(v.schema, null, 2)}</Pre>
                  </details>
                </td>
              </tr>
            ))}
          </DataTable>
        )}
      </Section>
    </>
  );
}

function Editor({ read, onSaved, onReload }: { read: Tagged<SourceResourceDto>; onSaved: (version: number) => Promise<void>; onReload: () => Promise<void> }) {
  const api = useApi();
  const stored = read.body;
  const [form, setForm] = useState<SourceForm>(() => formOf(stored));
  const [schemaError, setSchemaError] = useState<string>();
  const [checked, setChecked] = useState<{ text: string; result: SchemaCheckDto }>();
  const check = useAction(async (schema: Record<string, unknown>) => setChecked({ text: form.schema, result: await api.schemaCheck(stored.name, schema) }));
  const save = useAction(async (schema: Record<string, unknown> | undefined) => {
    const saved = await api.updateSource(stored.name, settingsOf(form, schema, stored), read.etag);
    await onSaved(saved.body.version);
  });
  const schemaChanged = form.schema.trim() !== formOf(stored).schema.trim();
  const verdict = checked && checked.text === form.schema ? checked.result : undefined;

  function parsed(): { ok: boolean; value?: Record<string, unknown> } {
    const schema = parseSchema(form.schema);
    setSchemaError(schema.error);
    return { ok: !schema.error, value: schema.value };
  }

  return (
    <Section title="Settings and schema" id="source-edit">
      <form
        onSubmit={(e) => {
          e.preventDefault();
          const schema = parsed();
          if (schema.ok) void save.run(schema.value);
        }}
        noValidate
        class="stack grid-form"
      >
        <SourceFields form={form} onChange={setForm} schemaError={schemaError} topicFixed />
        <div class="buttons wide">
          <button
            type="button"
            class="secondary"
            disabled={check.pending || !form.schema.trim()}
            onClick={() => {
              const schema = parsed();
              if (schema.ok && schema.value) void check.run(schema.value);
            }}
          >
            {check.pending ? 'Checking…' : 'Check schema'}
          </button>
          <button type="submit" disabled={save.pending || (schemaChanged && !verdict)} aria-describedby="source-save-help">
            {save.pending ? 'Saving…' : 'Save'}
          </button>
        </div>
        <p id="source-save-help" class="help wide">
          {schemaChanged && !verdict
            ? 'The schema changed: check it first, to see what the API will say of it.'
            : 'Saved only over the version read; if someone changed the source meanwhile, you are asked to reload.'}
        </p>
      </form>
      <ErrorBox error={check.error} title="The schema was not checked" />
      {verdict && <Verdict result={verdict} />}
      {save.error && <SaveError error={save.error} onReload={onReload} />}
    </Section>
  );
}

/** What the API says of a candidate schema: compatible or not (each path), and the stored events it would refuse. */
function Verdict({ result: r }: { result: SchemaCheckDto }) {
  return (
    <div class="verdict-box" role="status" aria-live="polite" id="schema-verdict">
      <p>
        {r.compatible ? <Badge tone="ok">{r.compatibility}-compatible</Badge> : <Badge tone="bad">not {r.compatibility}-compatible</Badge>}{' '}
        {r.compatible ? 'with the current schema.' : 'with the current schema: saving it will be refused.'}
      </p>
      {r.incompatibilities.length > 0 && (
        <ul class="error-fields">
          {r.incompatibilities.map((i) => (
            <li key={i.field + i.message}>
              <code>{i.field}</code> {i.message}
            </li>
          ))}
        </ul>
      )}
      <p>
        Of the last {count(r.checked)} stored events, it would refuse <strong>{count(r.refused)}</strong>.
      </p>
      {r.reasons.length > 0 && (
        <DataTable label="Stored events the schema would refuse" columns={['Received', 'Event', 'Field', 'Reason']}>
          {r.reasons.map((e) => (
            <tr key={e.eventId}>
              <td>{time(e.receivedAt)}</td>
              <td>
                <code>{e.eventId}</code>
              </td>
              <td>
                <code>{e.field || '/'}</code>
              </td>
              <td>{e.message}</td>
            </tr>
          ))}
        </DataTable>
      )}
    </div>
  );
}

/** A refused save: a 412 means the source changed since it was read, and offers to read it again. */
function SaveError({ error, onReload }: { error: ApiError; onReload: () => Promise<void> }) {
  if (error.status !== 412) return <ErrorBox error={error} title="The source was not saved" />;
  return (
    <div class="error" role="alert">
      <p class="error-title">412 Someone else changed this source since you read it</p>
      <p class="error-message">Nothing was saved. Reload it to see their change, then make yours again.</p>
      <div class="buttons">
        <button type="button" onClick={() => void onReload()}>
          Reload the source
        </button>
      </div>
    </div>
  );
}

function Archive({ read, onArchived, onReload }: { read: Tagged<SourceResourceDto>; onArchived: () => Promise<void>; onReload: () => Promise<void> }) {
  const api = useApi();
  const [confirming, setConfirming] = useState(false);
  const archive = useAction(async () => {
    await api.archiveSource(read.body.name, read.etag);
    await onArchived();
  });
  return (
    <Section title="Archive" id="source-archive">
      <p>An archived source takes no more events (ingest answers 410). Its stored records stay readable, and its name cannot be used again by a new source.</p>
      <div class="buttons">
        {confirming ? (
          <>
            <button type="button" class="danger" disabled={archive.pending} onClick={() => void archive.run()}>
              {archive.pending ? 'Archiving…' : `Archive ${read.body.name} for good`}
            </button>
            <button type="button" class="secondary" onClick={() => setConfirming(false)}>
              Keep it
            </button>
          </>
        ) : (
          <button type="button" class="danger" onClick={() => setConfirming(true)}>
            Archive source
          </button>
        )}
      </div>
      {archive.error?.status === 412 ? (
        <SaveError error={archive.error} onReload={onReload} />
      ) : (
        <ErrorBox error={archive.error} title="The source was not archived" />
      )}
    </Section>
  );
}
