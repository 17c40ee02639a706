import { useState } from 'preact/hooks';
import type { CreatedKeyDto, CreateKeyDto, KeyDto } from '../api';
import { Badge, DataTable, ErrorBox, Section, Updated } from '../components/ui';
import { useApi } from '../context';
import { ago, time } from '../format';
import { useAction, usePolled, useTitle } from '../hooks';

/** API keys: each with its scopes and dates; create (its secret shown once), rotate, revoke. */
export function KeysPage() {
  useTitle('Keys');
  const api = useApi();
  const keys = usePolled(() => api.keys(), []);
  const [creating, setCreating] = useState(false);
  const [secret, setSecret] = useState<{ what: string; key: CreatedKeyDto }>();

  return (
    <>
      <div class="page-head">
        <h1>Keys</h1>
        <Updated at={keys.at} loading={keys.loading} />
      </div>
      <ErrorBox error={keys.error} title="GET /keys failed" />
      {secret && <Secret what={secret.what} created={secret.key} onDone={() => setSecret(undefined)} />}
      <div class="buttons">
        <button type="button" onClick={() => setCreating(!creating)} aria-expanded={creating}>
          New key
        </button>
      </div>
      {creating && (
        <NewKey
          onCreated={async (key) => {
            setCreating(false);
            setSecret({ what: `Key “${key.name}” created`, key });
            await keys.reload();
          }}
          onCancel={() => setCreating(false)}
        />
      )}
      {keys.data && (
        <Section title="All keys" id="keys">
          {keys.data.keys.length === 0 ? (
            <p>No stored key yet: only the keys of API_KEYS work.</p>
          ) : (
            <DataTable label="Keys" columns={['Name', 'Id', 'Scopes', 'Created', 'Last used', 'Expires', 'State', 'Actions']}>
              {keys.data.keys.map((k) => (
                <KeyRow key={k.id} k={k} onRotated={(key) => (setSecret({ what: `Key “${key.name}” rotated`, key }), keys.reload())} onRevoked={keys.reload} />
              ))}
            </DataTable>
          )}
        </Section>
      )}
    </>
  );
}

/** A secret the API answers once: only its hash is stored, so it is shown here this once. */
function Secret({ what, created, onDone }: { what: string; created: CreatedKeyDto; onDone: () => void }) {
  const [copied, setCopied] = useState<string>();
  return (
    <section class="card secret" aria-labelledby="secret-title" id="secret">
      <h2 id="secret-title">{what}: copy its secret now</h2>
      <p>
        <strong>You will not see it again</strong>: only its hash is kept. Lost, it can only be rotated.
      </p>
      <div class="secret-value">
        <code id="secret-value">{created.key}</code>
        <button
          type="button"
          onClick={() =>
            void navigator.clipboard.writeText(created.key).then(
              () => setCopied('Copied.'),
              () => setCopied('The browser refused to copy: select the secret and copy it.'),
            )
          }
        >
          Copy
        </button>
      </div>
      <p class="help" role="status">
        {copied ?? ' '}
      </p>
      {created.previousSecretValidUntil && <p>The secret it replaces works until {time(created.previousSecretValidUntil)}.</p>}
      <div class="buttons">
        <button type="button" class="secondary" onClick={onDone}>
          I have copied it
        </button>
      </div>
    </section>
  );
}

function KeyRow({ k, onRotated, onRevoked }: { k: KeyDto; onRotated: (key: CreatedKeyDto) => Promise<void>; onRevoked: () => Promise<void> }) {
  const api = useApi();
  const [action, setAction] = useState<'rotate' | 'revoke'>();
  const [grace, setGrace] = useState('3600');
  const rotate = useAction(async () => {
    const key = await api.rotateKey(k.id, Number(grace));
    setAction(undefined);
    await onRotated(key);
  });
  const revoke = useAction(async () => {
    await api.revokeKey(k.id);
    setAction(undefined);
    await onRevoked();
  });
  const error = rotate.error ?? revoke.error;
  return (
    <>
      <tr data-key={k.name}>
        <th scope="row">{k.name}</th>
        <td>
          <code>{k.id}</code>
        </td>
        <td>
          {k.scopes.map((s) => (
            <code key={s} class="scope">
              {s}
            </code>
          ))}
        </td>
        <td class="nowrap">{time(k.createdAt)}</td>
        <td class="nowrap">{k.lastUsedAt ? ago(k.lastUsedAt) : 'never'}</td>
        <td class="nowrap">{k.expiresAt ? time(k.expiresAt) : 'never'}</td>
        <td>{k.revokedAt ? <Badge tone="neutral">revoked {time(k.revokedAt)}</Badge> : <Badge tone="ok">active</Badge>}</td>
        <td class="row-actions">
          {!k.revokedAt && action === undefined && (
            <>
              <button type="button" onClick={() => setAction('rotate')}>
                Rotate
              </button>
              <button type="button" class="danger" onClick={() => setAction('revoke')}>
                Revoke
              </button>
            </>
          )}
          {action === 'rotate' && (
            <>
              <label class="inline">
                old secret works for <input type="number" min={0} max={604800} value={grace} onInput={(e) => setGrace(e.currentTarget.value)} class="narrow" />{' '}
                s
              </label>
              <button type="button" disabled={rotate.pending} onClick={() => void rotate.run()}>
                Confirm rotate
              </button>
              <button type="button" class="secondary" onClick={() => setAction(undefined)}>
                Cancel
              </button>
            </>
          )}
          {action === 'revoke' && (
            <>
              <button type="button" class="danger" disabled={revoke.pending} onClick={() => void revoke.run()}>
                Confirm revoke
              </button>
              <button type="button" class="secondary" onClick={() => setAction(undefined)}>
                Keep
              </button>
            </>
          )}
        </td>
      </tr>
      {error && (
        <tr>
          <td colSpan={8}>
            <ErrorBox error={error} title={rotate.error ? 'Rotate failed' : 'Revoke failed'} />
          </td>
        </tr>
      )}
    </>
  );
}

const KINDS: { kind: string; label: string; perSource: boolean }[] = [
  { kind: 'ingest', label: 'ingest: send events to a source', perSource: true },
  { kind: 'read', label: 'read: records, stats, dead letters of a source', perSource: true },
  { kind: 'operate', label: 'operate: stream, batches, DAGs, schedules, replays', perSource: false },
  { kind: 'admin', label: 'admin: sources, keys, audit, and everything else', perSource: false },
];

/** Name, scopes (a kind, and for ingest and read a source or every source), expiry. */
function NewKey({ onCreated, onCancel }: { onCreated: (key: CreatedKeyDto) => Promise<void>; onCancel: () => void }) {
  const api = useApi();
  const sources = usePolled(() => api.sources(), []);
  const [name, setName] = useState('');
  const [kind, setKind] = useState('ingest');
  const [source, setSource] = useState('*');
  const [scopes, setScopes] = useState<string[]>([]);
  const [expires, setExpires] = useState('');
  const create = useAction(async (body: CreateKeyDto) => onCreated(await api.createKey(body)));
  const perSource = KINDS.find((k) => k.kind === kind)!.perSource;
  const scope = perSource ? `${kind}:${source}` : kind;

  return (
    <Section title="New key" id="key-new">
      <form
        noValidate
        class="stack grid-form"
        onSubmit={(e) => {
          e.preventDefault();
          void create.run({ name: name.trim(), scopes, ...(expires ? { expiresAt: new Date(expires).toISOString() } : {}) });
        }}
      >
        <div class="field">
          <label for="key-name">Name (who holds it)</label>
          <input id="key-name" value={name} onInput={(e) => setName(e.currentTarget.value)} />
        </div>
        <div class="field">
          <label for="key-expires">Expires (empty: never)</label>
          <input id="key-expires" type="datetime-local" value={expires} onInput={(e) => setExpires(e.currentTarget.value)} />
        </div>
        <fieldset class="wide scope-picker">
          <legend>Scopes</legend>
          <div class="field">
            <label for="key-scope-kind">Kind</label>
            <select id="key-scope-kind" value={kind} onChange={(e) => setKind(e.currentTarget.value)}>
              {KINDS.map((k) => (
                <option key={k.kind} value={k.kind}>
                  {k.label}
                </option>
              ))}
            </select>
          </div>
          {perSource && (
            <div class="field">
              <label for="key-scope-source">Source</label>
              <select id="key-scope-source" value={source} onChange={(e) => setSource(e.currentTarget.value)}>
                <option value="*">every source (*)</option>
                {(sources.data?.sources ?? []).map((s) => (
                  <option key={s.name} value={s.name}>
                    {s.name}
                  </option>
                ))}
              </select>
            </div>
          )}
          <div class="buttons">
            <button type="button" class="secondary" disabled={scopes.includes(scope)} onClick={() => setScopes([...scopes, scope])}>
              Add <code>{scope}</code>
            </button>
          </div>
          <ul class="scopes" aria-label="Scopes of the new key">
            {scopes.length === 0 && <li class="help">None yet: add at least one.</li>}
            {scopes.map((s) => (
              <li key={s}>
                <code>{s}</code>{' '}
                <button type="button" class="link" aria-label={`Remove ${s}`} onClick={() => setScopes(scopes.filter((x) => x !== s))}>
                  remove
                </button>
              </li>
            ))}
          </ul>
        </fieldset>
        <div class="buttons wide">
          <button type="submit" disabled={create.pending}>
            {create.pending ? 'Creating…' : 'Create key'}
          </button>
          <button type="button" class="secondary" onClick={onCancel}>
            Cancel
          </button>
        </div>
      </form>
      <ErrorBox error={sources.error} title="GET /sources failed" />
      <ErrorBox error={create.error} title="The key was not created" />
    </Section>
  );
}
