import { Module } from '@nestjs/common';
import { OrchestrationModule } from '../orchestration/orchestration.module';
import { ProcessingModule } from '../processing/processing.module';
import { StorageModule } from '../storage/storage.module';
import { SchedulerService } from './scheduler.service';
import { SchedulesController } from './schedules.controller';
import { SchedulesService } from './schedules.service';

@Module({
  imports: [StorageModule, OrchestrationModule, ProcessingModule],
  controllers: [SchedulesController],
  providers: [SchedulesService, SchedulerService],
})
export class SchedulingModule {}
