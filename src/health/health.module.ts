import { Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { AirflowModule } from '../airflow/airflow.module';
import { CassandraModule } from '../cassandra/cassandra.module';
import { KafkaModule } from '../kafka/kafka.module';
import { LivyModule } from '../livy/livy.module';
import { DependencyIndicator } from './dependency.indicator';
import { HealthController } from './health.controller';
import { ReadinessService } from './readiness.service';

@Module({
  imports: [TerminusModule.forRoot({ errorLogStyle: 'json', logger: false }), KafkaModule, CassandraModule, LivyModule, AirflowModule],
  controllers: [HealthController],
  providers: [DependencyIndicator, ReadinessService],
})
export class HealthModule {}
