"""The control plane's REST API as the DAGs call it (not a DAG: .airflowignore keeps the DAG processor off it).

PipelineApi   one request = one HttpHook call on the connection `pipeline_api` (host and port; its password is
              the API key, sent as X-API-Key). Its outcomes are mapped here, once:
                2xx                          -> the JSON body
                4xx other than 408 and 429   -> ControlPlaneRefused (an AirflowFailException: retrying the same
                                                request would get the same answer), with the control plane's message
                5xx, 408, 429, no answer     -> ControlPlaneUnavailable (an AirflowException: Airflow's retries apply)
"""
from __future__ import annotations

import json
from typing import Any

from airflow.sdk.exceptions import AirflowException, AirflowFailException

API_CONN_ID = "pipeline_api"


class ControlPlaneRefused(AirflowFailException):
    """The control plane refused the request (4xx other than 408/429): not worth retrying."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class ControlPlaneUnavailable(AirflowException):
    """No usable answer (5xx, 408, 429, connection error, timeout): a retry may succeed."""


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


# ---------------------------------------------------------------------------------------------------
# The adapter
# ---------------------------------------------------------------------------------------------------

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
