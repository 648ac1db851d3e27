"""PostgreSQL plumbing shared by the store and serve suites.

PostgreSQL comes from ``RUNLIFE_TEST_POSTGRES_URL`` (``eval "$(scripts/pg-test-server.sh
start)"`` sets it). Without it, a suite's PostgreSQL cases are left out with one line that
says how to run them, except under CI (``CI`` set), where they run and fail.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

PG_ENV = "RUNLIFE_TEST_POSTGRES_URL"
HOW_TO_START = 'start a throwaway server with `eval "$(scripts/pg-test-server.sh start)"`'


def params_of(item: pytest.Item) -> dict[str, Any]:
    """The parametrize values of a collected test (empty when it has none)."""
    callspec = getattr(item, "callspec", None)
    return dict(callspec.params) if callspec is not None else {}


def deselect_postgres(
    config: pytest.Config,
    items: list[pytest.Item],
    key: pytest.StashKey[int],
    is_postgres: Callable[[pytest.Item], bool],
) -> None:
    """Without a server (and outside CI), leave out the items *is_postgres* picks."""
    if os.environ.get(PG_ENV) or os.environ.get("CI"):
        return
    keep = [item for item in items if not is_postgres(item)]
    if len(keep) != len(items):
        config.hook.pytest_deselected(items=[item for item in items if is_postgres(item)])
        config.stash[key] = len(items) - len(keep)
        items[:] = keep


def report_not_run(
    terminalreporter: Any, config: pytest.Config, key: pytest.StashKey[int], suite: str
) -> None:
    """The one line that says why a suite's PostgreSQL cases did not run, and how to run them."""
    not_run = config.stash.get(key, 0)
    if not_run:
        terminalreporter.write_line(
            f"{not_run} PostgreSQL {suite} tests not run (no {PG_ENV}): {HOW_TO_START}"
        )


def postgres_hooks(
    suite: str, is_postgres: Callable[[pytest.Item], bool]
) -> tuple[
    Callable[[pytest.Config, list[pytest.Item]], None], Callable[[Any, pytest.Config], None]
]:
    """A suite's two conftest hooks: leave its PostgreSQL cases (*is_postgres*) out without a
    server and outside CI, and say so in one line. A conftest binds them by their hook names:
    ``pytest_collection_modifyitems, pytest_terminal_summary = postgres_hooks(...)``.
    """
    key = pytest.StashKey[int]()

    def modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
        deselect_postgres(config, items, key, is_postgres)

    def summary(terminalreporter: Any, config: pytest.Config) -> None:
        report_not_run(terminalreporter, config, key, suite)

    return modifyitems, summary


def in_directory_with_backend(here: str) -> Callable[[pytest.Item], bool]:
    """Picks the ``backend="postgresql"`` cases of the tests in *here*'s directory."""
    directory = Path(here).parent

    def pick(item: pytest.Item) -> bool:
        return (
            Path(str(item.path)).parent == directory
            and params_of(item).get("backend") == "postgresql"
        )

    return pick


def postgres_url(suite: str) -> str:
    """The test server's URL; skip (or, under CI, fail) when there is none."""
    url = os.environ.get(PG_ENV, "")
    if url:
        return url
    if os.environ.get("CI"):
        pytest.fail(f"CI is set but {PG_ENV} is not: {HOW_TO_START}", pytrace=False)
    pytest.skip(f"PostgreSQL {suite} tests need {PG_ENV}: {HOW_TO_START}")


def with_search_path(url: str, schema: str) -> str:
    """*url* with PostgreSQL's ``search_path`` set to *schema*."""
    return f"{url}{'&' if '?' in url else '?'}options=-csearch_path%3D{schema}"


def fresh_store_url(backend: str, directory: object, suite: str) -> Iterator[str]:
    """Yield a fresh, empty store URL of *backend*: a SQLite file in *directory*, or a
    PostgreSQL schema of its own (dropped afterwards). Wrap with ``contextlib.contextmanager``
    or use as a fixture body.
    """
    if backend == "sqlite":
        yield f"sqlite:///{directory}/runs.db"
        return
    import psycopg

    base = postgres_url(suite)
    schema = f"{suite}_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    try:
        yield with_search_path(base, schema)
    finally:
        with psycopg.connect(base, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")
