import { Module } from '@nestjs/common';
import { AirflowModule } from '../airflow/airflow.module';
import { OrchestrationController } from './orchestration.controller';
import { OrchestrationService } from './orchestration.service';

@Module({
  imports: [AirflowModule],
  controllers: [OrchestrationController],
  providers: [OrchestrationService],
})
export class OrchestrationModule {}
