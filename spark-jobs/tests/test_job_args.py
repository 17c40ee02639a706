"""Both jobs' command lines, parsed without starting Spark."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

import daily_rollup
import events_stream

JOBS_DIR = Path(__file__).resolve().parents[1]


def test_importing_the_jobs_starts_no_spark():
    # parse_args must be usable by tests and tools without a JVM: importing a job only defines things.
    code = (
        "import events_stream, daily_rollup\n"
        "from pyspark import SparkContext\n"
        "assert SparkContext._active_spark_context is None\n"
        "assert SparkContext._gateway is None\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=JOBS_DIR,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHONPATH": str(JOBS_DIR)},
    )
    assert done.returncode == 0, done.stderr


# --- events_stream ------------------------------------------------------------------------------


def test_events_stream_defaults():
    args = events_stream.parse_args(["--topics", "users_created, ingest.orders", "--checkpoint-dir", "/tmp/cp"])
    assert args.topics == ["users_created", "ingest.orders"]
    assert args.checkpoint_dir == "/tmp/cp"
    assert (args.kafka_bootstrap, args.cassandra_host, args.cassandra_port, args.keyspace) == (
        "127.0.0.1:9092",
        "127.0.0.1",
        9042,
        "pipeline",
    )
    assert (args.trigger_ms, args.starting_offsets, args.max_offsets_per_trigger) == (250, "earliest", 20000)
    assert (args.min_offsets_per_trigger, args.max_trigger_delay_ms) == (1000, 1000)
    assert (args.batch_id, args.lease_ttl_seconds, args.heartbeat_seconds) == ("", 30, 3)
    assert (args.topic_sources, args.dead_letter_topics, args.bucket_seconds) == ({}, [], {})


def test_events_stream_takes_each_sources_bucket_size():
    args = events_stream.parse_args(["--topics", "t", "--checkpoint-dir", "/cp", "--bucket-seconds", "users=3600, clicks=30"])
    assert args.bucket_seconds == {"users": 3600, "clicks": 30}


def test_events_stream_takes_the_sources_of_the_topics_and_the_dead_letter_topics():
    args = events_stream.parse_args(
        [
            "--topics",
            "users_created,ingest.orders,ingest.orders.dlq",
            "--checkpoint-dir",
            "/cp",
            "--topic-sources",
            "users_created=users, ingest.orders=orders,ingest.orders.dlq=orders",
            "--dead-letter-topics",
            "ingest.orders.dlq",
        ]
    )
    assert args.topic_sources == {"users_created": "users", "ingest.orders": "orders", "ingest.orders.dlq": "orders"}
    assert args.dead_letter_topics == ["ingest.orders.dlq"]


def test_events_stream_takes_every_flag():
    args = events_stream.parse_args(
        [
            "--topics",
            "t1",
            "--kafka-bootstrap",
            "k1:9092,k2:9092",
            "--cassandra-host",
            "c1,c2",
            "--cassandra-port",
            "19042",
            "--keyspace",
            "ks",
            "--checkpoint-dir",
            "/cp",
            "--trigger-ms",
            "250",
            "--starting-offsets",
            '{"t1":{"0":42}}',
            "--max-offsets-per-trigger",
            "5",
            "--min-offsets-per-trigger",
            "3",
            "--max-trigger-delay-ms",
            "1500",
            "--batch-id",
            "b-17",
            "--lease-ttl-seconds",
            "9",
            "--heartbeat-seconds",
            "3",
        ]
    )
    assert (args.kafka_bootstrap, args.cassandra_host, args.cassandra_port, args.keyspace) == ("k1:9092,k2:9092", "c1,c2", 19042, "ks")
    assert (args.trigger_ms, args.starting_offsets, args.max_offsets_per_trigger) == (250, '{"t1":{"0":42}}', 5)
    assert (args.min_offsets_per_trigger, args.max_trigger_delay_ms) == (3, 1500)
    assert (args.batch_id, args.lease_ttl_seconds, args.heartbeat_seconds) == ("b-17", 9, 3)


@pytest.mark.parametrize(
    "argv",
    [
        ["--checkpoint-dir", "/cp"],  # no --topics
        ["--topics", "t"],  # no --checkpoint-dir
        ["--topics", " , ", "--checkpoint-dir", "/cp"],
        ["--topics", "t", "--checkpoint-dir", "/cp", "--trigger-ms", "0"],
        ["--topics", "t", "--checkpoint-dir", "/cp", "--trigger-ms", "fast"],
        ["--topics", "t", "--checkpoint-dir", "/cp", "--max-offsets-per-trigger", "-1"],
        ["--topics", "t", "--checkpoint-dir", "/cp", "--starting-offsets", "newest"],
        ["--topics", "t", "--checkpoint-dir", "/cp", "--starting-offsets", "[1]"],
        ["--topics", "t", "--checkpoint-dir", "/cp", "--cassandra-port", "70000"],
        ["--topics", "t", "--checkpoint-dir", "/cp", "--bucket-seconds", "users=7"],  # does not divide a day
        ["--topics", "t", "--checkpoint-dir", "/cp", "--bucket-seconds", "users=1h"],
        ["--topics", "t", "--checkpoint-dir", "/cp", "--bucket-seconds", "users"],
        ["--topics", "t", "--checkpoint-dir", "/cp", "--trigger_ms", "500"],  # snake_case is not a flag
        ["--topics", "t", "--checkpoint-dir", "/cp", "--lease-ttl-seconds", "0"],
        ["--topics", "t", "--checkpoint-dir", "/cp", "--heartbeat-seconds", "0"],
        # the lease would expire between two renewals
        ["--topics", "t", "--checkpoint-dir", "/cp", "--lease-ttl-seconds", "8", "--heartbeat-seconds", "3"],
        ["--topics", "t", "--checkpoint-dir", "/cp", "--heartbeat-seconds", "11"],
        ["--topics", "t", "--checkpoint-dir", "/cp", "--topic-sources", "t"],  # no =source
        ["--topics", "t", "--checkpoint-dir", "/cp", "--topic-sources", "t="],
        ["--topics", "t", "--checkpoint-dir", "/cp", "--dead-letter-topics", "t.dlq"],  # not read
        ["--topics", "t", "--checkpoint-dir", "/cp", "--dead-letter-topics", " , "],
    ],
)
def test_events_stream_rejects_bad_args(argv, capsys):
    with pytest.raises(SystemExit) as exit_info:
        events_stream.parse_args(argv)
    assert exit_info.value.code == 2
    assert "error:" in capsys.readouterr().err


# --- daily_rollup -------------------------------------------------------------------------------


def test_daily_rollup_args():
    args = daily_rollup.parse_args(["--day", "2026-01-01", "--sources", "users,orders"])
    assert args.day == date(2026, 1, 1)
    assert args.sources == ["users", "orders"]
    assert (args.cassandra_host, args.cassandra_port, args.keyspace) == ("127.0.0.1", 9042, "pipeline")
    args = daily_rollup.parse_args(
        ["--day", "2024-02-29", "--sources", "clicks", "--cassandra-host", "c1", "--cassandra-port", "9142", "--keyspace", "ks"]
    )
    assert (args.day, args.sources, args.cassandra_host, args.cassandra_port, args.keyspace) == (
        date(2024, 2, 29),
        ["clicks"],
        "c1",
        9142,
        "ks",
    )


@pytest.mark.parametrize(
    "argv",
    [
        ["--sources", "users"],
        ["--day", "2026-01-01"],
        ["--day", "2026-01-01", "--sources", ","],
        ["--day", "2025-02-29", "--sources", "users"],
        ["--day", "20260101", "--sources", "users"],
        ["--day", "2026-W01-1", "--sources", "users"],
        ["--day", "01/02/2026", "--sources", "users"],
        ["--day", "2026-01-01", "--sources", "users", "--cassandra-port", "x"],
    ],
)
def test_daily_rollup_rejects_bad_args(argv, capsys):
    with pytest.raises(SystemExit) as exit_info:
        daily_rollup.parse_args(argv)
    assert exit_info.value.code == 2
    assert "error:" in capsys.readouterr().err
