import { Module } from '@nestjs/common';
import { CassandraModule } from '../cassandra/cassandra.module';
import { CatalogsModule } from '../catalogs/catalogs.module';
import { KafkaModule } from '../kafka/kafka.module';
import { SourcesController } from './sources.controller';
import { SourcesService } from './sources.service';

/**
 * Sources as resources managed over the API: stored in Cassandra, seeded once from
 * config/sources.yaml, and synced into every process's SourcesRegistry within seconds of a change.
 */
@Module({
  imports: [CassandraModule, CatalogsModule, KafkaModule],
  controllers: [SourcesController],
  providers: [SourcesService],
  exports: [SourcesService],
})
export class SourcesModule {}
