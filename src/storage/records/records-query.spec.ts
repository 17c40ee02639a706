import 'reflect-metadata';
import { parse } from 'node:querystring';
import { validationPipe } from '../../common/http/validation.pipe';
import { RecordsQueryDto } from './dto/records.dto';
import { plainRecordsQuery } from './records-query';

const TOKEN = 'eyJ2IjoyfQ.c2lnbmF0dXJl';

/** What the validation pipe makes of a query string: the DTO, or the refusal's message. */
async function viaPipe(query: string): Promise<{ dto?: RecordsQueryDto; refused?: string }> {
  try {
    return { dto: (await validationPipe().transform(parse(query), { type: 'query', metatype: RecordsQueryDto })) as RecordsQueryDto };
  } catch (err) {
    return { refused: (err as Error).message };
  }
}

describe('plainRecordsQuery', () => {
  const accepted = [
    '',
    'limit=1',
    'limit=1000',
    'limit=0100',
    'from=2026-01-01&to=2026-01-02T00:00:00Z',
    'from=anything&to=',
    `pageToken=${TOKEN}&limit=100&from=2026-01-01`,
    `to=2026-01-05&pageToken=${TOKEN}`,
  ];
  const handedOn = [
    'limit=0',
    'limit=1001',
    'limit=',
    'limit=-1',
    'limit=1.5',
    'limit=1e2',
    'limit=%201',
    'limit=10&limit=20',
    'from=a&from=b',
    'pageToken=',
    'pageToken=no-dot',
    `pageToken=${TOKEN}&pageToken=${TOKEN}`,
    `pageToken=${'a'.repeat(3000)}.${'b'.repeat(1100)}`,
    'other=1',
    'Limit=10',
  ];

  it.each(accepted)('makes of %p what the pipe makes of it', async (query) => {
    const plain = plainRecordsQuery(parse(query));
    const { dto, refused } = await viaPipe(query);

    expect(refused).toBeUndefined();
    expect(plain).toBeInstanceOf(RecordsQueryDto);
    expect(plain).toEqual(dto);
  });

  it.each(handedOn.map((q) => [q.length > 60 ? `${q.slice(0, 60)}...` : q, q]))('hands %p on to the pipe, which refuses it', async (_, query) => {
    expect(plainRecordsQuery(parse(query))).toBeUndefined();
    expect((await viaPipe(query)).refused).toEqual(expect.any(String));
  });

  it('hands names it does not know on to the pipe, whatever the pipe makes of them', () => {
    for (const query of ['__proto__=x', 'constructor=x', 'hasOwnProperty=1', 'toString=']) expect(plainRecordsQuery(parse(query))).toBeUndefined();
  });
});
