import { Module } from '@nestjs/common';
import { BatchHistoryRepository } from './batch-history.repository';
import { CassandraClient } from './cassandra.client';
import { EventsRepository } from './events.repository';
import { SchedulesRepository } from './schedules.repository';

/** The one way to Cassandra: the client (connection, migrations, error mapping) and one repository per table family. */
@Module({
  providers: [CassandraClient, EventsRepository, BatchHistoryRepository, SchedulesRepository],
  exports: [CassandraClient, EventsRepository, BatchHistoryRepository, SchedulesRepository],
})
export class CassandraModule {}
