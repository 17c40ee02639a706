import { Module } from '@nestjs/common';
import { IngestionModule } from '../ingestion/ingestion.module';
import { BatchHistoryRepository } from './batch-history.repository';
import { CassandraClient } from './cassandra.client';
import { EventsRepository } from './events.repository';
import { RecordsController } from './records.controller';
import { RecordsService } from './records.service';
import { SchedulesRepository } from './schedules.repository';
import { StorageService } from './storage.service';

@Module({
  imports: [IngestionModule],
  controllers: [RecordsController],
  providers: [CassandraClient, EventsRepository, RecordsService, StorageService, BatchHistoryRepository, SchedulesRepository],
  exports: [StorageService, BatchHistoryRepository, SchedulesRepository],
})
export class StorageModule {}
