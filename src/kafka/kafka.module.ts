import { Module } from '@nestjs/common';
import { KafkaProducer } from './kafka.producer';

/** The one way to Kafka: publish with acks=all, topics, metadata. */
@Module({
  providers: [KafkaProducer],
  exports: [KafkaProducer],
})
export class KafkaModule {}
