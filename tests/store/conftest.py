"""Fixtures of the store suite: every test runs on SQLite and on a real PostgreSQL.

PostgreSQL comes from ``RUNLIFE_TEST_POSTGRES_URL`` (``eval "$(scripts/pg-test-server.sh
start)"`` sets it); each test gets a schema of its own, dropped afterwards. Without the
variable the PostgreSQL tests skip, except under CI (``CI`` set), where they fail.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from typing import Any

import pytest

from runlife import ManualClock, RunEngine
from runlife.store import Store, open_store
from tests.pg import fresh_store_url, params_of, postgres_hooks
from tests.pg import postgres_url as _postgres_url
from tests.support import T0

BACKENDS = ("sqlite", "postgresql")


#: Without a server (and outside CI) the PostgreSQL cases are left out, said in one line.
pytest_collection_modifyitems, pytest_terminal_summary = postgres_hooks(
    "store", lambda item: params_of(item).get("store_url") == "postgresql"
)


def postgres_url() -> str:
    """The test server's URL; skip (or, under CI, fail) when there is none."""
    return _postgres_url("store")


def make_url(backend: str, tmp_path: Any) -> Iterator[str]:
    """A fresh, empty store URL of *backend* for one test."""
    yield from fresh_store_url(backend, tmp_path, "store")


@pytest.fixture(name="store_url", params=BACKENDS)
def _store_url(request: pytest.FixtureRequest, tmp_path: Any) -> Iterator[str]:
    yield from make_url(request.param, tmp_path)


@pytest.fixture(name="clock")
def _clock() -> ManualClock:
    return ManualClock(T0)


@pytest.fixture(name="engine")
def _engine(clock: ManualClock) -> RunEngine:
    return RunEngine(clock=clock)


@pytest.fixture(name="store")
def _store(store_url: str, engine: RunEngine) -> Iterator[Store]:
    with open_store(store_url, engine=engine) as store:
        yield store


def raw_sql(url: str, statement: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
    """Run one statement on the store's database behind the store's back (``?`` placeholders)."""
    if url.startswith("sqlite:"):
        path = url.removeprefix("sqlite:///")
        conn = sqlite3.connect(path, isolation_level=None)
        try:
            return conn.execute(statement, params).fetchall()
        finally:
            conn.close()
    import psycopg

    with psycopg.connect(url, autocommit=True) as pg:
        result = pg.execute(statement.replace("?", "%s"), params)
        return result.fetchall() if result.description else []
