import type { ComponentChildren } from 'preact';
import type { ApiError } from '../api';
import { time } from '../format';
import { GLYPH, Tone } from '../tones';

/**
 * An error of the API as it answered it: status, message, request id, and what `details` names (or
 * `fields`, when a form shows the others at its own fields).
 */
export function ErrorBox({ error, title, fields: shown }: { error?: ApiError; title?: string; fields?: [string, string[]][] }) {
  if (!error) return null;
  const fields = shown ?? [...error.fieldErrors()];
  return (
    <div class="error" role="alert">
      <p class="error-title">
        {title ? `${title}: ` : ''}
        {error.status ? `${error.status} ${error.error}` : error.error}
      </p>
      <p class="error-message">{error.message}</p>
      {fields.length > 0 && (
        <ul class="error-fields">
          {fields.map(([field, messages]) => (
            <li key={field}>
              <code>{field}</code> {messages.join('; ')}
            </li>
          ))}
        </ul>
      )}
      {error.requestId && (
        <p class="error-request">
          request id <code>{error.requestId}</code>
        </p>
      )}
    </div>
  );
}

/** A state in words, coloured, with a glyph that says the same. */
export function Badge({ tone, children, label }: { tone: Tone; children: ComponentChildren; label?: string }) {
  return (
    <span class={`badge tone-${tone}`} title={label}>
      <span aria-hidden="true" class="glyph">
        {GLYPH[tone]}
      </span>{' '}
      {children}
    </span>
  );
}

/** When the data shown was read, and whether it is being read again. */
export function Updated({ at, loading }: { at?: Date; loading?: boolean }) {
  return (
    <p class="updated" aria-live="off">
      {at ? `Updated ${time(at.toISOString())}` : loading ? 'Loading…' : ''}
    </p>
  );
}

/** A section of a page with its heading. */
export function Section({ title, id, children, actions }: { title: string; id?: string; children: ComponentChildren; actions?: ComponentChildren }) {
  const headingId = id ? `${id}-title` : undefined;
  return (
    <section class="card" aria-labelledby={headingId} id={id}>
      <div class="card-head">
        <h2 id={headingId}>{title}</h2>
        {actions && <div class="card-actions">{actions}</div>}
      </div>
      {children}
    </section>
  );
}

/** Terms and their values. */
export function Facts({ items }: { items: [string, ComponentChildren][] }) {
  return (
    <dl class="facts">
      {items.map(([term, value]) => (
        <div key={term}>
          <dt>{term}</dt>
          <dd>{value}</dd>
        </div>
      ))}
    </dl>
  );
}

/** A column heading of a DataTable: its text, or `num(text)` for a column of numbers (aligned right). */
export type Column = string | { num: string };
export const num = (heading: string): Column => ({ num: heading });

/**
 * A table with its column headings and `children` as its body rows, in a box that scrolls sideways
 * on a narrow screen; focusable so the keyboard can scroll it.
 */
export function DataTable({ label, columns, class: className, children }: { label: string; columns: Column[]; class?: string; children: ComponentChildren }) {
  return (
    <div class="table-wrap" tabIndex={0} role="region" aria-label={label}>
      <table class={className}>
        <thead>
          <tr>
            {columns.map((c) =>
              typeof c === 'string' ? (
                <th scope="col" key={c}>
                  {c}
                </th>
              ) : (
                <th scope="col" class="num" key={c.num}>
                  {c.num}
                </th>
              ),
            )}
          </tr>
        </thead>
        <tbody>{children}</tbody>
      </table>
    </div>
  );
}

/** Preformatted text (JSON, logs) in a box that scrolls, reachable by keyboard. */
export function Pre({ label, children, class: className }: { label: string; children: ComponentChildren; class?: string }) {
  return (
    <pre class={`pre ${className ?? ''}`} tabIndex={0} role="region" aria-label={label}>
      {children}
    </pre>
  );
}
