"""airflow/dags/pipeline_api.py: how the control plane's answers are mapped to task outcomes."""
from __future__ import annotations

import socket
from typing import Any

import pytest
from airflow.sdk.exceptions import AirflowFailException

import pipeline_api as pa


# ---- pure functions --------------------------------------------------------------------------------

def test_error_message_uses_the_control_planes_message():
    msg = pa.error_message("POST", "/api/v1/ingest/users", 400, '{"statusCode":400,"message":"event 0 does not match"}')
    assert msg == "POST /api/v1/ingest/users answered 400: event 0 does not match"
    assert pa.error_message("GET", "/x", 400, '{"message":["day must be a date","sources too short"]}') == (
        "GET /x answered 400: day must be a date; sources too short")
    assert pa.error_message("POST", "/x", 502, "<html>bad gateway</html>").endswith("answered 502: <html>bad gateway</html>")
    assert pa.error_message("POST", "/x", 503, "").endswith("answered 503: (empty body)")
    assert len(pa.error_message("POST", "/x", 500, "y" * 5000)) < 600


@pytest.mark.parametrize("status,refused", [
    (400, True), (401, True), (403, True), (404, True), (409, True), (422, True),
    (408, False), (429, False), (500, False), (502, False), (503, False), (504, False),
])
def test_which_answers_are_refusals(status, refused):
    assert pa.is_refusal(status) is refused


# ---- PipelineApi over HTTP, with Airflow's HTTP hook and connection --------------------------------

SUBMIT = "/api/v1/jobs/daily_rollup/batches"
BODY = {"args": {"day": "2026-01-01", "sources": ["users"]}}


def batch(state: str, batch_id: Any = 7) -> dict[str, Any]:
    return {"id": batch_id, "job": "daily_rollup", "state": state}


def test_pipeline_api_sends_the_key_and_returns_the_json(control_plane):
    control_plane.answer("POST", "/api/v1/jobs/daily_rollup/batches", (201, batch("starting")))
    control_plane.answer("GET", "/api/v1/batches/7", (200, batch("running")))
    api = pa.PipelineApi()
    assert api.post(SUBMIT, BODY, headers={"Idempotency-Key": "k1"}) == batch("starting")
    assert api.get("/api/v1/batches/7") == batch("running")
    posted, got = control_plane.requests
    assert (posted.method, posted.path, posted.body) == ("POST", SUBMIT, BODY)
    assert posted.headers["X-API-Key"] == "test-key"
    assert posted.headers["Idempotency-Key"] == "k1"
    assert posted.headers["Content-Type"] == "application/json"
    assert (got.method, got.headers["X-API-Key"]) == ("GET", "test-key")


@pytest.mark.parametrize("status,error", [
    (400, pa.ControlPlaneRefused), (401, pa.ControlPlaneRefused), (404, pa.ControlPlaneRefused),
    (429, pa.ControlPlaneUnavailable), (502, pa.ControlPlaneUnavailable), (503, pa.ControlPlaneUnavailable),
])
def test_pipeline_api_maps_errors(control_plane, status, error):
    control_plane.answer("POST", SUBMIT, (status, {"statusCode": status, "message": "what went wrong"}))
    with pytest.raises(error, match=f"POST {SUBMIT} answered {status}: what went wrong") as err:
        pa.PipelineApi().post(SUBMIT, BODY)
    assert isinstance(err.value, AirflowFailException) is (error is pa.ControlPlaneRefused)


def test_pipeline_api_without_an_answer_is_unavailable(monkeypatch):
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("AIRFLOW_CONN_PIPELINE_API", f"http://:test-key@127.0.0.1:{port}")
    with pytest.raises(pa.ControlPlaneUnavailable, match="no answer from the control plane") as err:
        pa.PipelineApi().get("/api/v1/sources")
    assert not isinstance(err.value, AirflowFailException)


def test_pipeline_api_needs_the_key(monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_PIPELINE_API", "http://127.0.0.1:9")
    with pytest.raises(AirflowFailException, match="has no password"):
        pa.PipelineApi().get("/api/v1/sources")
