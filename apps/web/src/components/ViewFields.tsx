import type { ComponentChildren } from 'preact';
import { AggregateRow, DEFAULT_LATENESS, FILTER_OPERATORS, FilterRow, MAX_GROUP_BY, VIEW_FUNCTIONS, ViewForm } from '../view-form';

type Errors = Map<string, string[]>;

/**
 * The settings of a new view: name, source, window and slide, up to MAX_GROUP_BY group fields, the
 * filter's conditions, the aggregates, event time, lateness and backfill. Each field shows the
 * API's errors for its path (`window`, `filter/0/op`, `aggregates/1/field`), as placeErrors put them.
 */
export function ViewFields({ form, onChange, sources, errors }: { form: ViewForm; onChange: (form: ViewForm) => void; sources: string[]; errors: Errors }) {
  const set = (patch: Partial<ViewForm>) => onChange({ ...form, ...patch });
  const setRow = <K extends 'filter' | 'aggregates'>(list: K, i: number, patch: Partial<ViewForm[K][number]>) =>
    set({ [list]: form[list].map((row, k) => (k === i ? { ...row, ...patch } : row)) });
  const without = <T,>(rows: T[], i: number) => rows.filter((_, k) => k !== i);
  const choices = form.source && !sources.includes(form.source) ? [form.source, ...sources] : sources;

  return (
    <>
      <Field
        id="view-name"
        field="name"
        label="Name"
        errors={errors}
        help="Lower-case letters, digits and _, starting with a letter; taken until the view is deleted."
      >
        {(props) => <input {...props} value={form.name} spellcheck={false} onInput={(e) => set({ name: e.currentTarget.value })} />}
      </Field>
      <Field id="view-source" field="source" label="Source" errors={errors}>
        {(props) => (
          <select {...props} value={form.source} onChange={(e) => set({ source: e.currentTarget.value })}>
            {choices.map((s) => (
              <option key={s} value={s}>
                {s}
              </option>
            ))}
          </select>
        )}
      </Field>
      <Field
        id="view-window"
        field="window"
        label="Window"
        errors={errors}
        help="The span of each window of event time: 30s, 1m, 5m, 1h, 1d… dividing a day evenly."
      >
        {(props) => <input {...props} value={form.window} spellcheck={false} onInput={(e) => set({ window: e.currentTarget.value })} />}
      </Field>
      <Field id="view-slide" field="slide" label="Slide (empty: tumbling windows)" errors={errors} help="Hopping windows: a new window starts every slide.">
        {(props) => <input {...props} value={form.slide} spellcheck={false} onInput={(e) => set({ slide: e.currentTarget.value })} />}
      </Field>

      <fieldset class="rows wide" data-field="groupBy">
        <legend>Group by</legend>
        <p class="help">
          Up to {MAX_GROUP_BY} payload fields, as JSON Pointers (<code>/currency</code>): one result per window and combination of their values.
        </p>
        {form.groupBy.map((pointer, i) => (
          <div class="row" key={i}>
            <Field id={`view-groupBy-${i}`} field={`groupBy/${i}`} label={`Group field ${i + 1}`} errors={errors}>
              {(props) => (
                <input
                  {...props}
                  value={pointer}
                  spellcheck={false}
                  placeholder="/currency"
                  onInput={(e) => set({ groupBy: form.groupBy.map((p, k) => (k === i ? e.currentTarget.value : p)) })}
                />
              )}
            </Field>
            <RemoveButton label={`Remove group field ${i + 1}`} onClick={() => set({ groupBy: without(form.groupBy, i) })} />
          </div>
        ))}
        <ListErrors field="groupBy" errors={errors} />
        <div class="buttons">
          <button type="button" class="secondary" disabled={form.groupBy.length >= MAX_GROUP_BY} onClick={() => set({ groupBy: [...form.groupBy, ''] })}>
            Add a group field
          </button>
        </div>
      </fieldset>

      <fieldset class="rows wide" data-field="filter">
        <legend>Filter</legend>
        <p class="help">
          Conditions an event must all meet to count. A value that reads as a number, true or false is sent as one; quote it (<code>"10"</code>) to send text.
          For <code>in</code>, separate the values with commas.
        </p>
        {form.filter.map((row, i) => (
          <Condition
            key={i}
            index={i}
            row={row}
            errors={errors}
            onChange={(patch) => setRow('filter', i, patch)}
            onRemove={() => set({ filter: without(form.filter, i) })}
          />
        ))}
        <ListErrors field="filter" errors={errors} />
        <div class="buttons">
          <button type="button" class="secondary" onClick={() => set({ filter: [...form.filter, { field: '', op: '=', value: '' }] })}>
            Add a condition
          </button>
        </div>
      </fieldset>

      <fieldset class="rows wide" data-field="aggregates">
        <legend>Aggregates</legend>
        <p class="help">
          The values computed per window and group. Every function but count needs a field; the value is named by its name, else <code>count</code> for a bare
          count, else function_field (<code>sum_amount</code>).
        </p>
        {form.aggregates.map((row, i) => (
          <Aggregate
            key={i}
            index={i}
            row={row}
            errors={errors}
            onChange={(patch) => setRow('aggregates', i, patch)}
            onRemove={() => set({ aggregates: without(form.aggregates, i) })}
          />
        ))}
        <ListErrors field="aggregates" errors={errors} />
        <div class="buttons">
          <button type="button" class="secondary" onClick={() => set({ aggregates: [...form.aggregates, { fn: 'count', field: '', as: '' }] })}>
            Add an aggregate
          </button>
        </div>
      </fieldset>

      <Field
        id="view-time-field"
        field="timeField"
        label="Event time field (empty: receivedAt)"
        errors={errors}
        help="A payload field holding an ISO 8601 date-time with a zone, or epoch milliseconds."
      >
        {(props) => (
          <input {...props} value={form.timeField} spellcheck={false} placeholder="/paid_at" onInput={(e) => set({ timeField: e.currentTarget.value })} />
        )}
      </Field>
      <Field
        id="view-lateness"
        field="lateness"
        label={`Lateness (empty: ${DEFAULT_LATENESS})`}
        errors={errors}
        help="How late an event may arrive before it is dropped and counted as late."
      >
        {(props) => <input {...props} value={form.lateness} spellcheck={false} onInput={(e) => set({ lateness: e.currentTarget.value })} />}
      </Field>
      <Field
        id="view-backfill"
        field="backfillFrom"
        label="Backfill from (empty: all Kafka holds)"
        errors={errors}
        help="An RFC 3339 date-time with a zone, not in the future."
      >
        {(props) => (
          <input
            {...props}
            value={form.backfillFrom}
            spellcheck={false}
            placeholder="2026-12-01T00:00:00Z"
            onInput={(e) => set({ backfillFrom: e.currentTarget.value })}
          />
        )}
      </Field>
    </>
  );
}

function Condition({
  index: i,
  row,
  errors,
  onChange,
  onRemove,
}: {
  index: number;
  row: FilterRow;
  errors: Errors;
  onChange: (patch: Partial<FilterRow>) => void;
  onRemove: () => void;
}) {
  const at = `filter/${i}`;
  return (
    <fieldset class="row-set" data-field={at}>
      <legend>Condition {i + 1}</legend>
      <Field id={`view-filter-${i}-field`} field={`${at}/field`} label="Field" errors={errors}>
        {(props) => <input {...props} value={row.field} spellcheck={false} placeholder="/status" onInput={(e) => onChange({ field: e.currentTarget.value })} />}
      </Field>
      <Field id={`view-filter-${i}-op`} field={`${at}/op`} label="Operator" errors={errors}>
        {(props) => (
          <select {...props} value={row.op} onChange={(e) => onChange({ op: e.currentTarget.value as FilterRow['op'] })}>
            {FILTER_OPERATORS.map((op) => (
              <option key={op} value={op}>
                {op}
              </option>
            ))}
          </select>
        )}
      </Field>
      {row.op !== 'exists' && (
        <Field id={`view-filter-${i}-value`} field={`${at}/value`} label="Value" errors={errors}>
          {(props) => (
            <input
              {...props}
              value={row.value}
              spellcheck={false}
              placeholder={row.op === 'in' ? 'EUR, USD' : 'paid'}
              onInput={(e) => onChange({ value: e.currentTarget.value })}
            />
          )}
        </Field>
      )}
      <RemoveButton label={`Remove condition ${i + 1}`} onClick={onRemove} />
      <ListErrors field={at} errors={errors} />
    </fieldset>
  );
}

function Aggregate({
  index: i,
  row,
  errors,
  onChange,
  onRemove,
}: {
  index: number;
  row: AggregateRow;
  errors: Errors;
  onChange: (patch: Partial<AggregateRow>) => void;
  onRemove: () => void;
}) {
  const at = `aggregates/${i}`;
  return (
    <fieldset class="row-set" data-field={at}>
      <legend>Aggregate {i + 1}</legend>
      <Field id={`view-aggregate-${i}-fn`} field={`${at}/fn`} label="Function" errors={errors}>
        {(props) => (
          <select {...props} value={row.fn} onChange={(e) => onChange({ fn: e.currentTarget.value as AggregateRow['fn'] })}>
            {VIEW_FUNCTIONS.map((fn) => (
              <option key={fn} value={fn}>
                {fn}
              </option>
            ))}
          </select>
        )}
      </Field>
      <Field id={`view-aggregate-${i}-field`} field={`${at}/field`} label={row.fn === 'count' ? 'Field (optional)' : 'Field'} errors={errors}>
        {(props) => <input {...props} value={row.field} spellcheck={false} placeholder="/amount" onInput={(e) => onChange({ field: e.currentTarget.value })} />}
      </Field>
      <Field id={`view-aggregate-${i}-as`} field={`${at}/as`} label="Name (optional)" errors={errors}>
        {(props) => <input {...props} value={row.as} spellcheck={false} placeholder="revenue" onInput={(e) => onChange({ as: e.currentTarget.value })} />}
      </Field>
      <RemoveButton label={`Remove aggregate ${i + 1}`} onClick={onRemove} />
      <ListErrors field={at} errors={errors} />
    </fieldset>
  );
}

interface ControlProps {
  id: string;
  'aria-invalid'?: true;
  'aria-describedby'?: string;
}

/** A labelled control with its help and the API's errors for its path (`data-field`), tied to it for screen readers. */
function Field({
  id,
  field,
  label,
  help,
  errors,
  children,
}: {
  id: string;
  field: string;
  label: string;
  help?: string;
  errors: Errors;
  children: (props: ControlProps) => ComponentChildren;
}) {
  const problems = errors.get(field);
  const described = [help ? `${id}-help` : '', problems ? `${id}-error` : ''].filter(Boolean).join(' ') || undefined;
  return (
    <div class={`field${problems ? ' invalid' : ''}`} data-field={field}>
      <label for={id}>{label}</label>
      {children({ id, 'aria-invalid': problems ? true : undefined, 'aria-describedby': described })}
      {help && (
        <p id={`${id}-help`} class="help">
          {help}
        </p>
      )}
      {problems && (
        <p id={`${id}-error`} class="field-error">
          {problems.join('; ')}
        </p>
      )}
    </div>
  );
}

/** The errors of a list or a row as a whole (`aggregates`, `filter/0`). */
function ListErrors({ field, errors }: { field: string; errors: Errors }) {
  const problems = errors.get(field);
  return problems ? <p class="field-error">{problems.join('; ')}</p> : null;
}

function RemoveButton({ label, onClick }: { label: string; onClick: () => void }) {
  return (
    <button type="button" class="secondary remove" aria-label={label} title={label} onClick={onClick}>
      Remove
    </button>
  );
}
