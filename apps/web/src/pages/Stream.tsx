import { useMemo, useState } from 'preact/hooks';
import type { BatchDto, JobDto, StreamingStatusDto } from '../api';
import { ApiError } from '../api';
import { StreamControls } from '../components/StreamControls';
import { Badge, ErrorBox, Facts, Pre, Section, DataTable, num, Updated } from '../components/ui';
import { useApi } from '../context';
import { ago, count, millis, time } from '../format';
import { useAction, usePolled, useTitle } from '../hooks';
import { fieldOf, FormField, formFields, formValues } from '../schema-form';
import { batchTone, streamTone } from '../tones';

/** Batches listed before "show all". */
const RECENT_BATCHES = 15;

/** The streaming job (state, restarts, micro-batches, log) and the Spark batches (list, log, kill, submit). */
export function StreamPage() {
  useTitle('Stream & batches');
  const api = useApi();
  const stream = usePolled(() => api.streaming(), [], 3000);
  const batches = usePolled(() => api.batches(), [], 5000);

  return (
    <>
      <div class="page-head">
        <h1>Stream &amp; batches</h1>
        <Updated at={stream.at} loading={stream.loading} />
      </div>
      <ErrorBox error={stream.error} title="GET /streaming failed" />
      {stream.data && <StreamStatus s={stream.data} onChanged={stream.reload} />}
      <MicroBatches />
      {stream.data?.batchId && <LogTail id={stream.data.batchId} title="Stream log" />}
      <Section title="Spark batches" id="batches" actions={<Updated at={batches.at} loading={batches.loading} />}>
        <ErrorBox error={batches.error} title="GET /batches failed" />
        {batches.data && <BatchTable batches={batches.data.batches} onChanged={batches.reload} />}
      </Section>
      <SubmitJob onSubmitted={batches.reload} />
    </>
  );
}

function StreamStatus({ s, onChanged }: { s: StreamingStatusDto; onChanged: () => Promise<void> }) {
  return (
    <Section title="Streaming job" id="stream">
      <p class="stream-state" data-state={s.state}>
        <Badge tone={streamTone(s.state)}>{s.state}</Badge> desired <strong>{s.desired}</strong>
        {s.since ? `, since ${time(s.since)}` : ''}
      </p>
      {s.error && (
        <p class="stage-error" role="alert">
          {s.error}
          {s.nextAttemptAt ? ` (next attempt ${ago(s.nextAttemptAt)})` : ''}
        </p>
      )}
      {s.livy && <p class="stage-error">{s.livy}</p>}
      <StreamControls desired={s.desired} state={s.state} onChanged={onChanged} />
      <Facts
        items={[
          ['Last micro-batch', s.lastBatchAt ? `${time(s.lastBatchAt)} (${ago(s.lastBatchAt)}), epoch ${s.epoch ?? '—'}` : '—'],
          ['Restarts', `${s.restarts}${s.lastRestartAt ? `, last ${time(s.lastRestartAt)}: ${s.lastRestartReason ?? ''}` : ''}`],
          ['Failed starts in a row', String(s.failures)],
          ['Batch', s.batchId ? <code class="id">{s.batchId}</code> : '—'],
          ['Spark app', s.appId ?? '—'],
          ['Driver', s.host ? `${s.host}, pid ${s.pid ?? '—'}` : '—'],
          ['Reads', (s.reading ?? s.topics).join(', ')],
        ]}
      />
    </Section>
  );
}

function MicroBatches() {
  const api = useApi();
  const micro = usePolled(() => api.microBatches(15), [], 5000);
  return (
    <Section title="Last micro-batches" id="micro-batches" actions={<Updated at={micro.at} loading={micro.loading} />}>
      <ErrorBox error={micro.error} title="GET /streaming/micro-batches failed" />
      {micro.data && micro.data.microBatches.length === 0 && <p>No micro-batch in the last 7 days (one runs when records wait in Kafka).</p>}
      {micro.data && micro.data.microBatches.length > 0 && (
        <DataTable label="Last micro-batches" columns={['Ended', num('Epoch'), num('Records'), num('Dropped'), num('Duration'), num('Lag')]}>
          {micro.data.microBatches.map((b) => (
            <tr key={b.epoch}>
              <td>{time(b.at)}</td>
              <td class="num">{b.epoch}</td>
              <td class="num">{count(b.rows)}</td>
              <td class="num">{count(b.dropped)}</td>
              <td class="num">{millis(b.durationMs)}</td>
              <td class="num">{millis(b.lagMs)}</td>
            </tr>
          ))}
        </DataTable>
      )}
    </Section>
  );
}

function LogTail({ id, title }: { id: string; title: string }) {
  const api = useApi();
  const log = usePolled(() => api.batchLog(id, 200), [id], 10_000);
  return (
    <Section
      title={title}
      id={`log-${id}`}
      actions={
        <>
          <Updated at={log.at} loading={log.loading} />
          <button type="button" onClick={() => void log.reload()}>
            Refresh
          </button>
        </>
      }
    >
      <ErrorBox error={log.error} title="GET /batches/{id}/log failed" />
      {log.data && (
        <>
          <p class="help">
            Lines {log.data.from + 1}–{log.data.from + log.data.lines.length} of {log.data.total} (Livy keeps the last 1000).
          </p>
          <Pre label={`${title}, the last lines`} class="log">
            {log.data.lines.join('\n')}
          </Pre>
        </>
      )}
    </Section>
  );
}

function BatchTable({ batches, onChanged }: { batches: BatchDto[]; onChanged: () => Promise<void> }) {
  const api = useApi();
  const [open, setOpen] = useState<string>();
  const kill = useAction(async (id: string) => (await api.killBatch(id), await onChanged()));
  const [all, setAll] = useState(false);
  const sorted = useMemo(() => [...batches].sort((a, b) => (b.submittedAt ?? '').localeCompare(a.submittedAt ?? '')), [batches]);
  const shown = all ? sorted : sorted.slice(0, RECENT_BATCHES);
  if (batches.length === 0) return <p>No batch.</p>;
  return (
    <>
      <ErrorBox error={kill.error} title="Kill failed" />
      <DataTable label="Spark batches" columns={['Job', 'State', 'Submitted', 'Finished', 'Id', 'Actions']}>
        {shown.map((b) => (
          <tr key={b.id} data-batch={b.id}>
            <td>{b.job ?? b.name ?? '—'}</td>
            <td>
              <Badge tone={batchTone(b.state)}>{b.state}</Badge>
              {b.adopted && <span title="Livy no longer tracks this copy (it restarted); the copy reports itself alive"> adopted</span>}
            </td>
            <td>{time(b.submittedAt)}</td>
            <td>{time(b.finishedAt)}</td>
            <td>
              <code class="id">{b.id}</code>
            </td>
            <td class="row-actions">
              <button type="button" aria-expanded={open === b.id} onClick={() => setOpen(open === b.id ? undefined : b.id)}>
                Log
              </button>
              {!b.finishedAt && (
                <button type="button" class="danger" disabled={kill.pending} onClick={() => void kill.run(b.id)}>
                  Kill
                </button>
              )}
            </td>
          </tr>
        ))}
      </DataTable>
      {sorted.length > RECENT_BATCHES && (
        <div class="buttons">
          <button type="button" onClick={() => setAll(!all)} aria-expanded={all}>
            {all ? `Show the last ${RECENT_BATCHES}` : `Show all ${sorted.length}`}
          </button>
        </div>
      )}
      {open && <LogTail key={open} id={open} title={`Log of batch ${open}`} />}
    </>
  );
}

/** A batch job from the catalog, with a form generated from its args' JSON Schema. */
function SubmitJob({ onSubmitted }: { onSubmitted: () => Promise<void> }) {
  const api = useApi();
  const jobs = usePolled(() => api.jobs(), []);
  const batchJobs = (jobs.data?.jobs ?? []).filter((j) => !j.streaming);
  const [name, setName] = useState<string>();
  const job = batchJobs.find((j) => j.name === name) ?? batchJobs[0];
  return (
    <Section title="Submit a Spark job" id="submit-job">
      <ErrorBox error={jobs.error} title="GET /jobs failed" />
      {batchJobs.length > 0 && job && (
        <>
          <div class="field">
            <label for="job-name">Job</label>
            <select id="job-name" value={job.name} onChange={(e) => setName(e.currentTarget.value)} aria-describedby="job-description">
              {batchJobs.map((j) => (
                <option key={j.name} value={j.name}>
                  {j.name}
                </option>
              ))}
            </select>
            <p class="help" id="job-description">
              {job.description}
            </p>
          </div>
          <JobForm key={job.name} job={job} onSubmitted={onSubmitted} />
        </>
      )}
    </Section>
  );
}

function JobForm({ job, onSubmitted }: { job: JobDto; onSubmitted: () => Promise<void> }) {
  const api = useApi();
  const fields = useMemo(() => formFields(job.args), [job]);
  const [values, setValues] = useState<Record<string, string>>(() => Object.fromEntries(fields.map((f) => [f.name, f.initial])));
  const [error, setError] = useState<ApiError>();
  const [submitted, setSubmitted] = useState<BatchDto>();
  const [pending, setPending] = useState(false);
  const byField = new Map<string, string[]>();
  for (const [pointer, messages] of error?.fieldErrors() ?? []) {
    const name = fieldOf(pointer);
    byField.set(name, [...(byField.get(name) ?? []), ...messages]);
  }

  async function submit(e: Event) {
    e.preventDefault();
    setPending(true);
    setError(undefined);
    setSubmitted(undefined);
    try {
      setSubmitted((await api.submitJob(job.name, formValues(fields, values))).body);
      await onSubmitted();
    } catch (err) {
      setError(err as ApiError);
    } finally {
      setPending(false);
    }
  }

  return (
    <form onSubmit={(e) => void submit(e)} noValidate class="stack" aria-label={`Args of ${job.name}`}>
      {fields.map((f) => (
        <SchemaField
          key={f.name}
          field={f}
          value={values[f.name] ?? ''}
          errors={byField.get(f.name)}
          onChange={(v) => setValues((s) => ({ ...s, [f.name]: v }))}
        />
      ))}
      <div class="buttons">
        <button type="submit" disabled={pending}>
          {pending ? 'Submitting…' : `Submit ${job.name}`}
        </button>
      </div>
      <ErrorBox error={error} title="The job was not submitted" />
      {submitted && (
        <p role="status">
          Submitted: batch <code class="id">{submitted.id}</code>, <Badge tone={batchTone(submitted.state)}>{submitted.state}</Badge>
        </p>
      )}
    </form>
  );
}

function SchemaField({ field, value, errors, onChange }: { field: FormField; value: string; errors?: string[]; onChange: (v: string) => void }) {
  const id = `arg-${field.name}`;
  const described = [field.description ? `${id}-help` : '', errors ? `${id}-error` : ''].filter(Boolean).join(' ') || undefined;
  const common = {
    id,
    name: field.name,
    'aria-invalid': errors ? true : undefined,
    'aria-describedby': described,
    'aria-required': field.required || undefined,
  };
  let input;
  if (field.kind === 'enum') {
    input = (
      <select {...common} value={value} onChange={(e) => onChange(e.currentTarget.value)}>
        <option value="">{field.required ? 'choose…' : '(default)'}</option>
        {field.options!.map((o) => (
          <option key={o} value={o}>
            {o}
          </option>
        ))}
      </select>
    );
  } else if (field.kind === 'boolean') {
    input = (
      <select {...common} value={value} onChange={(e) => onChange(e.currentTarget.value)}>
        <option value="">(default)</option>
        <option value="true">true</option>
        <option value="false">false</option>
      </select>
    );
  } else if (field.kind === 'json') {
    input = <textarea {...common} rows={3} value={value} onInput={(e) => onChange(e.currentTarget.value)} placeholder={field.placeholder} />;
  } else {
    input = (
      <input
        {...common}
        type={field.inputType ?? 'text'}
        min={field.min}
        max={field.max}
        step={field.kind === 'integer' ? 1 : undefined}
        value={value}
        placeholder={field.placeholder}
        onInput={(e) => onChange(e.currentTarget.value)}
      />
    );
  }
  return (
    <div class={`field${errors ? ' invalid' : ''}`} data-field={field.name}>
      <label for={id}>
        {field.label}
        {field.required ? ' (required)' : ''}
      </label>
      {input}
      {field.description && (
        <p id={`${id}-help`} class="help">
          {field.description}
          {field.kind === 'list' ? ' Separate values with commas.' : ''}
        </p>
      )}
      {errors && (
        <p id={`${id}-error`} class="field-error">
          {errors.join('; ')}
        </p>
      )}
    </div>
  );
}
