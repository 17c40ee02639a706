/** A partition's offsets in Kafka: the next offset to be written (high) and the oldest kept (low). */
export interface PartitionOffsets {
  partition: number;
  high: number;
  low: number;
}

/**
 * How far the stream is through a topic: the sum of its partitions' end offsets, and of the offsets
 * the stream's last committed micro-batch reached (`done`, by partition; a partition it never read
 * from counts from its low offset, and an offset outside [low, high] is taken at the nearer end).
 * Their difference is the lag: events in Kafka the stream has not stored.
 */
export function topicProgress(partitions: PartitionOffsets[], done: Record<string, number>): { endOffset: number; processedOffset: number } {
  let endOffset = 0;
  let processedOffset = 0;
  for (const p of partitions) {
    endOffset += p.high;
    processedOffset += Math.min(p.high, Math.max(p.low, done[String(p.partition)] ?? p.low));
  }
  return { endOffset, processedOffset };
}
