"""``_routes``: the URL table and the answers no handler gives (404, 405, 500), in-process."""

from __future__ import annotations

import logging
from typing import Any, cast

import pytest
from tests.serve.asgi import request

from runlife.serve import create_app
from runlife.serve._routes import EXCEPTION_HANDLERS

SERVER_ERROR = {
    "error": {
        "message": "The server had an error while processing your request.",
        "type": "server_error",
        "param": None,
        "code": None,
    }
}


class _BrokenStore:
    """A store whose every operation fails as a bug would (not an error of runlife)."""

    def __getattr__(self, name: str) -> Any:
        def broken(*_args: Any, **_kwargs: Any) -> Any:
            raise AttributeError("'RunEngine' object has no attribute '_secret'")

        return broken


@pytest.fixture(name="app")
def _app() -> Any:
    return create_app(cast("Any", _BrokenStore()))


def test_an_unknown_url_is_a_404_in_the_api_shape(app):
    answer = request(app, "GET", "/v1/assistants")
    assert answer.status == 404
    assert answer.json()["error"] == {
        "message": "Unknown request URL: GET /v1/assistants.",
        "type": "invalid_request_error",
        "param": None,
        "code": None,
    }


def test_a_wrong_method_is_a_405_in_the_api_shape(app):
    answer = request(app, "DELETE", "/v1/threads/t/runs/r")
    assert answer.status == 405
    assert answer.json()["error"]["message"] == (
        "Method DELETE is not allowed on /v1/threads/t/runs/r."
    )


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/v1/threads/t/runs", b'{"assistant_id": "a"}'),
        ("GET", "/v1/threads/t/runs", b""),
        ("GET", "/v1/threads/t/runs/r", b""),
        ("POST", "/v1/threads/t/runs/r", b'{"metadata": {}}'),
        ("POST", "/v1/threads/t/runs/r/cancel", b""),
        ("POST", "/v1/threads/t/runs/r/submit_tool_outputs", b'{"tool_outputs": []}'),
        ("GET", "/v1/threads/t/runs/r/steps", b""),
        ("GET", "/v1/threads/t/runs/r/steps/s", b""),
    ],
)
def test_an_unexpected_error_is_a_generic_500_and_is_logged(app, caplog, method, path, body):
    """A bug is the server's error: never a 4xx, never its text in the answer."""
    with caplog.at_level(logging.ERROR, logger="runlife.serve"):
        answer = request(app, method, path, chunks=(body,))
    assert answer.status == 500
    assert answer.json() == SERVER_ERROR
    assert b"_secret" not in answer.body
    assert isinstance(answer.raised, AttributeError)  # also handed to the ASGI server
    assert "_secret" in caplog.text
    assert path in caplog.text


def test_every_error_has_a_handler():
    from starlette.exceptions import HTTPException

    from runlife.serve import APIError

    assert set(EXCEPTION_HANDLERS) == {APIError, HTTPException, Exception}


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("PUT", "/v1/threads", "POST"),
        ("GET", "/v1/threads", "POST"),
        ("PUT", "/v1/threads/t", "GET, POST, DELETE"),
        ("DELETE", "/v1/threads/t/runs", "GET, POST"),
        ("DELETE", "/v1/threads/t/runs/r", "GET, POST"),
        ("GET", "/v1/threads/t/runs/r/cancel", "POST"),
        ("POST", "/v1/threads/t/runs/r/steps", "GET"),
        ("DELETE", "/v1/threads/t/runs/r/steps/s", "GET"),
    ],
)
def test_a_405_lists_all_of_the_paths_methods(app, method, path, allowed):
    answer = request(app, method, path)
    assert answer.status == 405
    assert set(answer.headers["allow"].split(", ")) == {
        *allowed.split(", "),
        *(["HEAD"] if "GET" in allowed else []),
    }
