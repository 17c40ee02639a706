import { Module } from '@nestjs/common';
import { ApiKeysRepository } from './api-keys.repository';
import { RateLimitUsageRepository } from './rate-limit-usage.repository';
import { AuditEventsRepository } from './audit-events.repository';
import { BatchHistoryRepository } from './batch-history.repository';
import { CassandraClient } from './cassandra.client';
import { DeadLettersRepository } from './dead-letters.repository';
import { EventsRepository } from './events.repository';
import { IdempotencyRepository } from './idempotency.repository';
import { LeasesRepository } from './leases.repository';
import { SchedulesRepository } from './schedules.repository';
import { SourcesRepository } from './sources.repository';
import { StreamRepository } from './stream.repository';
import { ViewsRepository } from './views.repository';

/** The client and one repository per table family, provided and exported alike. */
const PROVIDERS = [
  CassandraClient,
  EventsRepository,
  BatchHistoryRepository,
  SchedulesRepository,
  LeasesRepository,
  StreamRepository,
  IdempotencyRepository,
  DeadLettersRepository,
  SourcesRepository,
  ApiKeysRepository,
  AuditEventsRepository,
  RateLimitUsageRepository,
  ViewsRepository,
];

/** The one way to Cassandra: the client (connection, migrations, error mapping) and one repository per table family. */
@Module({ providers: PROVIDERS, exports: PROVIDERS })
export class CassandraModule {}
