"""The names the Spark jobs share with the control plane: its Cassandra tables and the stream's lease.

The control plane creates every table (its migrations) and the jobs only write them, so a name that
differs on one side is a job that fails or writes where nobody reads. contracts/names.json holds the
same names for both sides; spark-jobs/tests/test_contracts.py checks this module against it.
"""

from __future__ import annotations

KEYSPACE = "pipeline"

# Written by the streaming job (the daily rollup reads the first two and rewrites the counts).
EVENTS_TABLE = "events_by_bucket"
BUCKETS_TABLE = "event_buckets"
COUNTS_TABLE = "event_counts_by_minute"
USERS_TABLE = "created_users"
DEAD_LETTERS_TABLE = "dead_letters"

# The stream's own: its lease, its heartbeat row, the control plane's stop requests, one row per micro-batch.
LEASES_TABLE = "leases"
HEARTBEATS_TABLE = "stream_heartbeats"
CONTROL_TABLE = "stream_control"
MICRO_BATCHES_TABLE = "stream_micro_batches"

# Streaming views: the definitions the job reads, the state it reports for each, their results.
VIEWS_TABLE = "views"
VIEW_STATUS_TABLE = "view_status"
VIEW_RESULTS_TABLE = "view_results"

# The streaming job, as the catalog (jobs.yaml) and the control plane name it.
STREAM_JOB = "events_stream"


def lease_name(stream: str) -> str:
    """The row of `leases` that says which run holds a stream."""
    return f"stream:{stream}"
