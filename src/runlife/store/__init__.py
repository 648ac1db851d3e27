"""Durable runs: an embedded SQLite store by default, PostgreSQL for many workers.

>>> from runlife import ManualClock, RunEngine
>>> from runlife.store import open_store
>>> store = open_store("sqlite:///:memory:", engine=RunEngine(clock=ManualClock(1_700_000_000)))
>>> run = store.create(id="run_1", assistant_id="asst_1", thread_id="thread_1", model="gpt-4o")
>>> [r.id for r in store.claim(10, worker="w1")]
['run_1']
>>> with store.move("run_1", worker="w1") as run:
...     run.complete()
>>> store.get("run_1").status
<RunStatus.COMPLETED: 'completed'>
>>> [m.trigger for m in store.history("run_1")]
['start', 'complete']

See ``docs/store.md`` for the schema, the guarantees and the operations.
"""

from __future__ import annotations

import typing

from ._base import Page, Store, StoredEvent, Sweep
from ._errors import LeaseLost, SchemaTooNew, StoreError, StoreURLError, ThreadBusy
from ._schema import SCHEMA_VERSION
from ._url import parse_url as _parse_url

if typing.TYPE_CHECKING:
    from typing import Any

    from runlife import RunEngine

__all__ = [
    "SCHEMA_VERSION",
    "LeaseLost",
    "Page",
    "SchemaTooNew",
    "Store",
    "StoreError",
    "StoreURLError",
    "StoredEvent",
    "Sweep",
    "ThreadBusy",
    "open_store",
    "simulate_on_store",
]


def open_store(
    url: str,
    *,
    engine: RunEngine | None = None,
    lease: int = 30,
    retries: int = 3,
    create: bool = True,
    pool_size: int = 8,
) -> Store:
    """Open the store at *url*, creating (or upgrading) its schema on first use.

    Args:
        url: ``sqlite:///relative/runs.db``, ``sqlite:////absolute/runs.db``,
            ``sqlite:///:memory:`` or ``postgresql://user@host:port/db`` (PostgreSQL needs
            ``pip install 'runlife[postgres]'``).
        engine: the ``RunEngine`` every move goes through (its clock, ttl and listeners);
            a new ``RunEngine()`` when omitted.
        lease: seconds a claimed run belongs to its worker without a heartbeat.
        retries: how many times a move that lost a compare-and-set race is tried again on
            the fresh state before ``Conflict``.
        create: create or upgrade the schema when needed (otherwise raise ``StoreError``).
        pool_size: the most connections the store opens at once (threads beyond wait).

    Raises:
        StoreURLError: a malformed URL or unknown scheme (nothing is opened).
        SchemaTooNew: the database was written by a newer runlife (nothing is written).
        StoreError: the driver is missing, or the database cannot be opened or reached.
    """
    parsed = _parse_url(url)
    if type(pool_size) is not int or pool_size < 1:
        raise ValueError(f"pool_size: expected an int >= 1, got {pool_size!r}")
    if parsed.backend == "sqlite":
        from ._sqlite import SQLiteStore  # noqa: PLC0415

        return SQLiteStore(
            parsed, engine=engine, lease=lease, retries=retries, create=create, pool_size=pool_size
        )
    from ._postgres import PostgresStore  # noqa: PLC0415

    return PostgresStore(
        parsed, engine=engine, lease=lease, retries=retries, create=create, pool_size=pool_size
    )


def simulate_on_store(url: str, **options: Any) -> dict[str, Any]:
    """Run the lifecycle on the store at *url* with worker processes; return statistics.

    See ``runlife.store._sim.simulate_on_store`` for the options (``workers``, ``runs``,
    ``seed``, ...).
    """
    from ._sim import simulate_on_store as run  # noqa: PLC0415

    return run(url, **options)
