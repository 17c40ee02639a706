import { Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { IngestionModule } from '../ingestion/ingestion.module';
import { OrchestrationModule } from '../orchestration/orchestration.module';
import { ProcessingModule } from '../processing/processing.module';
import { StorageModule } from '../storage/storage.module';
import { DependencyIndicator } from './dependency.indicator';
import { HealthController } from './health.controller';

@Module({
  imports: [TerminusModule.forRoot({ errorLogStyle: 'json', logger: false }), IngestionModule, StorageModule, ProcessingModule, OrchestrationModule],
  controllers: [HealthController],
  providers: [DependencyIndicator],
})
export class HealthModule {}
