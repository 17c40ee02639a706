import request from 'supertest';
import { AUTH, eventually } from './harness';

const MINUTE = 60_000;
export const floorMinute = (t: number) => Math.floor(t / MINUTE) * MINUTE;

/** Something supertest can send requests to: an in-process app's server, or a URL. */
export type Target = Parameters<typeof request>[0];

/** Helpers that read the pipeline as a user does, through the API. */
export function pipelineOf(target: Target) {
  const api = () => request(target);

  const ingest = (source: string, events: object[]) =>
    api()
      .post(`/api/v1/ingest/${source}`)
      .set(AUTH)
      .send(events)
      .expect(202)
      .then((r) => r.body.eventIds as string[]);

  /** Every record id of a source in [from, to), following page tokens. */
  async function allRecords(source: string, from: number, to: number): Promise<string[]> {
    const ids: string[] = [];
    let token: string | undefined;
    do {
      const query = new URLSearchParams({ from: new Date(from).toISOString(), to: new Date(to).toISOString(), limit: '1000' });
      if (token) query.set('pageToken', token);
      const res = await api().get(`/api/v1/records/${source}?${query}`).set(AUTH).expect(200);
      ids.push(...res.body.items.map((r: { eventId: string }) => r.eventId));
      token = res.body.nextPageToken;
    } while (token);
    return ids;
  }

  /** Waits until every id is stored exactly once (and, with counts, the per-minute counts agree with the rows). */
  async function expectStored(source: string, ids: string[], since: number, { counts = true, timeoutMs = 180_000 } = {}): Promise<void> {
    const from = floorMinute(since - MINUTE);
    await eventually(
      `${ids.length} ${source} events stored once`,
      async () => {
        const to = floorMinute(Date.now()) + 2 * MINUTE;
        const stored = await allRecords(source, from, to);
        const wanted = new Set(ids);
        if (stored.filter((id) => wanted.has(id)).length < wanted.size) return undefined;
        // An event stored twice would be listed twice.
        expect(stored.filter((id) => wanted.has(id))).toHaveLength(wanted.size);
        if (!counts) return true;
        const stats = await api()
          .get(`/api/v1/stats/${source}?from=${new Date(from).toISOString()}&to=${new Date(to).toISOString()}`)
          .set(AUTH)
          .expect(200);
        return stats.body.total === stored.length ? true : undefined;
      },
      timeoutMs,
      1000,
    );
  }

  const streaming = async () => (await api().get('/api/v1/streaming').set(AUTH).expect(200)).body;

  /** Waits until GET /streaming shows one of the states, and answers it. */
  const streamIn = (states: string[], timeoutMs = 180_000) =>
    eventually(
      `the stream ${states.join(' or ')}`,
      async () => {
        const s = await streaming();
        return states.includes(s.state) ? s : undefined;
      },
      timeoutMs,
      1000,
    );

  const pipeline = async () => (await api().get('/api/v1/pipeline').set(AUTH).expect(200)).body;

  return { api, ingest, allRecords, expectStored, streaming, streamIn, pipeline };
}
