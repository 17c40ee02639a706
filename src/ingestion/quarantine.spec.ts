import { EventEnvelope } from '../common/envelope/envelope';
import { readContract } from '../common/testing/contracts';
import { envelopeJson } from './quarantine';

/** contracts/envelopes.json: the envelopes the streaming job's tests parse (spark-jobs/tests/test_contracts.py). */
interface Envelopes {
  envelopes: {
    name: string;
    input: Omit<EventEnvelope, 'payload'> & { payload?: Record<string, unknown>; payloadText?: string };
    json: string;
    stored: { payload: string };
  }[];
}
const CASES = readContract<Envelopes>('envelopes.json').envelopes.map((c) => [c.name, c] as const);

describe('envelopeJson (contracts/envelopes.json)', () => {
  it.each(CASES)('publishes exactly the golden text: %s', (_name, { input, json }) => {
    const payload = input.payload ?? (JSON.parse(input.payloadText!) as Record<string, unknown>);
    expect(envelopeJson(input.eventId, input.source, input.receivedAt, input.key, payload, input.payloadText, input.schemaVersion)).toBe(json);
  });

  it.each(CASES.filter(([, c]) => c.input.payloadText === undefined))(
    "splices the caller's compact text in as JSON.stringify would write it: %s",
    (_name, { input, json }) => {
      const payload = input.payload!;
      expect(envelopeJson(input.eventId, input.source, input.receivedAt, input.key, payload, JSON.stringify(payload), input.schemaVersion)).toBe(json);
    },
  );

  it.each(CASES.filter(([, c]) => c.input.payloadText === undefined))('is stored by the job as the same payload: %s', (_name, { input, stored }) => {
    expect(JSON.parse(stored.payload)).toEqual(input.payload);
  });
});
