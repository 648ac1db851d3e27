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
    #: What the app raised after answering (Starlette re-raises a 500's error to the server).
    raised: BaseException | None = None

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
    """Send one HTTP request to *app*, its body in *chunks* (``http.request`` messages).

    *path* may carry a query (``?limit=5``). An error the app raises before it answers
    propagates; one raised after is kept in ``Answer.raised``.
    """
    path, _, query = path.partition("?")
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "path": path,
        "raw_path": path.encode(),
        "query_string": query.encode(),
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

    raised: BaseException | None = None
    try:
        asyncio.run(app(scope, receive, send))
    except Exception as exc:
        if not any(m["type"] == "http.response.start" for m in sent):
            raise
        raised = exc
    start = next(m for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    names = {k.decode(): v.decode() for k, v in start.get("headers", [])}
    return Answer(start["status"], names, body, raised)


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
