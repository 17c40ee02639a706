import { Module } from '@nestjs/common';
import { BatchHistoryRepository } from './batch-history.repository';
import { CassandraClient } from './cassandra.client';
import { DeadLettersRepository } from './dead-letters.repository';
import { EventsRepository } from './events.repository';
import { IdempotencyRepository } from './idempotency.repository';
import { LeasesRepository } from './leases.repository';
import { SchedulesRepository } from './schedules.repository';
import { StreamRepository } from './stream.repository';

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
];

/** The one way to Cassandra: the client (connection, migrations, error mapping) and one repository per table family. */
@Module({ providers: PROVIDERS, exports: PROVIDERS })
export class CassandraModule {}
