import { ifMatchAllows } from './if-match';

describe('ifMatchAllows', () => {
  it('takes the ETag itself, one of a list, a weak form of it, or *', () => {
    expect(ifMatchAllows('"3"', '"3"')).toBe(true);
    expect(ifMatchAllows('"1", "3"', '"3"')).toBe(true);
    expect(ifMatchAllows('W/"3"', '"3"')).toBe(true);
    expect(ifMatchAllows('*', '"3"')).toBe(true);
  });

  it('refuses any other tag, and an unquoted one', () => {
    expect(ifMatchAllows('"2"', '"3"')).toBe(false);
    expect(ifMatchAllows('3', '"3"')).toBe(false);
    expect(ifMatchAllows('"1", "2"', '"3"')).toBe(false);
  });
});
