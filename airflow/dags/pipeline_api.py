"""The control plane's REST API as the DAGs call it (not a DAG: .airflowignore keeps the DAG processor off it).

PipelineApi   one request = one HttpHook call on the connection `pipeline_api` (host and port; its password is
              the API key, sent as X-API-Key). Its outcomes are mapped here, once:
                2xx                          -> the JSON body
                4xx other than 408 and 429   -> ControlPlaneRefused (an AirflowFailException: retrying the same
                                                request would get the same answer), with the control plane's message
                5xx, 408, 429, no answer     -> ControlPlaneUnavailable (an AirflowException: Airflow's retries apply)
run_batch     submits a job of the control plane's catalog (POST /api/v1/jobs/{job}/batches) and polls
              GET /api/v1/batches/{id} until the batch ends; anything but `success` raises BatchFailed with the
              tail of the driver's log.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any, Protocol
from urllib.parse import quote

from airflow.sdk.exceptions import AirflowException, AirflowFailException

API_CONN_ID = "pipeline_api"
# Livy's terminal states, plus `lost`: the control plane's word for a batch Livy forgot before it ended.
END_STATES = frozenset({"success", "dead", "killed", "error", "lost"})
LOG_TAIL_LINES = 100


class ControlPlaneRefused(AirflowFailException):
    """The control plane refused the request (4xx other than 408/429): not worth retrying."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class ControlPlaneUnavailable(AirflowException):
    """No usable answer (5xx, 408, 429, connection error, timeout): a retry may succeed."""


class BatchFailed(AirflowFailException):
    """The batch ended in a state other than `success`."""

    def __init__(self, batch: dict[str, Any], message: str) -> None:
        super().__init__(message)
        self.batch = batch


# ---------------------------------------------------------------------------------------------------
# Pure functions, tested in airflow/tests.
# ---------------------------------------------------------------------------------------------------


def error_message(method: str, endpoint: str, status: int, text: str) -> str:
    """The control plane's error message ({"message": ...}) or the start of the body."""
    try:
        body = json.loads(text)
        message = body.get("message") if isinstance(body, dict) else None
    except ValueError:
        message = None
    if isinstance(message, list):  # a validation pipe's list of messages
        message = "; ".join(str(m) for m in message)
    return f"{method} {endpoint} answered {status}: {message or text[:500] or '(empty body)'}"


def is_refusal(status: int) -> bool:
    """A 4xx that will not change on retry (bad key, bad args, unknown job or batch)."""
    return 400 <= status < 500 and status not in (408, 429)


def batch_endpoint(batch_id: Any) -> str:
    """GET /api/v1/batches/{id}: the id is opaque (an int today, maybe a UUID tomorrow), quoted as it is."""
    return f"/api/v1/batches/{quote(str(batch_id), safe='')}"


def log_endpoint(batch_id: Any, start: int, size: int) -> str:
    return f"{batch_endpoint(batch_id)}/log?from={start}&size={size}"


def tail_start(total: int, lines: int) -> int:
    """The first line of the last `lines` of a log that has `total`."""
    return max(0, int(total) - lines)


def is_ended(state: Any) -> bool:
    return state in END_STATES


def failure_message(batch: dict[str, Any], log_lines: list[str] | None) -> str:
    """Why the task fails: the batch, its end state and, when it could be read, the tail of its driver log."""
    what = f"batch {batch.get('id')} ({batch.get('job') or batch.get('name') or 'unknown job'}) ended {batch.get('state')!r}"
    if batch.get("state") == "lost":
        what += " (Livy forgot it before it ended, e.g. Livy restarted)"
    if not log_lines:
        return f"{what}; no driver log available"
    return f"{what}; last {len(log_lines)} lines of its driver log:\n" + "\n".join(str(line) for line in log_lines)


# ---------------------------------------------------------------------------------------------------
# The adapter
# ---------------------------------------------------------------------------------------------------


class Api(Protocol):
    def get(self, endpoint: str) -> Any: ...
    def post(self, endpoint: str, body: Any, headers: dict[str, str] | None = None) -> Any: ...
    def delete(self, endpoint: str) -> Any: ...


class PipelineApi:
    """The control plane through Airflow's HTTP provider, on one connection."""

    def __init__(self, conn_id: str = API_CONN_ID, timeout: float = 30) -> None:
        self.conn_id = conn_id
        self.timeout = timeout
        self._key: str | None = None

    def get(self, endpoint: str) -> Any:
        return self.request("GET", endpoint)

    def post(self, endpoint: str, body: Any, headers: dict[str, str] | None = None) -> Any:
        return self.request("POST", endpoint, body, headers)

    def delete(self, endpoint: str) -> Any:
        return self.request("DELETE", endpoint)

    def request(self, method: str, endpoint: str, body: Any = None, headers: dict[str, str] | None = None) -> Any:
        import requests
        from airflow.providers.http.hooks.http import HttpHook

        hook = HttpHook(method=method, http_conn_id=self.conn_id)
        if self._key is None:
            key = hook.get_connection(self.conn_id).password
            if not key:
                raise AirflowFailException(f"connection {self.conn_id} has no password (the API key to send as X-API-Key)")
            self._key = key
        sent = {"X-API-Key": self._key, "Accept": "application/json", **(headers or {})}
        if body is not None:
            sent["Content-Type"] = "application/json"
        try:
            res = hook.run(
                endpoint,
                json=body,
                headers=sent,
                extra_options={"check_response": False, "timeout": self.timeout},
            )
        except requests.exceptions.RequestException as err:
            raise ControlPlaneUnavailable(f"{method} {endpoint}: no answer from the control plane: {err}") from err
        if 200 <= res.status_code < 300:
            return res.json() if res.content else None
        message = error_message(method, endpoint, res.status_code, res.text)
        if is_refusal(res.status_code):
            raise ControlPlaneRefused(res.status_code, message)
        raise ControlPlaneUnavailable(message)


# ---------------------------------------------------------------------------------------------------
# A catalog job, from submit to its end
# ---------------------------------------------------------------------------------------------------


def log_tail(api: Api, batch_id: Any, lines: int = LOG_TAIL_LINES) -> list[str] | None:
    """The last `lines` of the batch's driver log, or None when it cannot be read (it only decorates a failure)."""
    try:
        total = api.get(log_endpoint(batch_id, 0, 1)).get("total", 0)
        return list(api.get(log_endpoint(batch_id, tail_start(total, lines), lines)).get("lines", []))
    except (AirflowException, AttributeError, TypeError, ValueError) as err:
        print(f"could not read the log of batch {batch_id}: {err}")
        return None


def run_batch(
    api: Api,
    job: str,
    body: dict[str, Any],
    *,
    poll_seconds: float = 5,
    patience: int = 60,
    sleep: Callable[[float], None] = time.sleep,
) -> dict[str, Any]:
    """Submits `job` with `body` ({"args": ...}), waits for the batch to end and returns its last view.

    While waiting, up to `patience` polls in a row may find the control plane unavailable (a restart, a Livy
    hiccup) before the task gives up. If the wait ends any other way than with the batch ended (a refusal, the
    task's timeout, the task being stopped), the batch is killed, best effort, so no job runs on unwatched.
    """
    batch = api.post(f"/api/v1/jobs/{quote(job, safe='')}/batches", body)
    batch_id = batch["id"]
    print(f"submitted {job} as batch {batch_id}: {batch.get('state')} {json.dumps(body)}")
    state, unavailable = batch.get("state"), 0
    try:
        while not is_ended(state):
            sleep(poll_seconds)
            try:
                batch = api.get(batch_endpoint(batch_id))
            except ControlPlaneUnavailable as err:
                unavailable += 1
                if unavailable >= patience:
                    raise
                print(f"batch {batch_id}: {err} (poll {unavailable} of {patience}; still waiting)")
                continue
            unavailable = 0
            if batch.get("state") != state:
                print(f"batch {batch_id}: {state} -> {batch.get('state')}")
            state = batch.get("state")
    except BaseException:
        _kill(api, batch_id)
        raise
    if state != "success":
        raise BatchFailed(batch, failure_message(batch, log_tail(api, batch_id)))
    return batch


def _kill(api: Api, batch_id: Any) -> None:
    try:
        api.delete(batch_endpoint(batch_id))
        print(f"killed batch {batch_id}")
    except Exception as err:  # the original error is the one to report
        print(f"could not kill batch {batch_id}: {err}")
