"""``_timeouts``: a body that stops arriving is a 408 (in-process; the real server's
behaviour, raw sockets and all, is tests/serve/test_connections.py)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from tests.serve.asgi import echo, request

from runlife.serve import ServeConfig, create_app, serve
from runlife.serve._connections import ConnectionLimits
from runlife.serve._timeouts import BodyTimeout


def stalled(app: Any, *chunks: bytes) -> tuple[int, dict[str, str], bytes]:
    """*app*'s answer to a POST whose body stops after *chunks* (``more_body`` stays true)."""
    pending = [{"type": "http.request", "body": c, "more_body": True} for c in chunks]
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        if pending:
            return pending.pop(0)
        await asyncio.Event().wait()  # the client sends nothing more
        raise AssertionError("unreachable")

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "method": "POST",
        "path": "/v1/threads",
        "raw_path": b"/v1/threads",
        "query_string": b"",
        "root_path": "",
        "headers": [(b"content-type", b"application/json")],
    }
    asyncio.run(asyncio.wait_for(app(scope, receive, send), 30))
    start = next(m for m in sent if m["type"] == "http.response.start")
    headers = {k.decode(): v.decode() for k, v in start.get("headers", [])}
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return start["status"], headers, body


def test_a_stalled_body_is_a_408_that_closes(tmp_path: Path) -> None:
    app = create_app(f"sqlite:///{tmp_path / 'runs.db'}", body_timeout=0.2)
    status, headers, body = stalled(app, b'{"metadata": ')
    assert status == 408
    assert headers["connection"] == "close"
    assert headers["x-request-id"].startswith("req_")
    assert body == (
        b'{"error":{"message":"The request body was not received within 0.2 s of its headers.",'
        b'"type":"invalid_request_error","param":null,"code":"request_timeout"}}'
    )


def test_a_body_in_time_passes_through() -> None:
    answer = request(BodyTimeout(echo, seconds=5), chunks=(b"ab", b"cd"))
    assert (answer.status, answer.body) == (200, b"abcd")


@pytest.mark.parametrize("seconds", [0, -1.0, float("nan")])
def test_a_timeout_must_be_positive(seconds: float) -> None:
    with pytest.raises(ValueError, match="seconds: expected a number > 0"):
        BodyTimeout(echo, seconds=seconds)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"max_connections": 0}, "max_connections: expected an int >= 1, got 0"),
        ({"header_timeout": 0.0}, "header_timeout: expected a number > 0, got 0.0"),
    ],
)
def test_connection_limits_are_checked(options: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        ConnectionLimits(**options)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"body_timeout": 0.0}, "body_timeout: expected a number > 0, got 0.0"),
        ({"header_timeout": -1.0}, "header_timeout: expected a number > 0, got -1.0"),
        ({"max_connections": 0}, "max_connections: expected an int >= 1, got 0"),
    ],
)
def test_serve_refuses_bad_limits_before_opening_anything(
    tmp_path: Path, options: dict[str, Any], message: str
) -> None:
    config = ServeConfig(store=f"sqlite:///{tmp_path / 'runs.db'}", port=0, **options)
    with pytest.raises(ValueError, match=message):
        serve(config)
    assert not (tmp_path / "runs.db").exists()
