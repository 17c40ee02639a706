import { topicProgress } from './topic-progress';

describe('topicProgress', () => {
  it('sums end offsets and the offsets reached, a partition never read from counting from its low offset, an offset out of range at the nearer end', () => {
    const partitions = [
      { partition: 0, high: 100, low: 0 },
      { partition: 1, high: 50, low: 20 },
      { partition: 2, high: 30, low: 10 },
      { partition: 3, high: 40, low: 5 },
    ];

    expect(topicProgress(partitions, { '0': 90, '2': 45, '3': 1 })).toEqual({ endOffset: 220, processedOffset: 90 + 20 + 30 + 5 });
    expect(topicProgress([], { '0': 5 })).toEqual({ endOffset: 0, processedOffset: 0 });
  });
});
