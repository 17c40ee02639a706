import { Module } from '@nestjs/common';
import { IngestionModule } from '../ingestion/ingestion.module';
import { StorageModule } from '../storage/storage.module';
import { BatchesController } from './batches.controller';
import { BatchesService } from './batches.service';
import { JobsCatalog } from './jobs.catalog';
import { LivyClient } from './livy.client';
import { StreamingController } from './streaming.controller';
import { StreamingService } from './streaming.service';

@Module({
  imports: [IngestionModule, StorageModule],
  controllers: [BatchesController, StreamingController],
  providers: [LivyClient, JobsCatalog, BatchesService, StreamingService],
  exports: [BatchesService, StreamingService],
})
export class ProcessingModule {}
