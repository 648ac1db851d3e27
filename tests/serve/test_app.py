"""``create_app``: the handlers' routes behind the API key, then the body limit."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from tests.serve.asgi import request

from runlife.serve import create_app
from runlife.store import Store


def test_the_key_is_checked_before_the_body_limit(tmp_path: Path):
    """A request without the key learns nothing, not even the limit."""
    app = create_app(f"sqlite:///{tmp_path / 'runs.db'}", api_key="sk-1", max_body_bytes=4)
    too_large = {"Content-Length": "5"}
    answer = request(app, "POST", "/v1/threads", headers=too_large, chunks=(b"{...}",))
    assert answer.status == 401
    keyed = {**too_large, "Authorization": "Bearer sk-1"}
    answer = request(app, "POST", "/v1/threads", headers=keyed, chunks=(b"{...}",))
    assert answer.status == 413


def test_without_a_key_every_request_is_served(tmp_path: Path):
    app = create_app(f"sqlite:///{tmp_path / 'runs.db'}")
    assert request(app, "POST", "/v1/threads").status == 200


def test_a_body_that_grows_past_the_limit_is_a_413(tmp_path: Path):
    app = create_app(f"sqlite:///{tmp_path / 'runs.db'}", max_body_bytes=4)
    answer = request(app, "POST", "/v1/threads", chunks=(b"{  ", b"  }"))
    assert answer.status == 413
    assert answer.json()["error"]["message"] == "The request body is larger than 4 bytes."


def test_a_store_opened_from_a_url_is_closed_on_shutdown(tmp_path: Path):
    """The app owns a store it opened; one it was given stays open."""
    app = create_app(f"sqlite:///{tmp_path / 'runs.db'}")
    inner: Any = app
    while not hasattr(inner, "state"):  # through the middlewares to the Starlette app
        inner = inner.app
    store: Store = inner.state.runlife_store
    closed: list[bool] = []
    store_close = store.close

    def close() -> None:
        closed.append(True)
        store_close()

    store.close = close  # type: ignore[method-assign]
    lifespan(app)
    assert closed == [True]


def test_a_store_it_was_given_stays_open(tmp_path: Path):
    from runlife.store import open_store

    store = open_store(f"sqlite:///{tmp_path / 'runs.db'}")
    try:
        lifespan(create_app(store))
        assert store.list_runs("thread_1").data == []
    finally:
        store.close()


def lifespan(app: Any) -> None:
    """Run *app*'s lifespan: startup, then shutdown."""
    messages = [{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}]
    sent: list[str] = []

    async def receive() -> Any:
        return messages.pop(0)

    async def send(message: Any) -> None:
        sent.append(message["type"])

    asyncio.run(app({"type": "lifespan", "asgi": {"version": "3.0"}}, receive, send))
    assert sent == ["lifespan.startup.complete", "lifespan.shutdown.complete"]
