"""``BodyLimit``: request bodies over the limit are a 413, in-process."""

from __future__ import annotations

import pytest
from tests.serve.asgi import echo, request

from runlife.serve._errors import APIError
from runlife.serve._limits import DEFAULT_MAX_BODY, BodyLimit


def test_the_default_is_one_mebibyte():
    assert DEFAULT_MAX_BODY == 1 << 20


def test_a_body_within_the_limit_passes():
    app = BodyLimit(echo, limit=4)
    answer = request(app, headers={"Content-Length": "4"}, chunks=(b"ab", b"cd"))
    assert (answer.status, answer.body) == (200, b"abcd")


def test_a_content_length_over_the_limit_is_answered_before_the_app():
    """The declared length alone is enough: a 413 in the API's shape, the app not called."""
    called: list[bool] = []

    async def app(*_: object) -> None:  # pragma: no cover - must not run
        called.append(True)

    answer = request(BodyLimit(app, limit=4), headers={"Content-Length": "5"}, chunks=(b"abcde",))
    assert answer.status == 413
    assert answer.json()["error"] == {
        "message": "The request body is larger than 4 bytes.",
        "type": "invalid_request_error",
        "param": None,
        "code": None,
    }
    assert called == []


def test_a_body_that_grows_past_the_limit_raises_413_in_the_reader():
    """Without a length (chunked), reading past the limit raises the API's 413."""
    with pytest.raises(APIError) as info:
        request(BodyLimit(echo, limit=4), chunks=(b"abc", b"de"))
    assert (info.value.status, info.value.message) == (
        413,
        "The request body is larger than 4 bytes.",
    )
