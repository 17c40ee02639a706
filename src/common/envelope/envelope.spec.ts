import { eventIds, partitionKey } from './envelope';

describe('partitionKey', () => {
  it('uses a string or number keyField value', () => {
    expect(partitionKey({ email: 'ada@example.com' }, 'email')).toBe('ada@example.com');
    expect(partitionKey({ id: 42 }, 'id')).toBe('42');
  });

  it.each([
    ['no keyField', { email: 'a@b.c' }, undefined],
    ['a missing field', {}, 'email'],
    ['an empty string', { email: '' }, 'email'],
    ['an object', { email: { a: 1 } }, 'email'],
    ['null', { email: null }, 'email'],
  ])('gives no key for %s, so the event id is used', (_case, payload, keyField) => {
    expect(partitionKey(payload, keyField)).toBeUndefined();
  });
});

describe('eventIds', () => {
  it('derives the same ids from the same source and Idempotency-Key, and different ones otherwise', () => {
    expect(eventIds('users', 3, 'k1')).toEqual(eventIds('users', 3, 'k1'));
    expect(eventIds('users', 1, 'k1')).not.toEqual(eventIds('users', 1, 'k2'));
    expect(eventIds('users', 1, 'k1')).not.toEqual(eventIds('orders', 1, 'k1'));
    expect(new Set(eventIds('users', 50, 'k1')).size).toBe(50);
  });
});
