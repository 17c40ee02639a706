"""jobs.yaml, the catalog the control plane serves and validates batch args against."""

from __future__ import annotations

import ast
import importlib
import re
from pathlib import Path

import pytest
import yaml
from jsonschema import Draft202012Validator, FormatChecker

JOBS_DIR = Path(__file__).resolve().parents[1]
CATALOG = yaml.safe_load((JOBS_DIR / "jobs.yaml").read_text())
JOBS = CATALOG["jobs"]

# What the control plane adds from its own configuration for each name in a job's `provided`
# (see the comment atop jobs.yaml).
PROVIDED_ARGV = {
    "topics": [
        "--topics",
        "users_created,ingest.orders,ingest.clicks,ingest.orders.dlq",
        "--topic-sources",
        "users_created=users,ingest.orders=orders,ingest.clicks=clicks,ingest.orders.dlq=orders",
        "--dead-letter-topics",
        "ingest.orders.dlq",
    ],
    "kafka": ["--kafka-bootstrap", "127.0.0.1:9092"],
    "cassandra": ["--cassandra-host", "127.0.0.1", "--cassandra-port", "9042", "--keyspace", "pipeline"],
    "checkpoint": ["--checkpoint-dir", "/tmp/checkpoints/events_stream"],
    "batch": ["--batch-id", "0190a5e4-7c1b-7def-8000-00000000000b"],
}


def provided_argv(name: str) -> list[str]:
    return [arg for group in JOBS[name].get("provided", []) for arg in PROVIDED_ARGV[group]]


def to_argv(args: dict) -> list[str]:
    """The control plane's rule: each property -> --kebab-case-name value, arrays joined with commas."""
    argv = []
    for name, value in args.items():
        argv += ["--" + name.replace("_", "-"), ",".join(value) if isinstance(value, list) else str(value)]
    return argv


def sample(prop: dict):
    if "examples" in prop:
        return prop["examples"][0]
    if "default" in prop:
        return prop["default"]
    if "enum" in prop:
        return prop["enum"][-1]
    return {"integer": prop.get("minimum", 1)}[prop["type"]]


def validator(job: str) -> Draft202012Validator:
    return Draft202012Validator(JOBS[job]["args"], format_checker=FormatChecker())


def test_catalog_lists_the_jobs():
    assert set(JOBS) == {"events_stream", "daily_rollup"}
    assert JOBS["events_stream"]["streaming"] is True
    assert JOBS["daily_rollup"]["streaming"] is False


def test_the_stream_gets_its_batch_id_and_its_control_modules():
    import events_stream

    stream = JOBS["events_stream"]
    assert "batch" in stream["provided"]
    assert {"stream_decisions.py", "stream_store.py", "stream_guard.py"} <= set(stream["pyFiles"])
    assert events_stream.parse_args(provided_argv("events_stream")).batch_id == PROVIDED_ARGV["batch"][1]


def _local_imports(path: Path) -> set[str]:
    """The modules of spark-jobs/ a file imports, directly or through each other."""
    found: set[str] = set()
    pending = [path]
    while pending:
        tree = ast.parse(pending.pop().read_text())
        for node in ast.walk(tree):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            for name in names:
                module = JOBS_DIR / f"{name.split('.')[0]}.py"
                if module.is_file() and module.name not in found:
                    found.add(module.name)
                    pending.append(module)
    return found


@pytest.mark.parametrize("name", sorted(JOBS))
def test_py_files_ship_exactly_the_modules_the_job_imports(name):
    # Livy ships pyFiles beside the job; a module the job imports but the catalog forgets fails only on a cluster.
    job = JOBS[name]
    assert set(job["pyFiles"]) == _local_imports(JOBS_DIR / job["file"]) - {job["file"]}


@pytest.mark.parametrize("name", sorted(JOBS))
def test_job_entry_is_complete_and_its_files_exist(name):
    job = JOBS[name]
    assert (
        {"file", "pyFiles", "description", "streaming", "args"}
        <= set(job)
        <= {"file", "pyFiles", "description", "streaming", "args", "provided", "conf"}
    )
    assert set(job.get("provided", [])) <= set(PROVIDED_ARGV)
    assert (JOBS_DIR / job["file"]).is_file()
    assert job["pyFiles"] and all((JOBS_DIR / f).is_file() for f in job["pyFiles"])
    assert job["description"].strip()


@pytest.mark.parametrize("name", sorted(JOBS))
def test_args_is_a_valid_closed_object_schema(name):
    schema = JOBS[name]["args"]
    Draft202012Validator.check_schema(schema)
    assert schema["type"] == "object"
    assert schema["additionalProperties"] is False
    assert set(schema.get("required", [])) <= set(schema["properties"])
    for prop_name, prop in schema["properties"].items():
        assert re.fullmatch(r"[a-z][a-z0-9]*(_[a-z0-9]+)*", prop_name), prop_name
        assert prop.get("description"), prop_name
        if "default" in prop:
            assert validator(name).is_valid({**_required_sample(name), prop_name: prop["default"]}), prop_name


def _required_sample(name: str) -> dict:
    schema = JOBS[name]["args"]
    return {p: sample(schema["properties"][p]) for p in schema.get("required", [])}


@pytest.mark.parametrize("name", sorted(JOBS))
def test_every_schema_property_is_a_flag_the_job_accepts(name):
    # Sample values for every property, validated by the schema, then passed through the control
    # plane's snake_case -> --kebab-case rule: the job's argparse must take each and keep its value.
    schema = JOBS[name]["args"]
    args = {p: sample(prop) for p, prop in schema["properties"].items()}
    validator(name).validate(args)
    module = importlib.import_module(Path(JOBS[name]["file"]).stem)
    parsed = vars(module.parse_args(provided_argv(name) + to_argv(args)))
    for prop_name, value in args.items():
        got = parsed[prop_name]
        assert (got.isoformat() if hasattr(got, "isoformat") else got) == value, prop_name


@pytest.mark.parametrize(
    "name, args",
    [
        ("daily_rollup", {"sources": ["users"]}),
        ("daily_rollup", {"day": "2026-01-01", "sources": []}),
        ("daily_rollup", {"day": "2026-02-30", "sources": ["users"]}),
        ("daily_rollup", {"day": "2026-01-01", "sources": ["users"], "keyspace": "other"}),
        ("daily_rollup", {"day": "2026-01-01", "sources": ["Users!"]}),
        ("events_stream", {"trigger_ms": 0}),
        ("events_stream", {"starting_offsets": "soon"}),
        ("events_stream", {"checkpoint_dir": "/elsewhere"}),
        ("events_stream", {"max_offsets_per_trigger": "many"}),
    ],
)
def test_schema_rejects_args_a_user_must_not_send(name, args):
    assert not validator(name).is_valid(args)
