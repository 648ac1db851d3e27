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

from ._errors import (
    LeaseLost,
    SchemaTooNew,
    SchemaTooOld,
    StepNotFound,
    StoreError,
    StoreFileGone,
    StoreURLError,
    ThreadBusy,
)
from ._open import open_store
from ._results import Page, StepPage, StoredEvent, Sweep
from ._schema import SCHEMA_VERSION
from ._store import Store

if typing.TYPE_CHECKING:
    from typing import Any

__all__ = [
    "SCHEMA_VERSION",
    "LeaseLost",
    "Page",
    "SchemaTooNew",
    "SchemaTooOld",
    "StepNotFound",
    "StepPage",
    "Store",
    "StoreError",
    "StoreFileGone",
    "StoreURLError",
    "StoredEvent",
    "Sweep",
    "ThreadBusy",
    "open_store",
    "simulate_on_store",
]


def simulate_on_store(url: str, **options: Any) -> dict[str, Any]:
    """Run the lifecycle on the store at *url* with worker processes; return statistics.

    Options: ``workers``, ``runs``, ``seed``, ``batch``, ``tool_rate``, ``cancel_rate``,
    ``ttl``, ``lease``, ``timeout`` (see ``docs/store.md``).
    """
    from ._sim import simulate_on_store as run  # noqa: PLC0415

    return run(url, **options)
