import { Module } from '@nestjs/common';
import { AIRFLOW_API } from './airflow.api';
import { AirflowV2Client } from './airflow-v2.client';
import { OrchestrationController } from './orchestration.controller';
import { OrchestrationService } from './orchestration.service';

@Module({
  controllers: [OrchestrationController],
  providers: [{ provide: AIRFLOW_API, useClass: AirflowV2Client }, OrchestrationService],
  exports: [OrchestrationService],
})
export class OrchestrationModule {}
