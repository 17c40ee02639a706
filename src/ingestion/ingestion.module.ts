import { Module } from '@nestjs/common';
import { IngestionController } from './ingestion.controller';
import { IngestionService } from './ingestion.service';
import { KafkaProducer } from './kafka.producer';
import { SourcesRegistry } from './sources.registry';

@Module({
  controllers: [IngestionController],
  providers: [IngestionService, KafkaProducer, SourcesRegistry],
  exports: [IngestionService],
})
export class IngestionModule {}
