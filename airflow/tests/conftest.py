"""Shared by the DAG tests: the DAGs folder on sys.path, and a fake control plane on a local port."""

from __future__ import annotations

import json
import sys
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

DAGS_DIR = Path(__file__).resolve().parents[1] / "dags"
# The DAG processor and the task runner put the DAGs folder (the bundle) on sys.path, so a DAG file can
# import pipeline_api; do the same for the modules the tests load directly.
if str(DAGS_DIR) not in sys.path:
    sys.path.append(str(DAGS_DIR))


@dataclass
class Request:
    method: str
    path: str  # with the query string
    headers: dict[str, str]
    body: Any


@dataclass
class FakeControlPlane:
    """Answers from `routes`: (METHOD, path without query) -> list of (status, JSON body or raw str);
    each request takes the next answer, the last one repeats. Unknown routes answer 404."""

    url: str
    routes: dict[tuple[str, str], list[tuple[int, Any]]] = field(default_factory=dict)
    requests: list[Request] = field(default_factory=list)

    def answer(self, method: str, path: str, *answers: tuple[int, Any]) -> None:
        self.routes[(method, path)] = list(answers)

    def paths(self, method: str | None = None) -> list[str]:
        return [r.path for r in self.requests if method is None or r.method == method]


@pytest.fixture
def control_plane(monkeypatch):
    """A fake control plane; the connection pipeline_api (AIRFLOW_CONN_PIPELINE_API) points at it."""
    fake: FakeControlPlane

    class Handler(BaseHTTPRequestHandler):
        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            path = urlsplit(self.path).path
            fake.requests.append(Request(self.command, self.path, dict(self.headers), json.loads(raw) if raw else None))
            queue = fake.routes.get((self.command, path))
            status, body = (queue.pop(0) if len(queue) > 1 else queue[0]) if queue else (404, {"message": "no route"})
            if len(fake.requests) > 100:  # a wait that does not end fails the test instead of hanging it
                status, body = 400, {"message": "more than 100 requests"}
            data = body.encode() if isinstance(body, str) else json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_DELETE = _serve

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    port = server.server_address[1]
    fake = FakeControlPlane(url=f"http://127.0.0.1:{port}")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setenv("AIRFLOW_CONN_PIPELINE_API", f"http://:test-key@127.0.0.1:{port}")
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()
