import { useState } from 'preact/hooks';
import type { CreateSourceDto } from '../api';
import { ErrorBox, Section, DataTable, Updated } from '../components/ui';
import { useApi } from '../context';
import { useAction, usePolled, useTitle } from '../hooks';
import { hrefOf } from '../route';
import { SourceFields } from '../components/SourceFields';
import { parseSchema, settingsOf, SourceForm } from '../source-form';

/** Sources as resources: every live source, and a new one created from a form. */
export function SourcesPage() {
  useTitle('Sources');
  const api = useApi();
  const sources = usePolled(() => api.sources(), []);
  const [creating, setCreating] = useState(false);

  return (
    <>
      <div class="page-head">
        <h1>Sources</h1>
        <Updated at={sources.at} loading={sources.loading} />
      </div>
      <ErrorBox error={sources.error} title="GET /sources failed" />
      <div class="buttons">
        <button type="button" onClick={() => setCreating(!creating)} aria-expanded={creating}>
          New source
        </button>
      </div>
      {creating && <NewSource onCancel={() => setCreating(false)} />}
      {sources.data && (
        <Section title="Live sources" id="sources">
          <DataTable label="Sources" columns={['Name', 'Topic', 'Invalid events', 'Schema', 'Actions']}>
            {sources.data.sources.map((s) => (
              <tr key={s.name} data-source={s.name}>
                <th scope="row">
                  <a href={hrefOf({ page: 'source', source: s.name })}>{s.name}</a>
                  {s.description && <span class="sub"> {s.description}</span>}
                </th>
                <td>
                  <code>{s.topic}</code>
                </td>
                <td>{s.onInvalid}</td>
                <td>{s.schema ? 'yes' : 'none'}</td>
                <td class="row-actions">
                  <a class="button-link" href={hrefOf({ page: 'source-edit', source: s.name })}>
                    Edit
                  </a>
                </td>
              </tr>
            ))}
          </DataTable>
        </Section>
      )}
    </>
  );
}

const EMPTY: SourceForm = {
  topic: '',
  description: '',
  keyField: '',
  schema: '{\n  "type": "object",\n  "properties": {}\n}',
  compatibility: 'backward',
  onInvalid: 'reject',
};

function NewSource({ onCancel }: { onCancel: () => void }) {
  const api = useApi();
  const [name, setName] = useState('');
  const [form, setForm] = useState<SourceForm>(EMPTY);
  const [schemaError, setSchemaError] = useState<string>();
  const create = useAction(async (body: CreateSourceDto) => {
    await api.createSource(body);
    window.location.hash = hrefOf({ page: 'source-edit', source: body.name });
  });

  function submit(e: Event) {
    e.preventDefault();
    const schema = parseSchema(form.schema);
    setSchemaError(schema.error);
    if (schema.error) return;
    void create.run({ name: name.trim(), ...settingsOf(form, schema.value) });
  }

  return (
    <Section title="New source" id="source-new">
      <form onSubmit={submit} noValidate class="stack grid-form">
        <div class="field">
          <label for="source-name">Name</label>
          <input id="source-name" value={name} spellcheck={false} onInput={(e) => setName(e.currentTarget.value)} aria-describedby="source-name-help" />
          <p id="source-name-help" class="help">
            Lower-case letters, digits, _ and -; it names the source for good (an archived name is not reused).
          </p>
        </div>
        <SourceFields form={form} onChange={setForm} schemaError={schemaError} />
        <div class="buttons wide">
          <button type="submit" disabled={create.pending}>
            {create.pending ? 'Creating…' : 'Create source'}
          </button>
          <button type="button" class="secondary" onClick={onCancel}>
            Cancel
          </button>
        </div>
      </form>
      <ErrorBox error={create.error} title="The source was not created" />
    </Section>
  );
}
