import { useState } from 'preact/hooks';
import type { DagDto, DagRunDto } from '../api';
import { ApiError } from '../api';
import { Badge, ErrorBox, Section, DataTable, num, Updated } from '../components/ui';
import { useApi } from '../context';
import { seconds, time } from '../format';
import { useAction, usePolled, useTitle } from '../hooks';
import { airflowTone } from '../tones';

/** Airflow's states of a run that has ended (GET /dags/{id}/runs/{runId}). */
const ENDED = new Set(['success', 'failed']);

/** The DAGs: paused or not, their last run; pause, unpause, trigger with a conf and follow the run. */
export function AirflowPage() {
  useTitle('Airflow');
  const api = useApi();
  const dags = usePolled(() => api.dags(), [], 10_000);
  const [triggering, setTriggering] = useState<string>();
  const [followed, setFollowed] = useState<DagRunDto>();
  return (
    <>
      <div class="page-head">
        <h1>Airflow</h1>
        <Updated at={dags.at} loading={dags.loading} />
      </div>
      <ErrorBox error={dags.error} title="GET /dags failed" />
      {dags.data && (
        <Section title="DAGs" id="dags">
          <DataTable label="DAGs" columns={['DAG', 'Paused', 'Schedule', 'Last run', 'Actions']}>
            {dags.data.dags.map((d) => (
              <DagRow key={d.dagId} dag={d} onChanged={dags.reload} onTrigger={() => setTriggering(d.dagId)} />
            ))}
          </DataTable>
        </Section>
      )}
      {triggering && (
        <Trigger
          key={triggering}
          dag={dags.data?.dags.find((d) => d.dagId === triggering)}
          dagId={triggering}
          onCancel={() => setTriggering(undefined)}
          onTriggered={(run) => {
            setTriggering(undefined);
            setFollowed(run);
          }}
        />
      )}
      {followed && (
        <FollowRun
          key={followed.runId}
          dagId={followed.dagId}
          runId={followed.runId}
          paused={dags.data?.dags.find((d) => d.dagId === followed.dagId)?.isPaused}
          onEnded={dags.reload}
        />
      )}
    </>
  );
}

function DagRow({ dag, onChanged, onTrigger }: { dag: DagDto; onChanged: () => Promise<void>; onTrigger: () => void }) {
  const api = useApi();
  const toggle = useAction(async () => (await api.setPaused(dag.dagId, !dag.isPaused), await onChanged()));
  return (
    <>
      <tr data-dag={dag.dagId}>
        <th scope="row">
          <code>{dag.dagId}</code>
          {dag.description && <span class="sub">{dag.description}</span>}
        </th>
        <td data-paused={String(dag.isPaused)}>
          <Badge tone={dag.isPaused ? 'warn' : 'ok'}>{dag.isPaused ? 'paused' : 'active'}</Badge>
        </td>
        <td class="nowrap">
          <code>{dag.schedule ?? '—'}</code>
        </td>
        <td>
          {dag.lastRun ? (
            <>
              <Badge tone={airflowTone(dag.lastRun.state)}>{dag.lastRun.state}</Badge> {time(dag.lastRun.startDate ?? dag.lastRun.logicalDate)}
            </>
          ) : (
            'never'
          )}
        </td>
        <td class="row-actions">
          <button type="button" disabled={toggle.pending} onClick={() => void toggle.run()}>
            {dag.isPaused ? 'Unpause' : 'Pause'}
          </button>
          <button type="button" onClick={onTrigger}>
            Trigger…
          </button>
        </td>
      </tr>
      {toggle.error && (
        <tr>
          <td colSpan={5}>
            <ErrorBox error={toggle.error} title={`PATCH /dags/${dag.dagId} failed`} />
          </td>
        </tr>
      )}
    </>
  );
}

function Trigger({ dagId, dag, onCancel, onTriggered }: { dagId: string; dag?: DagDto; onCancel: () => void; onTriggered: (run: DagRunDto) => void }) {
  const api = useApi();
  const [conf, setConf] = useState(() => JSON.stringify(dag?.lastRun?.conf ?? {}, null, 2));
  const [confError, setConfError] = useState<string>();
  const [error, setError] = useState<ApiError>();
  const [pending, setPending] = useState(false);

  function parse(text: string): Record<string, unknown> | undefined {
    try {
      const value: unknown = JSON.parse(text);
      if (typeof value !== 'object' || value === null || Array.isArray(value)) {
        setConfError('conf must be a JSON object, e.g. {"count": 3}');
        return undefined;
      }
      setConfError(undefined);
      return value as Record<string, unknown>;
    } catch (err) {
      setConfError(`Not JSON: ${(err as Error).message}`);
      return undefined;
    }
  }

  async function submit(e: Event) {
    e.preventDefault();
    const value = parse(conf);
    if (!value) return;
    setPending(true);
    setError(undefined);
    try {
      onTriggered((await api.trigger(dagId, value)).body);
    } catch (err) {
      setError(err as ApiError);
    } finally {
      setPending(false);
    }
  }

  return (
    <Section title={`Trigger ${dagId}`} id="trigger">
      {dag?.isPaused && (
        <p class="warning" role="note">
          This DAG is paused: a run triggered now stays queued until it is unpaused.
        </p>
      )}
      <form onSubmit={(e) => void submit(e)} noValidate class="stack">
        <label for="dag-conf">conf (a JSON object, the run's dag_run.conf)</label>
        <textarea
          id="dag-conf"
          rows={6}
          spellcheck={false}
          value={conf}
          onInput={(e) => {
            setConf(e.currentTarget.value);
            parse(e.currentTarget.value);
          }}
          aria-invalid={confError ? true : undefined}
          aria-describedby={confError ? 'dag-conf-error' : undefined}
        />
        {confError && (
          <p id="dag-conf-error" class="field-error">
            {confError}
          </p>
        )}
        <div class="buttons">
          <button type="submit" disabled={pending || confError !== undefined}>
            {pending ? 'Triggering…' : 'Trigger run'}
          </button>
          <button type="button" class="secondary" onClick={onCancel}>
            Cancel
          </button>
        </div>
      </form>
      <ErrorBox error={error} title="The run was not triggered" />
    </Section>
  );
}

/** A run and its task instances, read every 2 s until the run has ended. */
function FollowRun({ dagId, runId, paused, onEnded }: { dagId: string; runId: string; paused?: boolean; onEnded: () => Promise<void> }) {
  const api = useApi();
  const [ended, setEnded] = useState(false);
  const follow = usePolled(
    async () => {
      const [run, tasks] = await Promise.all([api.run(dagId, runId), api.tasks(dagId, runId)]);
      if (ENDED.has(run.state) && !ended) {
        setEnded(true);
        void onEnded();
      }
      return { run, tasks: tasks.tasks };
    },
    [dagId, runId, ended],
    ended ? undefined : 2000,
  );
  const run = follow.data?.run;
  return (
    <Section title={`Run ${runId}`} id="run" actions={<Updated at={follow.at} loading={follow.loading} />}>
      <ErrorBox error={follow.error} title="Following the run failed" />
      {run && (
        <p class="run-state" data-state={run.state} role="status">
          <code>{dagId}</code> run <Badge tone={airflowTone(run.state)}>{run.state}</Badge>
          {ENDED.has(run.state) ? ` (ended ${time(run.endDate)})` : ' (following…)'}
        </p>
      )}
      {run?.state === 'queued' && paused && (
        <p class="warning" role="note">
          The DAG is paused: the run waits, queued, until it is unpaused.
        </p>
      )}
      {follow.data && (
        <DataTable label="Task instances" columns={['Task', 'State', num('Try'), 'Started', 'Ended', num('Duration')]}>
          {follow.data.tasks.map((t) => (
            <tr key={t.taskId} data-task={t.taskId}>
              <td>
                <code>{t.taskId}</code>
              </td>
              <td>{t.state ? <Badge tone={airflowTone(t.state)}>{t.state}</Badge> : 'not started'}</td>
              <td class="num">{t.tryNumber}</td>
              <td>{time(t.startDate)}</td>
              <td>{time(t.endDate)}</td>
              <td class="num">{seconds(t.durationSeconds)}</td>
            </tr>
          ))}
        </DataTable>
      )}
    </Section>
  );
}
