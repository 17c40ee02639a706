import { Module } from '@nestjs/common';
import { IngestionModule } from '../ingestion/ingestion.module';
import { BatchHistoryRepository } from './batch-history.repository';
import { CassandraClient } from './cassandra.client';
import { EventsRepository } from './events.repository';
import { RecordsController } from './records.controller';
import { RecordsService } from './records.service';
import { StorageService } from './storage.service';

@Module({
  imports: [IngestionModule],
  controllers: [RecordsController],
  providers: [CassandraClient, EventsRepository, RecordsService, StorageService, BatchHistoryRepository],
  exports: [StorageService, BatchHistoryRepository],
})
export class StorageModule {}
