import { Module } from '@nestjs/common';
import { CassandraModule } from '../cassandra/cassandra.module';
import { CatalogsModule } from '../catalogs/catalogs.module';
import { KafkaModule } from '../kafka/kafka.module';
import { MetricsModule } from '../metrics/metrics.module';
import { IngestionController } from './ingestion.controller';
import { IngestionService } from './ingestion.service';
import { IdempotentRequests } from './idempotent-requests';
import { SignaturePrecheck } from './signature-precheck';

@Module({
  imports: [KafkaModule, CassandraModule, CatalogsModule, MetricsModule],
  controllers: [IngestionController],
  providers: [IngestionService, IdempotentRequests, SignaturePrecheck],
  exports: [SignaturePrecheck],
})
export class IngestionModule {}
