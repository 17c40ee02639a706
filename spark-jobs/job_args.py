"""The command-line pieces both Spark jobs parse: argparse types and the Cassandra connection flags.

One module, shipped with each job (--py-files), so the jobs agree on what a list, a port or a
Cassandra address looks like, and a fix to one parser is a fix to both.
"""

from __future__ import annotations

import argparse
import json
import re
from datetime import date

import pipeline_transforms as pt
from pipeline_names import KEYSPACE


def add_cassandra_args(parser: argparse.ArgumentParser) -> None:
    """--cassandra-host, --cassandra-port and --keyspace, as the control plane passes them (`provided: [cassandra]`)."""
    parser.add_argument("--cassandra-host", default="127.0.0.1", help="Cassandra contact point(s), comma-separated")
    parser.add_argument("--cassandra-port", default=9042, type=port, help="Cassandra native port")
    parser.add_argument("--keyspace", default=KEYSPACE, help="Cassandra keyspace")


def csv(value: str) -> list[str]:
    items = pt.split_csv(value)
    if not items:
        raise argparse.ArgumentTypeError("expected at least one comma-separated value")
    return items


def pairs(value: str) -> dict[str, str]:
    try:
        return pt.split_pairs(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def bucket_seconds(value: str) -> dict[str, int]:
    try:
        return pt.split_bucket_seconds(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def positive_int(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {value!r}") from None
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1: {number}")
    return number


def port(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {value!r}") from None
    if not 1 <= number <= 65535:
        raise argparse.ArgumentTypeError(f"not a TCP port: {number}")
    return number


def starting_offsets(value: str) -> str:
    if value in ("earliest", "latest"):
        return value
    try:
        if isinstance(json.loads(value), dict):
            return value
    except ValueError:
        pass
    raise argparse.ArgumentTypeError("expected earliest, latest or a JSON object of per-partition offsets")


def day(value: str) -> date:
    # fromisoformat alone also takes 20260101 and 2026-W01-1 on Python 3.11.
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise argparse.ArgumentTypeError(f"not a YYYY-MM-DD date: {value!r}")
