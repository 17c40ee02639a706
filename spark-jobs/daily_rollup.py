"""Batch job: recomputes one UTC day's per-minute event counts from events_by_bucket.

The streaming job keeps event_counts_by_minute current; this job rebuilds a whole day from the
stored events (after an outage, a restore, or to check the streaming counts), as upserts. It reads
the day's buckets of each source from the index (event_buckets, one small partition per source and
day), then only those (source, bucket) partitions of events_by_bucket, so its cost is that day's
events, not the table's. Buckets of any size, one that changed during the day included, are read
as the index lists them.

Prints one line per source:
  rollup source=users day=2026-01-01 minutes=12 events=345
"""

from __future__ import annotations

import argparse
import sys
from functools import reduce

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

import job_args as ja
import pipeline_transforms as pt
from pipeline_names import BUCKETS_TABLE, COUNTS_TABLE, EVENTS_TABLE

APP_NAME = "daily_rollup"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="daily_rollup.py", description=__doc__.splitlines()[0])
    parser.add_argument("--day", required=True, type=ja.day, help="the UTC day, YYYY-MM-DD")
    parser.add_argument("--sources", required=True, type=ja.csv, help="sources to roll up, comma-separated")
    ja.add_cassandra_args(parser)
    return parser.parse_args(argv)


def read_partitions(spark: SparkSession, keyspace: str, partitions: dict[str, list[int]]) -> DataFrame:
    """The events in the given (source -> bucket starts, epoch ms) partitions of events_by_bucket:
    one read per source with both partition-key columns restricted (source =, bucket IN), which the
    connector turns into single-partition reads; only the columns the count needs. A bucket of a day
    holds only that day's events (a bucket divides a day)."""
    table = spark.read.format("org.apache.spark.sql.cassandra").options(keyspace=keyspace, table=EVENTS_TABLE).load()
    reads = [
        table.filter((F.col("source") == F.lit(source)) & F.col("bucket").isin([F.timestamp_millis(F.lit(ms)) for ms in buckets])).select(
            "source", "received_at"
        )
        for source, buckets in sorted(partitions.items())
    ]
    if not reads:
        return spark.createDataFrame([], "source string, received_at timestamp")
    return reduce(DataFrame.unionByName, reads)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    spark = (
        SparkSession.builder.appName(APP_NAME)
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.cassandra.connection.host", args.cassandra_host)
        .config("spark.cassandra.connection.port", str(args.cassandra_port))
        .getOrCreate()
    )
    index = (
        spark.read.format("org.apache.spark.sql.cassandra")
        .options(keyspace=args.keyspace, table=BUCKETS_TABLE)
        .load()
        # Both partition-key columns restricted (source IN, day =): single-partition reads, no scan.
        .filter(F.col("source").isin(args.sources) & (F.col("day") == F.lit(args.day)))
        # Epoch ms: collect() would hand timestamps over in the Python process's own zone.
        .select("source", F.unix_millis("bucket").alias("bucket_ms"))
        .collect()
    )
    events = read_partitions(spark, args.keyspace, pt.rollup_partitions(index))
    counts = pt.daily_counts(events).persist()
    # One small action for the summary (at most 1440 rows per source), then the write reuses the cache.
    per_source = {
        row.source: row
        for row in counts.groupBy("source").agg(F.count(F.lit(1)).alias("minutes"), F.sum("count").alias("events")).collect()
    }
    counts.write.format("org.apache.spark.sql.cassandra").mode("append").options(keyspace=args.keyspace, table=COUNTS_TABLE).save()
    counts.unpersist()
    for source in args.sources:
        row = per_source.get(source)
        print(
            f"rollup source={source} day={args.day.isoformat()} minutes={row.minutes if row else 0} events={row.events if row else 0}",
            flush=True,
        )
    spark.stop()


if __name__ == "__main__":
    sys.exit(main())
