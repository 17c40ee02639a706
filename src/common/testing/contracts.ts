import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * A golden file of contracts/ (at the repository's root), which the Python jobs' tests read too:
 * the specs check the TypeScript side against the very text the Python side is checked against.
 */
export function readContract<T>(
  name: 'envelopes.json' | 'heartbeat.json' | 'micro-batch-lines.json' | 'micro-batch-rows.json' | 'names.json' | 'views.json',
): T {
  return JSON.parse(readFileSync(join(__dirname, '..', '..', '..', 'contracts', name), 'utf8')) as T;
}

export interface NamesContract {
  keyspace: string;
  tables: Record<
    | 'events'
    | 'buckets'
    | 'counts'
    | 'users'
    | 'dead_letters'
    | 'leases'
    | 'heartbeats'
    | 'control'
    | 'micro_batches'
    | 'views'
    | 'view_status'
    | 'view_results',
    string
  >;
  stream_job: string;
  leases: { stream: string; supervisor: string };
  livy: { terminal_states: string[]; running_states: string[]; lost: string };
  user_profile_fields: string[];
}
