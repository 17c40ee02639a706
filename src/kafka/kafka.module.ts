import { Module } from '@nestjs/common';
import { MetricsModule } from '../metrics/metrics.module';
import { KafkaProducer } from './kafka.producer';

/** The one way to Kafka: publish with acks=all, topics, metadata. */
@Module({
  imports: [MetricsModule],
  providers: [KafkaProducer],
  exports: [KafkaProducer],
})
export class KafkaModule {}
