import { MAX_PAGE_LIMIT, MAX_PAGE_TOKEN_LENGTH, PAGE_TOKEN, RecordsQueryDto } from './dto/records.dto';

const FIELDS = new Set(['from', 'to', 'limit', 'pageToken']);
const DIGITS = /^\d{1,16}$/;

/**
 * The query of GET /records as the validation pipe would make it, for the common case, without the
 * pipe's reflection: every parameter known and given once, limit 1..1000 in digits, a page token of
 * the token's shape. Anything else (an error to explain, a repeated or unknown parameter) answers
 * undefined, and the caller hands the query to the pipe, which says what is wrong.
 */
export function plainRecordsQuery(query: Record<string, string | string[] | undefined>): RecordsQueryDto | undefined {
  const checked = new RecordsQueryDto();
  for (const name in query) {
    const value = query[name];
    if (!FIELDS.has(name) || typeof value !== 'string') return undefined;
    if (name === 'limit') {
      const limit = DIGITS.test(value) ? Number(value) : 0;
      if (limit < 1 || limit > MAX_PAGE_LIMIT) return undefined;
      checked.limit = limit;
    } else if (name === 'pageToken') {
      if (value.length > MAX_PAGE_TOKEN_LENGTH || !PAGE_TOKEN.test(value)) return undefined;
      checked.pageToken = value;
    } else {
      checked[name as 'from' | 'to'] = value;
    }
  }
  return checked;
}
