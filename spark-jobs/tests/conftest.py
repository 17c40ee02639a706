"""One local SparkSession for the whole run: starting a JVM takes seconds, a query on a handful of
rows takes milliseconds."""

from __future__ import annotations

import os
import sys
from datetime import UTC, datetime, timedelta

import pytest
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import types as T

# Loopback only, and Python workers (if a test ever needs them) on this interpreter, not whatever
# python3 is on PATH.
os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
os.environ.setdefault("PYSPARK_PYTHON", sys.executable)


@pytest.fixture(scope="session")
def spark() -> SparkSession:
    session = (
        SparkSession.builder.master("local[1]")
        .appName("spark-jobs-tests")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.sql.shuffle.partitions", "1")
        .config("spark.default.parallelism", "1")
        # The streaming job's state store (events_stream.build_spark), so the views' restarts are tested on it.
        .config("spark.sql.streaming.stateStore.providerClass", "org.apache.spark.sql.execution.streaming.state.RocksDBStateStoreProvider")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


KAFKA_SCHEMA = T.StructType(
    [
        T.StructField("topic", T.StringType()),
        T.StructField("partition", T.IntegerType()),
        T.StructField("offset", T.LongType()),
        T.StructField("value", T.BinaryType()),
    ]
)


@pytest.fixture
def kafka_df(spark):
    """kafka_df([...]) -> a DataFrame shaped like the Kafka source's rows, one per value (str or None)."""

    def make(values: list[str | None], topic: str = "users_created") -> DataFrame:
        rows = [(topic, 0, offset, None if v is None else bytearray(v.encode("utf-8"))) for offset, v in enumerate(values)]
        return spark.createDataFrame(rows, KAFKA_SCHEMA)

    return make


@pytest.fixture
def records(spark):
    """records([(topic, value), ...]) -> rows as the streaming job selects them from Kafka: partition 0,
    offsets 0.., a timestamp one second apart per offset (from 2026-01-02T03:04:05Z), the value (str or None)."""

    def make(items: list[tuple[str, str | None]]) -> DataFrame:
        rows = [
            (
                topic,
                0,
                offset,
                datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC) + timedelta(seconds=offset),
                None if v is None else bytearray(v.encode("utf-8")),
            )
            for offset, (topic, v) in enumerate(items)
        ]
        return spark.createDataFrame(rows, "topic string, partition int, offset long, timestamp timestamp, value binary")

    return make
