import { Module } from '@nestjs/common';
import { CatalogsModule } from '../catalogs/catalogs.module';
import { KafkaModule } from '../kafka/kafka.module';
import { MetricsModule } from '../metrics/metrics.module';
import { IngestionController } from './ingestion.controller';
import { IngestionService } from './ingestion.service';

@Module({
  imports: [KafkaModule, CatalogsModule, MetricsModule],
  controllers: [IngestionController],
  providers: [IngestionService],
})
export class IngestionModule {}
