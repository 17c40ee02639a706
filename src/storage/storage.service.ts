import { Injectable } from '@nestjs/common';
import { CassandraClient } from './cassandra.client';

/** What other modules may ask of storage (health now; schedules' persistence later). */
@Injectable()
export class StorageService {
  constructor(private readonly cassandra: CassandraClient) {}

  pingCassandra(): Promise<{ releaseVersion: string }> {
    return this.cassandra.ping();
  }
}
