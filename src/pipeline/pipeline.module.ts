import { Module } from '@nestjs/common';
import { AirflowModule } from '../airflow/airflow.module';
import { CassandraModule } from '../cassandra/cassandra.module';
import { CatalogsModule } from '../catalogs/catalogs.module';
import { KafkaModule } from '../kafka/kafka.module';
import { LivyModule } from '../livy/livy.module';
import { MetricsModule } from '../metrics/metrics.module';
import { ProcessingModule } from '../processing/processing.module';
import { PipelineController } from './pipeline.controller';
import { PipelineService } from './pipeline.service';

@Module({
  imports: [KafkaModule, CassandraModule, LivyModule, AirflowModule, CatalogsModule, ProcessingModule, MetricsModule],
  controllers: [PipelineController],
  providers: [PipelineService],
  exports: [PipelineService],
})
export class PipelineModule {}
