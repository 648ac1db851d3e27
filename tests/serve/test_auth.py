"""``BearerAuth``: the API key middleware, in-process."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from tests.serve.asgi import echo, request

from runlife.serve._auth import BearerAuth

KEY = "sk-test"


@pytest.fixture(name="app")
def _app() -> BearerAuth:
    return BearerAuth(echo, api_key=KEY)


def test_the_right_key_passes(app):
    """With the key the request reaches the app, body and all."""
    answer = request(app, headers={"Authorization": f"Bearer {KEY}"}, chunks=(b"hi",))
    assert (answer.status, answer.body) == (200, b"hi")


@pytest.mark.parametrize(
    ("headers", "message"),
    [
        (
            {},
            "You didn't provide an API key. Send it as a Bearer token in the Authorization header.",
        ),
        ({"Authorization": "Bearer sk-wrong"}, "Incorrect API key provided."),
        ({"Authorization": KEY}, "Incorrect API key provided."),
        ({"Authorization": f"bearer {KEY}"}, "Incorrect API key provided."),
    ],
)
def test_a_missing_or_wrong_key_is_a_401(app, headers, message):
    """Without the exact ``Bearer <key>`` the answer is the API's 401 and the app never runs."""
    answer = request(app, headers=headers, chunks=(b"hi",))
    assert answer.status == 401
    assert answer.headers["content-type"] == "application/json"
    assert answer.json() == {
        "error": {
            "message": message,
            "type": "invalid_request_error",
            "param": None,
            "code": "invalid_api_key",
        }
    }


def test_other_scopes_pass_through():
    """Lifespan (and any scope but http) is not checked."""
    seen: list[str] = []

    async def app(scope: Any, _receive: Any, _send: Any) -> None:
        seen.append(scope["type"])

    async def nothing() -> Any:  # pragma: no cover - never read
        return {}

    async def drop(_message: Any) -> None:  # pragma: no cover - never sent
        return None

    asyncio.run(BearerAuth(app, api_key=KEY)({"type": "lifespan"}, nothing, drop))
    assert seen == ["lifespan"]


def test_an_empty_key_is_refused():
    """An empty key would lock everyone out: ``create_app`` leaves auth off instead."""
    with pytest.raises(ValueError, match="api_key"):
        BearerAuth(echo, api_key="")


def test_two_authorization_headers_are_a_401_even_when_one_is_right():
    """Which of two headers a proxy or a server reads differs: neither is taken."""
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b""}

    async def send(message: Any) -> None:
        sent.append(message)

    right = f"Bearer {KEY}".encode()
    for pair in ((right, right), (b"Bearer sk-wrong", right), (right, b"Bearer sk-wrong")):
        sent.clear()
        scope = {"type": "http", "headers": [(b"authorization", value) for value in pair]}
        asyncio.run(BearerAuth(echo, api_key=KEY)(scope, receive, send))
        assert sent[0]["status"] == 401
        body = json.loads(sent[1]["body"])
        assert body["error"]["message"] == (
            "Send one Authorization header; this request has more than one."
        )
        assert body["error"]["code"] == "invalid_api_key"
