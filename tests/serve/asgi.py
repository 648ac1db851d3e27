"""Driving an ASGI app in-process (no server, no HTTP client): one request, its answer."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import attrs


@attrs.frozen
class Answer:
    """What the app sent: the status, the headers (lower-case names) and the body."""

    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def request(
    app: Any,
    method: str = "POST",
    path: str = "/",
    *,
    headers: dict[str, str] | None = None,
    chunks: tuple[bytes, ...] = (),
) -> Answer:
    """Send one HTTP request to *app*, its body in *chunks* (``http.request`` messages)."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "scheme": "http",
        "headers": [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()],
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 80),
    }
    pending = [
        {"type": "http.request", "body": chunk, "more_body": i < len(chunks) - 1}
        for i, chunk in enumerate(chunks or (b"",))
    ]
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        if pending:
            return pending.pop(0)
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    asyncio.run(app(scope, receive, send))
    start = next(m for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    names = {k.decode(): v.decode() for k, v in start.get("headers", [])}
    return Answer(start["status"], names, body)


async def echo(scope: Any, receive: Any, send: Any) -> None:
    """An app that answers 200 with the request's whole body (read to the end)."""
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": body})
