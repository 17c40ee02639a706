import { useEffect, useState } from 'preact/hooks';
import type { CreateScheduleDto, ScheduleDto, SchedulePreviewDto } from '../api';
import { ApiError } from '../api';
import { Badge, ErrorBox, Section, DataTable, Updated } from '../components/ui';
import { useApi } from '../context';
import { time } from '../format';
import { useAction, usePolled, useTitle } from '../hooks';

/** Schedules: cron triggers of a DAG or a Spark job; list, create, edit, delete, and each one's fires. */
export function SchedulesPage() {
  useTitle('Schedules');
  const api = useApi();
  const schedules = usePolled(() => api.schedules(), [], 10_000);
  const [editing, setEditing] = useState<ScheduleDto | 'new'>();
  const [fires, setFires] = useState<string>();
  const list = [...(schedules.data?.schedules ?? [])].sort((a, b) => a.name.localeCompare(b.name));

  return (
    <>
      <div class="page-head">
        <h1>Schedules</h1>
        <Updated at={schedules.at} loading={schedules.loading} />
      </div>
      <ErrorBox error={schedules.error} title="GET /schedules failed" />
      <div class="buttons">
        <button type="button" onClick={() => setEditing('new')} aria-expanded={editing === 'new'}>
          New schedule
        </button>
      </div>
      {editing && (
        <ScheduleForm
          key={editing === 'new' ? 'new' : editing.id}
          schedule={editing === 'new' ? undefined : editing}
          onDone={async () => {
            setEditing(undefined);
            await schedules.reload();
          }}
          onCancel={() => setEditing(undefined)}
        />
      )}
      {schedules.data && (
        <Section title="All schedules" id="schedules">
          {list.length === 0 ? (
            <p>No schedule yet.</p>
          ) : (
            <DataTable label="Schedules" columns={['Name', 'Cron', 'Target', 'Enabled', 'Next fire', 'Actions']}>
              {list.map((s) => (
                <ScheduleRow
                  key={s.id}
                  schedule={s}
                  onEdit={() => setEditing(s)}
                  onFires={() => setFires(fires === s.id ? undefined : s.id)}
                  firesOpen={fires === s.id}
                  onDeleted={schedules.reload}
                />
              ))}
            </DataTable>
          )}
        </Section>
      )}
      {fires && <Fires key={fires} schedule={list.find((s) => s.id === fires)} id={fires} />}
    </>
  );
}

function ScheduleRow({
  schedule: s,
  onEdit,
  onFires,
  firesOpen,
  onDeleted,
}: {
  schedule: ScheduleDto;
  onEdit: () => void;
  onFires: () => void;
  firesOpen: boolean;
  onDeleted: () => Promise<void>;
}) {
  const api = useApi();
  const [confirming, setConfirming] = useState(false);
  const remove = useAction(async () => (await api.deleteSchedule(s.id), await onDeleted()));
  return (
    <>
      <tr data-schedule={s.name}>
        <th scope="row">{s.name}</th>
        <td class="nowrap">
          <code>{s.cron}</code> <span class="sub">{s.timezone}</span>
        </td>
        <td>
          {s.target.kind} <code>{s.target.name}</code>
        </td>
        <td>
          <Badge tone={s.enabled ? 'ok' : 'neutral'}>{s.enabled ? 'enabled' : 'disabled'}</Badge>
        </td>
        <td>{time(s.nextFireAt)}</td>
        <td class="row-actions">
          <button type="button" onClick={onEdit}>
            Edit
          </button>
          <button type="button" onClick={onFires} aria-expanded={firesOpen}>
            Fires
          </button>
          {confirming ? (
            <>
              <button type="button" class="danger" disabled={remove.pending} onClick={() => void remove.run()}>
                Confirm delete
              </button>
              <button type="button" class="secondary" onClick={() => setConfirming(false)}>
                Keep
              </button>
            </>
          ) : (
            <button type="button" class="danger" onClick={() => setConfirming(true)}>
              Delete
            </button>
          )}
        </td>
      </tr>
      {remove.error && (
        <tr>
          <td colSpan={6}>
            <ErrorBox error={remove.error} title="Delete failed" />
          </td>
        </tr>
      )}
    </>
  );
}

function Fires({ id, schedule }: { id: string; schedule?: ScheduleDto }) {
  const api = useApi();
  const runs = usePolled(() => api.scheduleRuns(id), [id], 10_000);
  return (
    <Section title={`Fires of ${schedule?.name ?? id}`} id="fires" actions={<Updated at={runs.at} loading={runs.loading} />}>
      <ErrorBox error={runs.error} title="GET /schedules/{id}/runs failed" />
      {runs.data && runs.data.runs.length === 0 && <p>It has not fired yet.</p>}
      {runs.data && runs.data.runs.length > 0 && (
        <DataTable label="Fires" columns={['Fire time', 'Outcome', 'Run', 'Error', 'Replica']}>
          {runs.data.runs.map((r) => (
            <tr key={r.fireTime}>
              <td>{time(r.fireTime)}</td>
              <td>
                <Badge tone={r.status === 'triggered' ? 'ok' : 'bad'}>{r.status}</Badge>
              </td>
              <td>
                <code>{r.runRef ?? '—'}</code>
              </td>
              <td>{r.error ?? '—'}</td>
              <td>
                <code>{r.holder ?? '—'}</code>
              </td>
            </tr>
          ))}
        </DataTable>
      )}
    </Section>
  );
}

const zones = (): string[] => {
  try {
    return (Intl as unknown as { supportedValuesOf(k: string): string[] }).supportedValuesOf('timeZone');
  } catch {
    return ['UTC'];
  }
};

/** Create or edit: name, cron (with the next five fire times in the chosen zone, from the API), target and its conf or args. */
function ScheduleForm({ schedule, onDone, onCancel }: { schedule?: ScheduleDto; onDone: () => Promise<void>; onCancel: () => void }) {
  const api = useApi();
  const dags = usePolled(() => api.dags(), []);
  const jobs = usePolled(() => api.jobs(), []);
  const [name, setName] = useState(schedule?.name ?? '');
  const [cron, setCron] = useState(schedule?.cron ?? '0 2 * * *');
  const [timezone, setTimezone] = useState(schedule?.timezone ?? 'UTC');
  const [enabled, setEnabled] = useState(schedule?.enabled ?? true);
  const [kind, setKind] = useState<'dag' | 'job'>(schedule?.target.kind ?? 'dag');
  const [target, setTarget] = useState(schedule?.target.name ?? '');
  const [params, setParams] = useState(JSON.stringify((schedule?.target.kind === 'job' ? schedule.target.args : schedule?.target.conf) ?? {}, null, 2));
  const [paramsError, setParamsError] = useState<string>();
  const [error, setError] = useState<ApiError>();
  const [pending, setPending] = useState(false);
  const [preview, setPreview] = useState<{ data?: SchedulePreviewDto; error?: ApiError }>({});

  // The preview follows the cron and the zone as they are typed (the API parses them, as it will when firing).
  useEffect(() => {
    if (!cron.trim()) return setPreview({});
    let current = true;
    const timer = window.setTimeout(() => {
      api.previewSchedule(cron.trim(), timezone.trim() || 'UTC').then(
        (data) => current && setPreview({ data }),
        (err: ApiError) => current && setPreview({ error: err }),
      );
    }, 300);
    return () => {
      current = false;
      window.clearTimeout(timer);
    };
  }, [cron, timezone]);

  const targets = kind === 'dag' ? (dags.data?.dags ?? []).map((d) => d.dagId) : (jobs.data?.jobs ?? []).filter((j) => !j.streaming).map((j) => j.name);
  const targetName = target || targets[0] || '';

  async function submit(e: Event) {
    e.preventDefault();
    let parsed: Record<string, unknown>;
    try {
      parsed = JSON.parse(params) as Record<string, unknown>;
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('must be a JSON object');
      setParamsError(undefined);
    } catch (err) {
      setParamsError(`${kind === 'dag' ? 'conf' : 'args'}: ${(err as Error).message}`);
      return;
    }
    const body: CreateScheduleDto = {
      name: name.trim(),
      cron: cron.trim(),
      timezone: timezone.trim() || 'UTC',
      enabled,
      target: kind === 'dag' ? { kind, name: targetName, conf: parsed } : { kind, name: targetName, args: parsed },
    };
    setPending(true);
    setError(undefined);
    try {
      if (schedule) await api.updateSchedule(schedule.id, body);
      else await api.createSchedule(body);
      await onDone();
    } catch (err) {
      setError(err as ApiError);
    } finally {
      setPending(false);
    }
  }

  const cronProblem = preview.error?.message;
  return (
    <Section title={schedule ? `Edit ${schedule.name}` : 'New schedule'} id="schedule-form">
      <form onSubmit={(e) => void submit(e)} noValidate class="stack grid-form">
        <div class="field">
          <label for="schedule-name">Name</label>
          <input id="schedule-name" value={name} onInput={(e) => setName(e.currentTarget.value)} aria-required="true" />
        </div>
        <div class={`field${cronProblem ? ' invalid' : ''}`}>
          <label for="schedule-cron">Cron</label>
          <input
            id="schedule-cron"
            value={cron}
            spellcheck={false}
            onInput={(e) => setCron(e.currentTarget.value)}
            aria-describedby="schedule-cron-help schedule-preview"
            aria-invalid={cronProblem ? true : undefined}
          />
          <p id="schedule-cron-help" class="help">
            5 fields (minute hour day month weekday), or 6 with seconds first.
          </p>
        </div>
        <div class="field">
          <label for="schedule-timezone">Time zone</label>
          <input id="schedule-timezone" list="timezones" value={timezone} onInput={(e) => setTimezone(e.currentTarget.value)} />
          <datalist id="timezones">
            {zones().map((z) => (
              <option key={z} value={z} />
            ))}
          </datalist>
        </div>
        <div class="field preview" id="schedule-preview" aria-live="polite">
          {cronProblem ? (
            <p class="field-error">{cronProblem}</p>
          ) : preview.data ? (
            <>
              <p class="help">Next five fires ({preview.data.timezone}):</p>
              <ol class="fire-times">
                {preview.data.fires.map((f) => (
                  <li key={f.at}>
                    <time dateTime={f.at}>{f.local.replace('T', ' ')}</time>
                  </li>
                ))}
              </ol>
            </>
          ) : null}
        </div>
        <div class="field checkbox">
          <input id="schedule-enabled" type="checkbox" checked={enabled} onChange={(e) => setEnabled(e.currentTarget.checked)} />
          <label for="schedule-enabled">Enabled</label>
        </div>
        <div class="field">
          <label for="schedule-kind">Target</label>
          <select
            id="schedule-kind"
            value={kind}
            onChange={(e) => {
              setKind(e.currentTarget.value as 'dag' | 'job');
              setTarget('');
            }}
          >
            <option value="dag">an Airflow DAG</option>
            <option value="job">a Spark job</option>
          </select>
        </div>
        <div class="field">
          <label for="schedule-target">{kind === 'dag' ? 'DAG' : 'Job'}</label>
          <select id="schedule-target" value={targetName} onChange={(e) => setTarget(e.currentTarget.value)}>
            {targetName && !targets.includes(targetName) && <option value={targetName}>{targetName}</option>}
            {targets.map((t) => (
              <option key={t} value={t}>
                {t}
              </option>
            ))}
          </select>
        </div>
        <div class={`field wide${paramsError ? ' invalid' : ''}`}>
          <label for="schedule-params">{kind === 'dag' ? 'conf (JSON object)' : 'args (JSON object, checked against the job’s schema)'}</label>
          <textarea
            id="schedule-params"
            rows={4}
            spellcheck={false}
            value={params}
            onInput={(e) => setParams(e.currentTarget.value)}
            aria-invalid={paramsError ? true : undefined}
            aria-describedby={paramsError ? 'schedule-params-error' : undefined}
          />
          {paramsError && (
            <p id="schedule-params-error" class="field-error">
              {paramsError}
            </p>
          )}
        </div>
        <div class="buttons wide">
          <button type="submit" disabled={pending}>
            {pending ? 'Saving…' : schedule ? 'Save changes' : 'Create schedule'}
          </button>
          <button type="button" class="secondary" onClick={onCancel}>
            Cancel
          </button>
        </div>
      </form>
      <ErrorBox error={error} title={schedule ? 'The schedule was not changed' : 'The schedule was not created'} />
    </Section>
  );
}
