import { Module } from '@nestjs/common';
import { AIRFLOW_API } from './airflow.api';
import { AirflowV2Client } from './airflow-v2.client';

/** The one way to Apache Airflow: its REST API behind the AirflowApi interface (Airflow 3's /api/v2 today). */
@Module({
  providers: [{ provide: AIRFLOW_API, useClass: AirflowV2Client }],
  exports: [AIRFLOW_API],
})
export class AirflowModule {}
