import { Module } from '@nestjs/common';
import { CassandraModule } from '../cassandra/cassandra.module';
import { CatalogsModule } from '../catalogs/catalogs.module';
import { KafkaModule } from '../kafka/kafka.module';
import { MetricsModule } from '../metrics/metrics.module';
import { DeadLettersController } from './dead-letters/dead-letters.controller';
import { DeadLettersService } from './dead-letters/dead-letters.service';
import { RecordsController } from './records/records.controller';
import { RecordsService } from './records/records.service';

/**
 * What the pipeline stored, served from Cassandra: processed records and their counts per minute
 * (records/), and the quarantined or unreadable events with their replay to Kafka (dead-letters/).
 */
@Module({
  imports: [CassandraModule, CatalogsModule, KafkaModule, MetricsModule],
  controllers: [RecordsController, DeadLettersController],
  providers: [RecordsService, DeadLettersService],
  exports: [RecordsService],
})
export class StorageModule {}
