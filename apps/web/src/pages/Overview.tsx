import type { DependencyStatusDto, PipelineDto } from '../api';
import { StreamControls } from '../components/StreamControls';
import { Badge, ErrorBox, Section, DataTable, num, Updated } from '../components/ui';
import { useApi } from '../context';
import { ago, count, rate, seconds } from '../format';
import { usePolled, useTitle } from '../hooks';
import { hrefOf } from '../route';
import { streamTone, upTone, verdictTone } from '../tones';

const POLL_MS = 3000;

const VERDICT_WORDS: Record<string, string> = {
  flowing: 'Flowing: every source is stored in time',
  lagging: 'Lagging: a source is falling behind',
  stalled: 'Stalled: events wait in Kafka and nothing stores them',
  stopped: 'Stopped: the stream is stopped on request; events wait in Kafka',
  degraded: 'Degraded: a dependency is down',
};

/** The home page: the pipeline as its four stages, each source's flow, the dependencies, live. */
export function Overview() {
  useTitle('Overview');
  const api = useApi();
  const pipeline = usePolled(() => api.pipeline(), [], POLL_MS);
  const p = pipeline.data;

  return (
    <>
      <div class="page-head">
        <h1>Pipeline</h1>
        <Updated at={pipeline.at} loading={pipeline.loading} />
      </div>
      <ErrorBox error={pipeline.error} title="GET /pipeline failed" />
      {p && (
        <>
          <Verdict p={p} />
          <Stages p={p} onChanged={pipeline.reload} />
          <Sources p={p} />
          <Dependencies deps={p.dependencies} />
        </>
      )}
    </>
  );
}

function Verdict({ p }: { p: PipelineDto }) {
  const tone = verdictTone(p.verdict);
  return (
    <section class={`verdict tone-${tone}`} aria-labelledby="verdict-title" data-verdict={p.verdict}>
      <h2 id="verdict-title">
        <Badge tone={tone}>{p.verdict.toUpperCase()}</Badge> <span class="verdict-words">{VERDICT_WORDS[p.verdict] ?? p.verdict}</span>
      </h2>
      {p.reasons.length > 0 && (
        <ul class="reasons">
          {p.reasons.map((r) => (
            <li key={r}>{r}</li>
          ))}
        </ul>
      )}
    </section>
  );
}

const dependency = (p: PipelineDto, name: string) => p.dependencies.find((d) => d.name === name);
const sum = (values: (number | undefined)[]) => values.reduce<number>((a, v) => a + (v ?? 0), 0);

function DepLine({ dep, name }: { dep?: DependencyStatusDto; name: string }) {
  if (!dep) return null;
  return (
    <p class="stage-dep">
      {name} <Badge tone={upTone(dep.up)}>{dep.up ? 'up' : 'down'}</Badge>
    </p>
  );
}

/** HTTP ingest → Kafka → Spark stream → Cassandra, each with what it is doing now. */
function Stages({ p, onChanged }: { p: PipelineDto; onChanged: () => Promise<void> }) {
  const lag = sum(p.sources.map((s) => s.lagEvents));
  const freshest = p.sources.map((s) => s.freshnessSeconds).filter((f): f is number => f !== undefined);
  return (
    <section aria-labelledby="flow-title" class="card">
      <h2 id="flow-title">The flow</h2>
      <ol class="stages">
        <li class="stage">
          <h3>HTTP ingest</h3>
          <p class="stage-figure">{rate(sum(p.sources.map((s) => s.inPerSecond)))}</p>
          <p class="stage-note">events accepted, all sources</p>
        </li>
        <li class="stage">
          <h3>Kafka</h3>
          <p class="stage-figure">{count(lag)}</p>
          <p class="stage-note">events waiting (lag)</p>
          <DepLine dep={dependency(p, 'kafka')} name="Kafka" />
        </li>
        <li class="stage">
          <h3>Spark stream</h3>
          <p class="stage-figure">
            <Badge tone={streamTone(p.stream.state)}>{p.stream.state}</Badge>
          </p>
          <p class="stage-note">
            desired {p.stream.desired}; last micro-batch {ago(p.stream.lastBatchAt)}
            {p.stream.lastBatchDurationMs !== undefined ? ` (${seconds(p.stream.lastBatchDurationMs / 1000)})` : ''}; {p.stream.restarts} restarts
          </p>
          {p.stream.error && <p class="stage-error">{p.stream.error}</p>}
          <DepLine dep={dependency(p, 'livy')} name="Livy" />
          <StreamControls desired={p.stream.desired} state={p.stream.state} onChanged={onChanged} />
        </li>
        <li class="stage">
          <h3>Cassandra</h3>
          <p class="stage-figure">{rate(sum(p.sources.map((s) => s.outPerSecond)))}</p>
          <p class="stage-note">events stored; freshest {freshest.length ? `${seconds(Math.min(...freshest))} old` : '—'}</p>
          <DepLine dep={dependency(p, 'cassandra')} name="Cassandra" />
        </li>
      </ol>
    </section>
  );
}

function Sources({ p }: { p: PipelineDto }) {
  return (
    <Section title="Sources" id="sources">
      <DataTable label="Sources" columns={['Source', 'Topic', num('In'), num('Out'), num('Lag (events)'), num('Lag (time)'), num('Freshness')]}>
        {p.sources.map((s) => (
          <tr key={s.source} data-source={s.source}>
            <th scope="row">
              <a href={hrefOf({ page: 'source', source: s.source })}>{s.source}</a>
            </th>
            <td>
              <code>{s.topic}</code>
            </td>
            <td class="num">{rate(s.inPerSecond)}</td>
            <td class="num">{rate(s.outPerSecond)}</td>
            <td class="num" data-lag-events={s.lagEvents}>
              {count(s.lagEvents)}
            </td>
            <td class="num">{seconds(s.lagSeconds)}</td>
            <td class="num">{s.freshnessSeconds === undefined ? 'nothing stored' : `${seconds(s.freshnessSeconds)} old`}</td>
          </tr>
        ))}
      </DataTable>
    </Section>
  );
}

function Dependencies({ deps }: { deps: DependencyStatusDto[] }) {
  return (
    <Section title="Dependencies" id="dependencies">
      <ul class="deps">
        {deps.map((d) => (
          <li key={d.name} data-dependency={d.name} data-up={String(d.up)}>
            <span class="dep-name">{d.name}</span> <Badge tone={upTone(d.up)}>{d.up ? 'up' : 'down'}</Badge>
            {d.message && <span class="dep-message">{d.message}</span>}
          </li>
        ))}
      </ul>
    </Section>
  );
}
