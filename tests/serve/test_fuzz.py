"""Bounded fuzzing of every endpoint, in-process, on SQLite and PostgreSQL.

Every route of the app's own URL table (``_routes.routes``, read back from the Starlette
app, so a new route is fuzzed without a change here) gets requests whose path ids, query
strings and bodies come from hypothesis: bodies near each endpoint's valid shape with
fields swapped for arbitrary JSON, wrong types, huge, deep or odd-Unicode values, plus
arbitrary JSON and bytes that are not JSON in UTF-8. For every answer:

- never a 5xx (everything here is a client's doing; the store is up);
- every 4xx is in the API's error shape, ``{"error": {"message", "type", "param", "code"}}``;
- a refused request (4xx) changes nothing: every ``runlife_`` table, read directly from the
  database, and every known thread (as ``GET /v1/threads/{id}`` answers it) are the same
  before and after;
- no answer (body or headers) names an internal the client did not send: the store's URL,
  a table name (``runlife_``), an SQL statement, a Python traceback, or a file path.

Fast by default (10 examples per endpoint and backend, a few seconds); ``HYPOTHESIS_PROFILE=ci``
runs eight times as many.
"""

from __future__ import annotations

import json
import sqlite3
import urllib.parse
from collections.abc import Iterator
from typing import Any

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.applications import Starlette
from starlette.routing import Route
from tests.serve.asgi import request
from tests.serve.conftest import store_url
from tests.serve.leaks import assert_error_shape, leaks, sent_marks

import runlife
from runlife.serve import create_app
from runlife.serve._routes import routes  # the URL table: the one list of endpoints
from runlife.store import Store, open_store

#: Examples per endpoint and backend: the profile's (50 by default, 400 under ci) over this.
SHARE = 5
TOOLS = [{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}]
CALL = {"id": "call_1", "type": "function", "function": {"name": "f", "arguments": "{}"}}
USAGE = {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}

# --- reading the state ------------------------------------------------------------------------


class Tables:
    """Every ``runlife_`` table of the store at *url*, read with the database's own driver
    (not through runlife), on one connection of its own that sees every commit."""

    def __init__(self, url: str) -> None:
        self.conn: Any
        if url.startswith("sqlite:///"):
            self.conn = sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None)
            self.names_sql = (
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE 'runlife%'"
            )
        else:
            import psycopg

            self.conn = psycopg.connect(url, autocommit=True)
            self.names_sql = (
                "SELECT table_name FROM information_schema.tables "
                "WHERE table_schema = current_schema() AND table_name LIKE 'runlife%'"
            )

    def rows(self) -> dict[str, list[str]]:
        """Each table's rows, each as ``repr``, sorted."""
        names = sorted(name for (name,) in self.conn.execute(self.names_sql).fetchall())
        tables = {}
        for name in names:
            query = f"SELECT * FROM {name}"  # noqa: S608 - a name from the catalog
            tables[name] = sorted(map(repr, self.conn.execute(query).fetchall()))
        return tables

    def close(self) -> None:
        self.conn.close()


@attrs.define
class World:
    """The app under test, its store's URL, and the ids it knows of.

    *threads*, *runs* and *steps* are the seeded ids the requests are drawn from (fixed, so
    that hypothesis draws the same request from the same data); the threads' state is compared
    (a refused request names no other thread the process keeps: new ones get new ids).
    """

    app: Any
    url: str
    tables: Tables
    threads: tuple[str, ...]
    runs: tuple[str, ...]
    steps: tuple[str, ...]
    #: The internals (``leaks.internals``) some request sent itself: an answer may echo them.
    sent: set[str] = attrs.Factory(set)

    def state(self) -> tuple[dict[str, list[str]], dict[str, tuple[int, bytes]]]:
        """The store's tables and the known threads, as the API answers them."""
        threads = {}
        for thread_id in self.threads:
            answer = request(self.app, "GET", f"/v1/threads/{thread_id}")
            threads[thread_id] = (answer.status, answer.body)
        return self.tables.rows(), threads


def starlette_of(app: Any) -> Starlette:
    """The Starlette app inside *app*'s middlewares."""
    while not isinstance(app, Starlette):
        app = app.app
    return app


class _AnyHandlers:
    """Stands in for the handlers: ``routes()`` only names their methods."""

    def __getattr__(self, name: str) -> Any:
        return name


#: The URL table of ``runlife serve``, read from ``_routes.routes`` (the one list).
ENDPOINTS = [
    (route.path, method)
    for route in routes(_AnyHandlers())  # type: ignore[arg-type]
    for method in sorted(route.methods or ())
]


def endpoints(app: Any) -> list[tuple[str, str]]:
    """Every (path template, method) of the app's URL table, ``HEAD`` included."""
    found = []
    for route in starlette_of(app).routes:
        assert isinstance(route, Route)
        found += [(route.path, method) for method in sorted(route.methods or ())]
    return found


@pytest.fixture(name="world", scope="module")
def _world(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """An app over a fresh store of *backend*, seeded with runs in several statuses."""
    directory = tmp_path_factory.mktemp(f"fuzz-{backend}")
    with store_url(backend, directory) as url:
        store: Store = open_store(url, engine=runlife.RunEngine(), pool_size=4)
        try:
            queued = store.create(thread_id="thread_q", assistant_id="a", model="m")
            waiting = store.create(thread_id="thread_w", assistant_id="a", model="m", tools=TOOLS)
            done = store.create(thread_id="thread_d", assistant_id="a", model="m")
            claimed = {r.id for r in store.claim(5, worker="w")}
            assert {waiting.id, done.id} <= claimed | {queued.id}
            with store.move(waiting.id, worker="w") as run:
                run.require_action([CALL])
            with store.move(done.id, worker="w") as run:
                run.open_message_step("msg_1")
                run.complete_message_step(USAGE)
                run.complete(USAGE)
            app = create_app(store, poll_wait_ms=0)
            tables = Tables(url)
            world = World(
                app,
                url,
                tables,
                threads=("thread_q", "thread_w", "thread_d", "thread_made"),
                runs=(queued.id, waiting.id, done.id),
                steps=tuple(step.id for r in (waiting, done) for step in store.get(r.id).steps),
            )
            assert len(world.steps) == 2
            made = request(app, "POST", "/v1/threads", chunks=(b'{"metadata": {"k": "v"}}',))
            world.threads = (*world.threads[:-1], made.json()["id"])
            yield world
            tables.close()
        finally:
            store.close()


# --- what a client sends ----------------------------------------------------------------------

_SAFE_TEXT = st.text(
    alphabet=st.characters(exclude_categories=["Cs"], exclude_characters="?#/"), max_size=12
)
_ODD_TEXT = st.sampled_from(
    [
        "",
        "\x00",
        "a\x00b",
        "x" * 129,
        "x" * 2000,
        "\ud800",
        "\udfff",
        "\u202e\u0301",
        "\U0001f600" * 40,
        "e\u0301" * 10,
        "\ufeff",
        "null",
        "NaN",
        "-1",
    ]
)
_TEXT = st.one_of(st.text(max_size=20), _ODD_TEXT)
_NUMBERS = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70),
    st.sampled_from([0, -1, 1, 2, 100, 101, 2**31, 2**63, -(2**63) - 1, 10**30]),
    st.floats(allow_nan=False, allow_infinity=False),
)
_SCALARS = st.one_of(st.none(), st.booleans(), _NUMBERS, _TEXT)
_JSON = st.recursive(
    _SCALARS,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(_TEXT, inner, max_size=4)),
    max_leaves=10,
)


def _nested(depth: int) -> Any:
    value: Any = []
    for _ in range(depth - 1):
        value = [value]
    return value


_DEEP = st.sampled_from([98, 99, 100, 101, 150]).map(_nested)
_VALUES = st.one_of(_JSON, _DEEP, st.just("x" * 70_000), st.just(list(range(3000))))

#: Bodies near each endpoint's valid shape, by (path template, method).
_SHAPES: dict[tuple[str, str], dict[str, Any]] = {
    ("/v1/threads", "POST"): {
        "messages": [{"role": "user", "content": "hi"}],
        "metadata": {"k": "v"},
        "tool_resources": {},
    },
    ("/v1/threads/runs", "POST"): {
        "assistant_id": "a",
        "thread": {"metadata": {"k": "v"}},
        "tools": TOOLS,
        "metadata": {},
        "instructions": "be brief",
    },
    ("/v1/threads/{thread_id}", "POST"): {"metadata": {"k": "v"}, "tool_resources": {}},
    ("/v1/threads/{thread_id}/runs", "POST"): {
        "assistant_id": "a",
        "model": "m",
        "tools": TOOLS,
        "metadata": {"k": "v"},
        "tool_choice": "auto",
        "parallel_tool_calls": True,
        "temperature": 1.0,
        "top_p": 1.0,
        "max_prompt_tokens": 500,
        "max_completion_tokens": 500,
        "truncation_strategy": {"type": "auto"},
        "response_format": "auto",
    },
    ("/v1/threads/{thread_id}/runs/{run_id}", "POST"): {"metadata": {"k": "v"}},
    ("/v1/threads/{thread_id}/runs/{run_id}/submit_tool_outputs", "POST"): {
        "tool_outputs": [{"tool_call_id": "call_1", "output": "ok"}]
    },
}
_DROP = object()
_EXTRA_KEYS = ("stream", "zzz", "thread", "model", "metadata", "tools", "tool_outputs", "")


@st.composite
def json_bodies(draw: st.DrawFn, shape: dict[str, Any]) -> Any:
    """*shape* with a few fields dropped, swapped for other values, or added."""
    body = dict(shape)
    keys = [*shape, *_EXTRA_KEYS]
    for key, value in draw(
        st.lists(st.tuples(st.sampled_from(keys), st.one_of(st.just(_DROP), _VALUES)), max_size=3)
    ):
        if value is _DROP:
            body.pop(key, None)
        else:
            body[key] = value
    if body.get("stream") is True:
        body["stream"] = False  # a stream on a valid create would wait for workers
    return body


@st.composite
def raw_bodies(draw: st.DrawFn, endpoint: tuple[str, str]) -> bytes:
    """A request body for *endpoint*: mostly JSON near its shape, sometimes anything."""
    shape = _SHAPES.get(endpoint, {})
    kind = draw(st.sampled_from(["shape", "shape", "shape", "json", "bytes", "odd", "empty"]))
    if kind == "shape":
        value = draw(json_bodies(shape))
        return json.dumps(value).encode()  # ensure_ascii: "\ud800" is sent as an escape
    if kind == "json":
        return json.dumps(draw(_JSON)).encode()
    if kind == "bytes":
        return draw(st.binary(max_size=40))
    if kind == "empty":
        return b""
    text = json.dumps(shape)
    return draw(
        st.sampled_from(
            [
                text.encode("utf-16"),
                text.encode("utf-32"),
                b"\xef\xbb\xbf" + text.encode(),
                b'{"temperature": NaN, "assistant_id": "a"}',
                b'{"temperature": Infinity, "assistant_id": "a"}',
                b'{"temperature": 1e999, "assistant_id": "a"}',
                b'{"assistant_id": "a", "metadata": {"k": "\\ud800"}}',
                b'{"\\udc00": 1}',
                b'{"assistant_id": "a", "assistant_id": 1}',
                b'{"metadata": ' + b"[" * 5000 + b"]" * 5000 + b"}",
                b"[" * 100_000,
                b'{"assistant_id": "a"',
                b'{"a": "' + b"\xff" + b'"}',
                b'{"tool_outputs": [' + b'{"tool_call_id": "c", "output": "o"},' * 5 + b"1]}",
                b'{"assistant_id": "' + b"a" * (2 << 20) + b'"}',  # over the 1 MiB limit
            ]
        )
    )


_QUERY_VALUES = st.one_of(
    _SAFE_TEXT,
    st.sampled_from(
        ["0", "1", "100", "101", "-5", "1e3", "20.0", " 7", "asc", "desc", "ASC", "%00", "\x00"]
    ),
    st.integers().map(str),
)


@st.composite
def queries(draw: st.DrawFn, world: World) -> str:
    """A query string: paging parameters (some duplicated) with odd values and known ids."""
    names = st.sampled_from(["limit", "order", "after", "before", "x", "limit", "include[]"])
    values = st.one_of(_QUERY_VALUES, st.sampled_from(world.runs + world.steps))
    pairs = draw(st.lists(st.tuples(names, values), max_size=4))
    return urllib.parse.urlencode(pairs)


@st.composite
def path_ids(draw: st.DrawFn, known: tuple[str, ...]) -> str:
    return draw(
        st.one_of(
            st.sampled_from(known),
            _SAFE_TEXT.filter(bool),
            st.sampled_from(["\x00", "a\x00", "r" * 129, "run_" + "x" * 124, "%2F", "..", " "]),
        )
    )


@attrs.frozen
class Sent:
    method: str
    path: str
    body: bytes

    def everything(self) -> bytes:
        return self.method.encode() + self.path.encode("utf-8", "surrogatepass") + self.body


@st.composite
def requests(draw: st.DrawFn, world: World, endpoint: tuple[str, str]) -> Sent:
    template, method = endpoint
    if draw(st.integers(0, 19)) == 0:
        method = draw(st.sampled_from(["PUT", "PATCH", "OPTIONS"]))  # a 405
    path = template
    if "{thread_id}" in path:
        path = path.replace("{thread_id}", draw(path_ids(world.threads)))
    if "{run_id}" in path:
        path = path.replace("{run_id}", draw(path_ids(world.runs)))
    if "{step_id}" in path:
        path = path.replace("{step_id}", draw(path_ids(world.steps)))
    query = draw(queries(world)) if method == "GET" else ""
    body = draw(raw_bodies((template, method))) if method == "POST" else b""
    return Sent(method, path + (f"?{query}" if query else ""), body)


# --- the checks -------------------------------------------------------------------------------


@settings(
    max_examples=settings().max_examples // SHARE,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    deadline=None,
)
@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=" ".join)
@given(data=st.data())
def test_every_endpoint_under_fuzzing(
    world: World, endpoint: tuple[str, str], data: st.DataObject
) -> None:
    sent = data.draw(requests(world, endpoint), label="request")
    before = world.state()
    answer = request(
        world.app,
        sent.method,
        sent.path,
        headers={"content-type": "application/json"},
        chunks=(sent.body,),
    )
    assert answer.raised is None, answer.raised
    assert answer.status < 500, (answer.status, answer.body[:500])
    assert leaks(answer, url=world.url, sent=sent.everything(), also_sent=world.sent) == [], (
        answer.body[:500]
    )
    world.sent |= sent_marks(world.url, sent.everything())
    if answer.status >= 400:
        assert_error_shape(answer)
        assert world.state() == before, "a refused request changed the stored state"


def test_the_fuzzed_endpoints_are_the_apps(world: World) -> None:
    """What is fuzzed is what the app answers: its routes, every method of each."""
    assert endpoints(world.app) == ENDPOINTS
    assert len({path for path, _ in ENDPOINTS}) == 9
