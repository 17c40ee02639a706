import { Logger } from '@nestjs/common';
import { InMemoryAuditEventsRepository } from '../cassandra/testing/in-memory-audit-events.repository';
import { BadRequestError } from '../common/errors/errors';
import { fakeClockAndQuietLogs } from '../common/testing/clock';
import { testConfig } from '../common/testing/config';
import { AuditService } from './audit.service';
import { AuditQueryDto } from './dto/audit.dto';

const START = new Date('2026-03-01T22:00:00Z');
const admin = { actor: 'bootstrap:ab12', name: 'bootstrap', scopes: new Set(['admin']) };
const operator = { actor: '0123456789ab', keyId: '0123456789ab', name: 'ops', scopes: new Set(['operate']) };

const query = (q: Partial<AuditQueryDto> = {}): AuditQueryDto => Object.assign(new AuditQueryDto(), q);

describe('AuditService', () => {
  fakeClockAndQuietLogs(START);

  let repository: InMemoryAuditEventsRepository;
  let audit: AuditService;

  beforeEach(() => {
    repository = new InMemoryAuditEventsRepository();
    audit = new AuditService(repository.repository, testConfig({ AUDIT_RETENTION_DAYS: '30' }));
  });

  /** Records `count` events a minute apart, alternating actors and actions: schedule.create by admin, key.revoke by the operator. */
  async function recordEvents(count: number): Promise<void> {
    for (let i = 0; i < count; i++) {
      await audit.record({
        principal: i % 2 ? operator : admin,
        action: i % 2 ? 'key.revoke' : 'schedule.create',
        target: `t${i}`,
        requestId: `req-${i}`,
        outcome: 201,
      });
      jest.advanceTimersByTime(60_000);
    }
  }

  /** Every page of a query, as a client pages through them. */
  async function allPages(q: Partial<AuditQueryDto>): Promise<{ targets: string[]; pages: number }> {
    const targets: string[] = [];
    let pageToken: string | undefined;
    let pages = 0;
    do {
      const page = await audit.list(query({ ...q, pageToken }));
      targets.push(...page.events.map((e) => e.target!));
      pageToken = page.nextPageToken;
      pages++;
    } while (pageToken !== undefined && pages < 100);
    return { targets, pages };
  }

  it('records who did what to which target, when, under which request, and with what outcome; kept AUDIT_RETENTION_DAYS', async () => {
    await audit.record({ principal: operator, action: 'schedule.delete', target: 'abc', requestId: 'req-1', outcome: 204 });

    expect(repository.events).toEqual([
      {
        day: '2026-03-01',
        at: START,
        id: expect.stringMatching(/^[0-9a-f-]{36}$/),
        actor: '0123456789ab',
        actorName: 'ops',
        action: 'schedule.delete',
        target: 'abc',
        requestId: 'req-1',
        outcome: 204,
        changes: undefined,
      },
    ]);
    expect(repository.insert).toHaveBeenCalledWith(expect.anything(), 30 * 86_400);
  });

  it('keeps the changes asked for, with every field that may hold a secret left out', async () => {
    await audit.record({
      principal: admin,
      action: 'source.create',
      outcome: 201,
      changes: { name: 'orders', signature: { secret: 'whsec_x', secrets: ['a'] }, password: 'p', apiKey: 'k', cron: '* * * * *' },
    });

    expect(JSON.parse(repository.events[0].changes!)).toEqual({
      name: 'orders',
      signature: { secret: '<redacted>', secrets: '<redacted>' },
      password: '<redacted>',
      apiKey: '<redacted>',
      cron: '* * * * *',
    });
  });

  it('never fails the request it records: a write that fails is logged at warn', async () => {
    repository.down = true;
    const warn = jest.spyOn(Logger.prototype, 'warn');

    await expect(audit.record({ principal: admin, action: 'streaming.stop', requestId: 'req-9', outcome: 200 })).resolves.toBeUndefined();

    expect(warn).toHaveBeenCalledWith(expect.stringContaining('could not record streaming.stop by bootstrap:ab12 (request req-9, outcome 200)'));
  });

  it('lists newest first, across days, every event once over the pages', async () => {
    await recordEvents(300); // 22:00 on the 1st to 03:00 on the 2nd

    const { targets, pages } = await allPages({ from: '2026-03-01', to: '2026-03-03', limit: 40 });

    expect(targets).toEqual(Array.from({ length: 300 }, (_, i) => `t${299 - i}`));
    expect(pages).toBeGreaterThanOrEqual(8);
  });

  it('filters by actor and by action (one action, or every action of a resource with key.*)', async () => {
    await recordEvents(20);

    const byActor = await allPages({ from: '2026-03-01', to: '2026-03-03', actor: operator.actor, limit: 3 });
    const byAction = await audit.list(query({ from: '2026-03-01', to: '2026-03-03', action: 'schedule.create' }));
    const byResource = await audit.list(query({ from: '2026-03-01', to: '2026-03-03', action: 'key.*' }));

    expect(byActor.targets).toEqual(Array.from({ length: 10 }, (_, i) => `t${19 - 2 * i}`));
    expect(byAction.events.map((e) => e.target)).toEqual(Array.from({ length: 10 }, (_, i) => `t${18 - 2 * i}`));
    expect(byResource.events.map((e) => e.action)).toEqual(Array(10).fill('key.revoke'));
  });

  it('defaults to the last 7 days', async () => {
    await recordEvents(2);

    expect((await audit.list(query())).events.map((e) => e.target)).toEqual(['t1', 't0']);
  });

  it.each([
    ['a token of another query', async (token: string) => audit.list(query({ from: '2026-03-01', to: '2026-03-03', action: 'key.revoke', pageToken: token }))],
    ['a forged token', async (token: string) => audit.list(query({ from: '2026-03-01', to: '2026-03-03', pageToken: `${token.slice(0, -2)}xx` }))],
  ])('refuses %s with 400 naming pageToken', async (_case, attempt) => {
    await recordEvents(5);
    const first = await audit.list(query({ from: '2026-03-01', to: '2026-03-03', limit: 2 }));

    await expect(attempt(first.nextPageToken!)).rejects.toBeInstanceOf(BadRequestError);
    await expect(attempt(first.nextPageToken!)).rejects.toMatchObject({ details: [{ field: 'pageToken', message: expect.any(String) }] });
  });

  it('refuses a range longer than the retention, or reversed', async () => {
    await expect(audit.list(query({ from: '2026-01-01', to: '2026-03-01' }))).rejects.toBeInstanceOf(BadRequestError);
    await expect(audit.list(query({ from: '2026-03-02', to: '2026-03-01' }))).rejects.toThrow('from must be earlier than to');
  });
});
