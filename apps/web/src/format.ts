// How numbers and times read on the console's pages. Pure functions, no DOM.

const DASH = '—';

/** Events per second: one decimal under 10, whole numbers above. */
export function rate(perSecond: number | undefined): string {
  if (perSecond === undefined || !Number.isFinite(perSecond)) return DASH;
  if (perSecond === 0) return '0/s';
  if (perSecond < 0.05) return '<0.1/s';
  return `${perSecond < 10 ? perSecond.toFixed(1) : Math.round(perSecond).toLocaleString('en-US')}/s`;
}

/** A count with thousands separators. */
export function count(n: number | undefined): string {
  return n === undefined || !Number.isFinite(n) ? DASH : n.toLocaleString('en-US');
}

/** A duration given in seconds: 850 ms, 4.2 s, 3 min 20 s, 2 h 5 min, 3 d 4 h. */
export function seconds(s: number | undefined): string {
  if (s === undefined || !Number.isFinite(s)) return DASH;
  if (s < 0) s = 0;
  if (s < 1) return `${Math.round(s * 1000)} ms`;
  if (s < 10) return `${s.toFixed(1)} s`;
  if (s < 60) return `${Math.round(s)} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${Math.round(s - m * 60)} s`;
  const h = Math.floor(m / 60);
  if (h < 24) return `${h} h ${m - h * 60} min`;
  const d = Math.floor(h / 24);
  return `${d} d ${h - d * 24} h`;
}

/** A duration given in milliseconds. */
export const millis = (ms: number | undefined): string => (ms === undefined ? DASH : seconds(ms / 1000));

/** A time of day with the date when it is not today (local time of the browser), e.g. 14:03:07 or 2026-01-02 14:03:07. */
export function time(iso: string | undefined, now = new Date()): string {
  if (!iso) return DASH;
  const t = new Date(iso);
  if (Number.isNaN(t.getTime())) return iso;
  const pad = (n: number) => String(n).padStart(2, '0');
  const clock = `${pad(t.getHours())}:${pad(t.getMinutes())}:${pad(t.getSeconds())}`;
  const sameDay = t.getFullYear() === now.getFullYear() && t.getMonth() === now.getMonth() && t.getDate() === now.getDate();
  return sameDay ? clock : `${t.getFullYear()}-${pad(t.getMonth() + 1)}-${pad(t.getDate())} ${clock}`;
}

/** How long ago, in words: "12 s ago", "in 3 min 0 s". */
export function ago(iso: string | undefined, now = Date.now()): string {
  if (!iso) return DASH;
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return iso;
  const diff = (now - t) / 1000;
  return diff >= 0 ? `${seconds(diff)} ago` : `in ${seconds(-diff)}`;
}

/** A JSON value, shortened to one line for a table cell. */
export function oneLine(value: unknown, max = 120): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}
