import { StreamRepository } from './stream.repository';
import { PagingCassandraClient } from './testing/paging-cassandra.client';

describe('StreamRepository.heartbeat', () => {
  it('reads the bucket sizes a copy reports, and none for a copy that reports none', async () => {
    const cassandra = new PagingCassandraClient();
    const repository = new StreamRepository(cassandra.client);
    cassandra.answerOnce([{ stream: 'events_stream', run_id: 'r1', topics: 'users_created', buckets: 'users=3600,clicks=30' }]);
    cassandra.answerOnce([{ stream: 'events_stream', run_id: 'r0', topics: 'users_created', buckets: null }]);

    expect((await repository.heartbeat('events_stream'))?.buckets).toEqual({ users: 3600, clicks: 30 });
    expect((await repository.heartbeat('events_stream'))?.buckets).toBeUndefined();
  });
});
