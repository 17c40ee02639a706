import { Module, ValidationPipe } from '@nestjs/common';
import { APP_FILTER, APP_GUARD, APP_PIPE } from '@nestjs/core';
import { ApiKeyGuard } from '../../src/common/auth/api-key.guard';
import { AppConfigModule } from '../../src/common/config/config.module';
import { AllExceptionsFilter } from '../../src/common/errors/all-exceptions.filter';
import { AppLoggerModule } from '../../src/common/logging/logger.module';
import { HealthModule } from '../../src/health/health.module';
import { IngestionModule } from '../../src/ingestion/ingestion.module';
import { StorageModule } from '../../src/storage/storage.module';

@Module({
  imports: [AppConfigModule, AppLoggerModule, IngestionModule, StorageModule, HealthModule],
  providers: [
    { provide: APP_FILTER, useClass: AllExceptionsFilter },
    { provide: APP_GUARD, useClass: ApiKeyGuard },
    {
      provide: APP_PIPE,
      useValue: new ValidationPipe({ transform: true, whitelist: true, forbidNonWhitelisted: true }),
    },
  ],
})
export class AppModule {}
