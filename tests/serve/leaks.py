"""What an answer must never show: internals the client did not send, an error not in the API's shape."""

from __future__ import annotations

import json
import urllib.parse
from pathlib import Path
from typing import TYPE_CHECKING

import runlife

if TYPE_CHECKING:
    from collections.abc import Set as AbstractSet

    from tests.serve.asgi import Answer

#: What no answer may contain unless the client sent it.
SQL_WORDS = ("SELECT ", "INSERT ", "UPDATE ", "DELETE FROM", " WHERE ", "CREATE TABLE")
TRACEBACK_WORDS = ("Traceback (most recent call last)", 'File "')
#: The directories of the code (a path in an answer is a leak).
CODE_DIRS = (str(Path(runlife.__file__).parent), str(Path(json.__file__).parent))


def assert_error_shape(answer: Answer) -> None:
    data = answer.json()
    assert set(data) == {"error"}, data
    error = data["error"]
    assert set(error) == {"message", "type", "param", "code"}, error
    assert isinstance(error["message"], str)
    assert error["message"]
    assert isinstance(error["type"], str)
    assert error["param"] is None or isinstance(error["param"], str)
    assert error["code"] is None or isinstance(error["code"], str)


def internals(url: str) -> list[str]:
    """What an answer of a server on the store at *url* must not name: the URL, the file or
    host and port behind it, table names, the drivers, SQL, tracebacks, the code's paths."""
    parts = urllib.parse.urlsplit(url)
    where = parts.path if url.startswith("sqlite") else f"{parts.hostname}:{parts.port}"
    return [
        url,
        where,
        "runlife_",
        "psycopg",
        "sqlite3",
        *SQL_WORDS,
        *TRACEBACK_WORDS,
        *CODE_DIRS,
    ]


def sent_marks(url: str, sent: bytes) -> set[str]:
    """The internals of *url* that a client's request *sent* itself contains."""
    given = sent.decode("utf-8", "replace")
    return {mark for mark in internals(url) if mark in given}


def leaks(
    answer: Answer, *, url: str, sent: bytes, also_sent: AbstractSet[str] = frozenset()
) -> list[str]:
    """The internals *answer* (body or headers) names that the client did not send itself
    (in *sent*, or earlier: *also_sent*)."""
    shown = answer.body.decode("utf-8", "replace") + "".join(
        f"{k}: {v}\n" for k, v in answer.headers.items()
    )
    given = sent_marks(url, sent) | also_sent
    return [mark for mark in internals(url) if mark in shown and mark not in given]
