import { COMPATIBILITY, ON_INVALID, SourceForm } from '../source-form';

/** The settings a source editor shows: topic (fixed once the source exists), description, key field, schema, compatibility, invalid events. */
export function SourceFields({
  form,
  onChange,
  schemaError,
  topicFixed,
}: {
  form: SourceForm;
  onChange: (form: SourceForm) => void;
  schemaError?: string;
  topicFixed?: boolean;
}) {
  const set = (patch: Partial<SourceForm>) => onChange({ ...form, ...patch });
  return (
    <>
      <div class="field">
        <label for="source-topic">Kafka topic</label>
        <input
          id="source-topic"
          value={form.topic}
          placeholder="ingest.<name>"
          spellcheck={false}
          readOnly={topicFixed}
          aria-describedby={topicFixed ? 'source-topic-help' : undefined}
          onInput={(e) => set({ topic: e.currentTarget.value })}
        />
        {topicFixed && (
          <p id="source-topic-help" class="help">
            Fixed: the events already published stay on it.
          </p>
        )}
      </div>
      <div class="field">
        <label for="source-description">Description</label>
        <input id="source-description" value={form.description} onInput={(e) => set({ description: e.currentTarget.value })} />
      </div>
      <div class="field">
        <label for="source-key-field">Key field</label>
        <input
          id="source-key-field"
          value={form.keyField}
          spellcheck={false}
          placeholder="(the event id)"
          onInput={(e) => set({ keyField: e.currentTarget.value })}
        />
      </div>
      <div class="field">
        <label for="source-compatibility">Compatibility of a new schema</label>
        <select
          id="source-compatibility"
          value={form.compatibility}
          onChange={(e) => set({ compatibility: e.currentTarget.value as SourceForm['compatibility'] })}
        >
          {COMPATIBILITY.map((c) => (
            <option key={c} value={c}>
              {c}
            </option>
          ))}
        </select>
      </div>
      <div class="field">
        <label for="source-on-invalid">An event that fails the schema</label>
        <select id="source-on-invalid" value={form.onInvalid} onChange={(e) => set({ onInvalid: e.currentTarget.value as SourceForm['onInvalid'] })}>
          {ON_INVALID.map((c) => (
            <option key={c} value={c}>
              {c === 'reject' ? 'reject (400)' : 'quarantine (dead letter)'}
            </option>
          ))}
        </select>
      </div>
      <div class={`field wide${schemaError ? ' invalid' : ''}`}>
        <label for="source-schema">JSON Schema (empty: none)</label>
        <textarea
          id="source-schema"
          rows={12}
          spellcheck={false}
          value={form.schema}
          onInput={(e) => set({ schema: e.currentTarget.value })}
          aria-invalid={schemaError ? true : undefined}
          aria-describedby={schemaError ? 'source-schema-error' : undefined}
        />
        {schemaError && (
          <p id="source-schema-error" class="field-error">
            {schemaError}
          </p>
        )}
      </div>
    </>
  );
}
