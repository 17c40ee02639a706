import { Module } from '@nestjs/common';
import { AirflowModule } from '../airflow/airflow.module';
import { CassandraModule } from '../cassandra/cassandra.module';
import { CatalogsModule } from '../catalogs/catalogs.module';
import { MetricsModule } from '../metrics/metrics.module';
import { ProcessingModule } from '../processing/processing.module';
import { SchedulerService } from './scheduler.service';
import { SchedulesController } from './schedules.controller';
import { SchedulesService } from './schedules.service';

@Module({
  imports: [CassandraModule, AirflowModule, CatalogsModule, ProcessingModule, MetricsModule],
  controllers: [SchedulesController],
  providers: [SchedulesService, SchedulerService],
})
export class SchedulingModule {}
