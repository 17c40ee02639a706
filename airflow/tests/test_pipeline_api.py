"""airflow/dags/pipeline_api.py: error mapping, batch endpoints, and a catalog job from submit to its end."""

from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import Any

import pytest
from airflow.sdk.exceptions import AirflowFailException

import pipeline_api as pa

# ---- pure functions --------------------------------------------------------------------------------


def test_error_message_uses_the_control_planes_message():
    msg = pa.error_message("POST", "/api/v1/ingest/users", 400, '{"statusCode":400,"message":"event 0 does not match"}')
    assert msg == "POST /api/v1/ingest/users answered 400: event 0 does not match"
    assert pa.error_message("GET", "/x", 400, '{"message":["day must be a date","sources too short"]}') == (
        "GET /x answered 400: day must be a date; sources too short"
    )
    assert pa.error_message("POST", "/x", 502, "<html>bad gateway</html>").endswith("answered 502: <html>bad gateway</html>")
    assert pa.error_message("POST", "/x", 503, "").endswith("answered 503: (empty body)")
    assert len(pa.error_message("POST", "/x", 500, "y" * 5000)) < 600


@pytest.mark.parametrize(
    "status,refused",
    [
        (400, True),
        (401, True),
        (403, True),
        (404, True),
        (409, True),
        (422, True),
        (408, False),
        (429, False),
        (500, False),
        (502, False),
        (503, False),
        (504, False),
    ],
)
def test_which_answers_are_refusals(status, refused):
    assert pa.is_refusal(status) is refused


def test_batch_ids_are_opaque_and_quoted():
    assert pa.batch_endpoint(7) == "/api/v1/batches/7"
    assert pa.batch_endpoint("5f3a9c1e-0000-4000-8000-000000000001") == "/api/v1/batches/5f3a9c1e-0000-4000-8000-000000000001"
    assert pa.batch_endpoint("a/b c?d") == "/api/v1/batches/a%2Fb%20c%3Fd"
    assert pa.log_endpoint(7, 40, 100) == "/api/v1/batches/7/log?from=40&size=100"


def test_tail_start():
    assert pa.tail_start(0, 100) == 0
    assert pa.tail_start(57, 100) == 0
    assert pa.tail_start(100, 100) == 0
    assert pa.tail_start(1000, 100) == 900


def test_end_states():
    for state in ("success", "dead", "killed", "error", "lost"):
        assert pa.is_ended(state)
    for state in ("not_started", "starting", "recovering", "idle", "running", "busy", "shutting_down", None, "new"):
        assert not pa.is_ended(state)


def test_end_states_are_livys_terminal_states_of_the_shared_contract():
    livy = json.loads((Path(__file__).resolve().parents[2] / "contracts" / "names.json").read_text())["livy"]
    assert set(livy["terminal_states"]) | {livy["lost"]} == pa.END_STATES
    assert not any(pa.is_ended(state) for state in livy["running_states"])


def test_failure_message():
    batch = {"id": 3, "job": "daily_rollup", "state": "dead"}
    assert pa.failure_message(batch, ["a", "Traceback: boom"]) == (
        "batch 3 (daily_rollup) ended 'dead'; last 2 lines of its driver log:\na\nTraceback: boom"
    )
    assert pa.failure_message(batch, None) == "batch 3 (daily_rollup) ended 'dead'; no driver log available"
    assert "Livy forgot it" in pa.failure_message({"id": 3, "state": "lost"}, [])


# ---- run_batch over a fake Api ---------------------------------------------------------------------


class FakeApi:
    """Scripted answers per endpoint (a value, or an exception to raise); the last one repeats."""

    def __init__(self, **_: Any) -> None:
        self.answers: dict[tuple[str, str], list[Any]] = {}
        self.calls: list[tuple[str, str, Any]] = []

    def on(self, method: str, endpoint: str, *answers: Any) -> FakeApi:
        self.answers[(method, endpoint)] = list(answers)
        return self

    def _call(self, method: str, endpoint: str, body: Any = None) -> Any:
        self.calls.append((method, endpoint, body))
        if len(self.calls) > 100:
            raise AssertionError(f"more than 100 calls, the last {method} {endpoint}: the wait does not end")
        queue = self.answers.get((method, endpoint))
        if not queue:
            raise pa.ControlPlaneRefused(404, f"{method} {endpoint} answered 404: unscripted")
        answer = queue.pop(0) if len(queue) > 1 else queue[0]
        if isinstance(answer, BaseException):
            raise answer
        return answer

    def get(self, endpoint: str) -> Any:
        return self._call("GET", endpoint)

    def post(self, endpoint: str, body: Any, headers: dict[str, str] | None = None) -> Any:
        return self._call("POST", endpoint, body)

    def delete(self, endpoint: str) -> Any:
        return self._call("DELETE", endpoint)

    def endpoints(self, method: str) -> list[str]:
        return [e for m, e, _ in self.calls if m == method]


SUBMIT = "/api/v1/jobs/daily_rollup/batches"
BODY = {"args": {"day": "2026-01-01", "sources": ["users"]}}


def batch(state: str, batch_id: Any = 7) -> dict[str, Any]:
    return {"id": batch_id, "job": "daily_rollup", "state": state}


def test_run_batch_polls_until_success():
    api = (
        FakeApi()
        .on("POST", SUBMIT, batch("starting"))
        .on("GET", "/api/v1/batches/7", batch("starting"), batch("running"), batch("running"), batch("success"))
    )
    sleeps: list[float] = []
    result = pa.run_batch(api, "daily_rollup", BODY, sleep=sleeps.append)
    assert result == batch("success")
    assert api.calls[0] == ("POST", SUBMIT, BODY)
    assert api.endpoints("GET") == ["/api/v1/batches/7"] * 4
    assert sleeps == [5] * 4
    assert api.endpoints("DELETE") == []


def test_run_batch_keeps_a_string_id_as_it_is():
    uuid = "5f3a9c1e-0000-4000-8000-000000000001"
    api = FakeApi().on("POST", SUBMIT, batch("starting", uuid)).on("GET", f"/api/v1/batches/{uuid}", batch("success", uuid))
    assert pa.run_batch(api, "daily_rollup", BODY, sleep=lambda s: None)["id"] == uuid


@pytest.mark.parametrize("end", ["dead", "killed", "error", "lost"])
def test_run_batch_fails_at_once_with_the_log_tail_unless_success(end):
    api = (
        FakeApi()
        .on("POST", SUBMIT, batch("starting"))
        .on("GET", "/api/v1/batches/7", batch("running"), batch(end))
        .on("GET", "/api/v1/batches/7/log?from=0&size=1", {"id": 7, "from": 0, "total": 250, "lines": ["first"]})
        .on(
            "GET",
            "/api/v1/batches/7/log?from=150&size=100",
            {"id": 7, "from": 150, "total": 250, "lines": [f"line {i}" for i in range(150, 250)]},
        )
    )
    with pytest.raises(pa.BatchFailed) as err:
        pa.run_batch(api, "daily_rollup", BODY, sleep=lambda s: None)
    assert isinstance(err.value, AirflowFailException)  # no retry: a retry would run the whole job again
    assert f"batch 7 (daily_rollup) ended '{end}'" in str(err.value)
    assert str(err.value).endswith("line 248\nline 249")
    assert "line 149" not in str(err.value)
    assert err.value.batch["state"] == end
    assert api.endpoints("DELETE") == []


def test_run_batch_failure_without_a_readable_log():
    api = (
        FakeApi()
        .on("POST", SUBMIT, batch("starting"))
        .on("GET", "/api/v1/batches/7", batch("dead"))
        .on("GET", "/api/v1/batches/7/log?from=0&size=1", pa.ControlPlaneRefused(404, "no log in Livy"))
    )
    with pytest.raises(pa.BatchFailed, match="ended 'dead'; no driver log available"):
        pa.run_batch(api, "daily_rollup", BODY, sleep=lambda s: None)


def test_run_batch_refused_submit_fails_without_polling():
    api = FakeApi().on("POST", SUBMIT, pa.ControlPlaneRefused(400, "POST ... answered 400: day must be a date"))
    with pytest.raises(pa.ControlPlaneRefused, match="day must be a date") as err:
        pa.run_batch(api, "daily_rollup", BODY, sleep=lambda s: None)
    assert isinstance(err.value, AirflowFailException)
    assert api.endpoints("GET") == [] and api.endpoints("DELETE") == []


def test_run_batch_waits_through_a_short_outage():
    down = pa.ControlPlaneUnavailable("GET /api/v1/batches/7 answered 503: Livy is down")
    api = (
        FakeApi()
        .on("POST", SUBMIT, batch("starting"))
        .on("GET", "/api/v1/batches/7", batch("running"), down, down, batch("running"), down, down, batch("success"))
    )
    assert pa.run_batch(api, "daily_rollup", BODY, patience=3, sleep=lambda s: None)["state"] == "success"


def test_run_batch_gives_up_after_a_long_outage_and_kills_the_batch():
    down = pa.ControlPlaneUnavailable("no answer from the control plane")
    api = (
        FakeApi()
        .on("POST", SUBMIT, batch("starting"))
        .on("GET", "/api/v1/batches/7", batch("running"), down)
        .on("DELETE", "/api/v1/batches/7", batch("killed"))
    )
    with pytest.raises(pa.ControlPlaneUnavailable):
        pa.run_batch(api, "daily_rollup", BODY, patience=3, sleep=lambda s: None)
    assert api.endpoints("GET") == ["/api/v1/batches/7"] * 4
    assert api.endpoints("DELETE") == ["/api/v1/batches/7"]


def test_run_batch_kills_the_batch_when_the_wait_is_cut_short():
    class Timeout(BaseException):  # like AirflowTaskTimeout raised into the task
        pass

    def sleep(seconds: float) -> None:
        if len(api.calls) > 2:
            raise Timeout()

    api = (
        FakeApi()
        .on("POST", SUBMIT, batch("starting"))
        .on("GET", "/api/v1/batches/7", batch("running"))
        .on("DELETE", "/api/v1/batches/7", pa.ControlPlaneUnavailable("down too"))
    )
    with pytest.raises(Timeout):
        pa.run_batch(api, "daily_rollup", BODY, sleep=sleep)
    assert api.endpoints("DELETE") == ["/api/v1/batches/7"]


# ---- PipelineApi over HTTP, with Airflow's HTTP hook and connection --------------------------------


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


@pytest.mark.parametrize(
    "status,error",
    [
        (400, pa.ControlPlaneRefused),
        (401, pa.ControlPlaneRefused),
        (404, pa.ControlPlaneRefused),
        (429, pa.ControlPlaneUnavailable),
        (502, pa.ControlPlaneUnavailable),
        (503, pa.ControlPlaneUnavailable),
    ],
)
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
