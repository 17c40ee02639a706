import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import type { RecordDto, RecordsPageDto, SourceDto } from '../api';
import { ApiError } from '../api';
import { StatsChart } from '../components/StatsChart';
import { ErrorBox, Facts, Pre, Section, DataTable, Updated } from '../components/ui';
import { useApi } from '../context';
import { count, millis, oneLine, time } from '../format';
import { usePolled, useTitle } from '../hooks';
import { exampleFor } from '../schema-sample';

const PAGE_SIZE = 20;
const RANGES = [
  { label: 'Last hour', ms: 3600_000 },
  { label: 'Last 6 hours', ms: 6 * 3600_000 },
  { label: 'Last 24 hours', ms: 24 * 3600_000 },
  { label: 'Last 7 days', ms: 7 * 24 * 3600_000 },
];

/** One source: its recent events, its per-minute counts, its schema, and a test event sent end to end. */
export function SourcePage({ source }: { source: string }) {
  useTitle(`Source ${source}`);
  const api = useApi();
  const sources = usePolled(() => api.sources(), []);
  const info = sources.data?.sources.find((s) => s.name === source);
  // Bumped when a test event became readable, so the list shows it.
  const [refreshed, setRefreshed] = useState(0);

  return (
    <>
      <div class="page-head">
        <h1>
          Source <code>{source}</code>
        </h1>
      </div>
      <ErrorBox error={sources.error} title="GET /sources failed" />
      {sources.data && !info && (
        <p class="error" role="alert">
          No source is named <code>{source}</code>; the configured ones are {sources.data.sources.map((s) => s.name).join(', ')}.
        </p>
      )}
      {info && (
        <>
          <Facts
            items={[
              ['Topic', <code>{info.topic}</code>],
              ['Description', info.description ?? '—'],
              [
                'Kafka key',
                info.keyField ? (
                  <>
                    payload field <code>{info.keyField}</code>
                  </>
                ) : (
                  'the event id'
                ),
              ],
              ['Body limit', `${count(info.maxBodyBytes)} bytes`],
              ['Signed', info.signatureScheme ? `yes (${info.signatureScheme}): deliveries carry a signature, not an API key` : 'no: an API key'],
            ]}
          />
          <TestEvent source={info} onReadable={() => setRefreshed((n) => n + 1)} />
          <Records source={source} refreshed={refreshed} />
          <Stats source={source} />
          <Section title="Schema" id="schema">
            {info.schema ? <Pre label={`Schema of ${source}`}>{JSON.stringify(info.schema, null, 2)}</Pre> : <p>No schema: any JSON object is accepted.</p>}
          </Section>
        </>
      )}
    </>
  );
}

/** Recent events, newest first, a page at a time (the API's page tokens; older pages are remembered to go back). */
function Records({ source, refreshed }: { source: string; refreshed: number }) {
  const api = useApi();
  const [tokens, setTokens] = useState<(string | undefined)[]>([undefined]);
  const token = tokens[tokens.length - 1];
  const firstPage = tokens.length === 1;
  const page = usePolled<RecordsPageDto>(
    () => api.records(source, { limit: PAGE_SIZE, pageToken: token }),
    [source, token, refreshed],
    firstPage ? 5000 : undefined,
  );

  return (
    <Section
      title="Recent events"
      id="records"
      actions={
        <>
          <Updated at={page.at} loading={page.loading} />
          <button type="button" onClick={() => void page.reload()}>
            Refresh
          </button>
        </>
      }
    >
      <ErrorBox error={page.error} title="GET /records failed" />
      {page.data && page.data.items.length === 0 && <p>No event stored in the last 7 days{firstPage ? '' : ' on this page'}.</p>}
      {page.data && page.data.items.length > 0 && (
        <DataTable label="Recent events" columns={['Received', 'Stored after', 'Event id', 'Key', 'Payload']} class="records">
          {page.data.items.map((r) => (
            <RecordRow key={r.eventId} record={r} />
          ))}
        </DataTable>
      )}
      <div class="pager">
        <button type="button" disabled={firstPage} onClick={() => setTokens((t) => t.slice(0, -1))}>
          Newer
        </button>
        <span>Page {tokens.length}</span>
        <button type="button" disabled={!page.data?.nextPageToken} onClick={() => setTokens((t) => [...t, page.data!.nextPageToken])}>
          Older
        </button>
      </div>
    </Section>
  );
}

function RecordRow({ record }: { record: RecordDto }) {
  const stored = record.processedAt ? Date.parse(record.processedAt) - Date.parse(record.receivedAt) : undefined;
  return (
    <tr data-event-id={record.eventId}>
      <td>{time(record.receivedAt)}</td>
      <td>{millis(stored)}</td>
      <td>
        <code class="id">{record.eventId}</code>
      </td>
      <td>{record.key ?? '—'}</td>
      <td>
        <details>
          <summary>{oneLine(record.payload, 60)}</summary>
          <Pre label={`Payload of event ${record.eventId}`}>{JSON.stringify(record.payload, null, 2)}</Pre>
        </details>
      </td>
    </tr>
  );
}

function Stats({ source }: { source: string }) {
  const api = useApi();
  const [range, setRange] = useState(0);
  const stats = usePolled(
    () => {
      const to = new Date(Math.ceil(Date.now() / 60_000) * 60_000 + 60_000);
      return api.stats(source, new Date(to.getTime() - RANGES[range].ms).toISOString(), to.toISOString());
    },
    [source, range],
    15_000,
  );
  return (
    <Section
      title="Events per minute"
      id="stats"
      actions={
        <>
          <label for="stats-range">Range</label>
          <select id="stats-range" value={range} onChange={(e) => setRange(Number(e.currentTarget.value))}>
            {RANGES.map((r, i) => (
              <option key={r.label} value={i}>
                {r.label}
              </option>
            ))}
          </select>
        </>
      }
    >
      <ErrorBox error={stats.error} title="GET /stats failed" />
      <StatsChart stats={stats.data} />
    </Section>
  );
}

interface Sent {
  status: number;
  eventId: string;
  sentAt: number;
  readableAt?: number;
  record?: RecordDto;
  gaveUp?: boolean;
  /** Why the source quarantined the event: it went to the dead-letter topic and never becomes readable in GET /records. */
  quarantined?: { field: string; message: string }[];
}

const FOLLOW_MS = 500;
const FOLLOW_FOR_MS = 120_000;

/**
 * Sends one event through the API and watches GET /records until it is readable: the 202, the
 * event id, and how long the event took from the request to being readable.
 */
function TestEvent({ source, onReadable }: { source: SourceDto; onReadable: () => void }) {
  const api = useApi();
  const example = useMemo(() => JSON.stringify(exampleFor(source.schema), null, 2), [source]);
  const [text, setText] = useState(example);
  const [parseError, setParseError] = useState<string>();
  const [error, setError] = useState<ApiError>();
  const [sent, setSent] = useState<Sent>();
  const [sending, setSending] = useState(false);
  const following = useRef(0);

  useEffect(() => () => void following.current++, []);

  if (source.signatureScheme) {
    return (
      <Section title="Send a test event" id="test-event">
        <p>
          This source is signed ({source.signatureScheme}): its deliveries carry the sender's signature instead of an API key, so the console cannot send one.
          See the Webhooks section of docs/api.md for a delivery signed by hand.
        </p>
      </Section>
    );
  }

  async function follow(eventId: string, sentAt: number, mine: number) {
    const from = new Date(sentAt - 60_000).toISOString();
    while (mine === following.current && Date.now() - sentAt < FOLLOW_FOR_MS) {
      try {
        const page = await api.records(source.name, { from, limit: 1000 });
        const record = page.items.find((r) => r.eventId === eventId);
        if (record) {
          if (mine !== following.current) return;
          setSent((s) => s && { ...s, readableAt: Date.now(), record });
          onReadable();
          return;
        }
      } catch (err) {
        if (mine === following.current) setError(err as ApiError);
      }
      await new Promise((r) => setTimeout(r, FOLLOW_MS));
    }
    if (mine === following.current) setSent((s) => s && { ...s, gaveUp: true });
  }

  async function submit(e: Event) {
    e.preventDefault();
    let event: unknown;
    try {
      event = JSON.parse(text);
    } catch (err) {
      setParseError(`Not JSON: ${(err as Error).message}`);
      return;
    }
    setParseError(undefined);
    setError(undefined);
    setSent(undefined);
    setSending(true);
    const mine = ++following.current;
    const sentAt = Date.now();
    try {
      const answer = await api.ingest(source.name, event);
      const eventId = answer.body.eventIds[0];
      const quarantined = answer.body.quarantinedEvents?.find((q) => q.eventId === eventId);
      setSent({ status: answer.status, eventId, sentAt, quarantined: quarantined?.reasons });
      if (!quarantined) void follow(eventId, sentAt, mine);
    } catch (err) {
      setError(err as ApiError);
    } finally {
      setSending(false);
    }
  }

  return (
    <Section title="Send a test event" id="test-event">
      <form onSubmit={(e) => void submit(e)} noValidate class="stack">
        <label for="test-event-body">Event (JSON)</label>
        <textarea
          id="test-event-body"
          rows={6}
          spellcheck={false}
          value={text}
          onInput={(e) => setText(e.currentTarget.value)}
          aria-invalid={parseError ? true : undefined}
          aria-describedby={parseError ? 'test-event-parse' : undefined}
        />
        {parseError && (
          <p id="test-event-parse" class="field-error">
            {parseError}
          </p>
        )}
        <div class="buttons">
          <button type="submit" disabled={sending}>
            {sending ? 'Sending…' : `POST /ingest/${source.name}`}
          </button>
        </div>
      </form>
      <ErrorBox error={error} title="The event was not accepted" />
      {sent?.quarantined && (
        <div class="sent quarantined" role="status" data-event-id={sent.eventId}>
          <p>
            <strong>{sent.status} Quarantined</strong>: event <code class="id">{sent.eventId}</code> fails the schema of <code>{source.name}</code>, so it was
            set aside in the dead-letter topic <code>{source.deadLetterTopic}</code> instead of being stored: it is listed by{' '}
            <code>GET /api/v1/dead-letters/{source.name}</code> and replayed with <code>POST /api/v1/dead-letters/{source.name}/replay</code> once the schema or
            the event is fixed (see Quarantine and replay in docs/api.md).
          </p>
          <ul class="reasons">
            {sent.quarantined.map((r) => (
              <li key={`${r.field} ${r.message}`}>
                <code>{r.field}</code> {r.message}
              </li>
            ))}
          </ul>
        </div>
      )}
      {sent && !sent.quarantined && (
        <div class="sent" role="status" data-event-id={sent.eventId}>
          <p>
            <strong>{sent.status} Accepted</strong>: Kafka acknowledged event <code class="id">{sent.eventId}</code> at{' '}
            {time(new Date(sent.sentAt).toISOString())}.
          </p>
          {sent.readableAt === undefined && !sent.gaveUp && <p>Waiting for it to be readable in GET /records…</p>}
          {sent.gaveUp && <p class="field-error">Not readable after {FOLLOW_FOR_MS / 1000} s: is the stream running? (see the overview)</p>}
          {sent.readableAt !== undefined && sent.record && (
            <>
              <p class="readable" data-latency-ms={sent.readableAt - sent.sentAt}>
                <strong>Readable after {millis(sent.readableAt - sent.sentAt)}</strong> (end to end, from this request to GET /records); stored{' '}
                {millis(Date.parse(sent.record.processedAt ?? sent.record.receivedAt) - Date.parse(sent.record.receivedAt))} after it was received.
              </p>
              <Pre label={`Event ${sent.eventId} as GET /records answers it`} class="stored">
                {JSON.stringify(sent.record, null, 2)}
              </Pre>
            </>
          )}
        </div>
      )}
    </Section>
  );
}
