import { MiddlewareConsumer, Module, NestModule } from '@nestjs/common';
import { APP_FILTER, APP_GUARD, APP_PIPE } from '@nestjs/core';
import { ScheduleModule } from '@nestjs/schedule';
import { AccessGuard } from '../../src/access/access.guard';
import { AccessModule } from '../../src/access/access.module';
import { KeysController } from '../../src/access/keys.controller';
import { CatalogsModule } from '../../src/catalogs/catalogs.module';
import { AppConfigModule } from '../../src/common/config/config.module';
import { AllExceptionsFilter } from '../../src/app-http/all-exceptions.filter';
import { JsonBodyMiddleware } from '../../src/common/http/json-body.middleware';
import { validationPipe } from '../../src/common/http/validation.pipe';
import { AppLoggerModule } from '../../src/common/logging/logger.module';
import { ConsoleModule } from '../../src/console/console.module';
import { DeadLettersController } from '../../src/storage/dead-letters/dead-letters.controller';
import { HealthModule } from '../../src/health/health.module';
import { IngestionModule } from '../../src/ingestion/ingestion.module';
import { MetricsModule } from '../../src/metrics/metrics.module';
import { OrchestrationController } from '../../src/orchestration/orchestration.controller';
import { OrchestrationModule } from '../../src/orchestration/orchestration.module';
import { PipelineModule } from '../../src/pipeline/pipeline.module';
import { StorageModule } from '../../src/storage/storage.module';
import { BatchesController } from '../../src/processing/batches.controller';
import { ProcessingModule } from '../../src/processing/processing.module';
import { StreamingController } from '../../src/processing/streaming.controller';
import { SchedulesController } from '../../src/scheduling/schedules.controller';
import { SchedulingModule } from '../../src/scheduling/scheduling.module';
import { SourcesController } from '../../src/sources/sources.controller';
import { SourcesModule } from '../../src/sources/sources.module';
import { ViewsController } from '../../src/views/views.controller';
import { ViewsModule } from '../../src/views/views.module';

@Module({
  // CatalogsModule: the access guard looks up whether the source of an ingest request is signed.
  imports: [
    AppConfigModule,
    AppLoggerModule,
    ScheduleModule.forRoot(),
    MetricsModule,
    CatalogsModule,
    AccessModule,
    IngestionModule,
    SourcesModule,
    ViewsModule,
    StorageModule,
    ProcessingModule,
    OrchestrationModule,
    SchedulingModule,
    PipelineModule,
    HealthModule,
    ConsoleModule,
  ],
  providers: [
    { provide: APP_FILTER, useClass: AllExceptionsFilter },
    { provide: APP_GUARD, useClass: AccessGuard },
    { provide: APP_PIPE, useValue: validationPipe() },
  ],
})
export class AppModule implements NestModule {
  /** JSON bodies for the control routes; POST /ingest reads its raw body itself, with the source's limit. */
  configure(consumer: MiddlewareConsumer): void {
    consumer
      .apply(JsonBodyMiddleware)
      .forRoutes(
        BatchesController,
        StreamingController,
        OrchestrationController,
        SchedulesController,
        DeadLettersController,
        SourcesController,
        ViewsController,
        KeysController,
      );
  }
}
