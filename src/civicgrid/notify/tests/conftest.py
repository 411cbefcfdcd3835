from __future__ import annotations

import json
import threading
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from civicgrid.notify.backends import Message, NotificationBackend


@dataclass
class Seen:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: Any


@dataclass
class FakeProvider:
    """A real HTTP server on 127.0.0.1 standing in for an SMS gateway or the WeCom API."""

    url: str
    requests: list[Seen] = field(default_factory=list)
    # Answers by path, used in order; when a path runs out, its last answer repeats.
    answers: dict[str, list[tuple[int, Any]]] = field(default_factory=dict)

    def answer(self, path: str, *responses: tuple[int, Any]) -> None:
        self.answers[path] = list(responses)

    def next_answer(self, path: str) -> tuple[int, Any]:
        queue = self.answers.get(path) or [(200, {"code": 0, "errcode": 0, "errmsg": "ok"})]
        return queue.pop(0) if len(queue) > 1 else queue[0]

    def paths(self) -> list[str]:
        return [r.path for r in self.requests]


@pytest.fixture
def provider() -> Iterator[FakeProvider]:
    fake = FakeProvider(url="")

    class Handler(BaseHTTPRequestHandler):
        def _handle(self) -> None:
            parts = urllib.parse.urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            fake.requests.append(
                Seen(
                    method=self.command,
                    path=parts.path,
                    query=urllib.parse.parse_qs(parts.query),
                    headers={k.lower(): v for k, v in self.headers.items()},
                    body=json.loads(raw) if raw else None,
                )
            )
            status, body = fake.next_answer(parts.path)
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = _handle
        do_POST = _handle

        def log_message(self, format: str, *args: Any) -> None:
            pass  # keep test output clean

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    fake.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


class CapturingBackend(NotificationBackend):
    """Every channel's messages, kept in memory, for tests that check who got what."""

    sent: list[Message] = []

    def send(self, message: Message) -> str:
        CapturingBackend.sent.append(message)
        return f"ref-{len(CapturingBackend.sent)}"


@pytest.fixture
def captured(settings) -> list[Message]:
    settings.CIVICGRID_NOTIFY = {
        **settings.CIVICGRID_NOTIFY,
        "BACKENDS": dict.fromkeys(
            ("sms", "wecom", "email"), "civicgrid.notify.tests.conftest.CapturingBackend"
        ),
    }
    CapturingBackend.sent = []
    return CapturingBackend.sent
