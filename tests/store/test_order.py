"""Creation order (schema version 2): runs list in the order they were created, and claims are
first in, first out, on both backends, for runs created in the same second, through several
store objects and several processes. The order is the store's sequence, not a clock or an id.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from runlife import ManualClock, RunEngine
from runlife.store import Store, open_store
from tests.pg import fresh_store_url
from tests.store import _procs
from tests.store._procs import SPAWN, FileClock, start
from tests.support import T0

BACKENDS = ("sqlite", "postgresql")

#: hypothesis runs many examples on one pytest case: they share its database and its two store
#: objects, each example on threads of its own (a prefix of its own in every thread id).
FIXTURES_OK = settings(suppress_health_check=[HealthCheck.function_scoped_fixture])


@pytest.fixture(name="backend", params=BACKENDS)
def _backend(request: pytest.FixtureRequest) -> str:
    backend: str = request.param
    return backend


@pytest.fixture(name="store_url")
def _store_url(backend: str, tmp_path: Path) -> Iterator[str]:
    """Named so that the suite's PostgreSQL selection (by ``store_url``) applies here too."""
    yield from fresh_store_url(backend, tmp_path, "store")


@pytest.fixture(name="stores")
def _stores(store_url: str) -> Iterator[list[Store]]:
    """Two store objects (each its own pool) on the test's fresh database, one fixed clock:
    every run of every example is created in the same second."""
    clock = ManualClock(T0)
    stores = [open_store(store_url, engine=RunEngine(clock=clock)) for _ in range(2)]
    try:
        yield stores
    finally:
        for store in stores:
            store.close()


def thread_prefix() -> str:
    """A prefix no other example's thread ids have."""
    return f"thread_{uuid.uuid4().hex[:12]}_"


def create(store: Store, thread_id: str) -> str:
    return store.create(assistant_id="asst_1", thread_id=thread_id, model="gpt-4o").id


def pages(store: Store, thread_id: str, order: Any, limit: int, *, backwards: bool) -> list[str]:
    """Every run of *thread_id* in *order*, walked page by page: forwards from the first run
    with ``after``, or backwards from the last one with ``before``."""
    seen: list[str] = []
    cursor: str | None = None
    if backwards:  # start at the end: the first run of the opposite order
        last = store.list_runs(thread_id, order="desc" if order == "asc" else "asc", limit=1)
        cursor = last.data[0].id
        seen = [cursor]
    while True:
        if backwards:
            page = store.list_runs(thread_id, order=order, limit=limit, before=cursor)
            seen = [r.id for r in page.data] + seen
            cursor = page.first_id
        else:
            page = store.list_runs(thread_id, order=order, limit=limit, after=cursor)
            seen += [r.id for r in page.data]
            cursor = page.last_id
        if not page.has_more:
            return seen


@FIXTURES_OK
@given(
    writers=st.lists(st.tuples(st.integers(0, 1), st.integers(0, 2)), min_size=1, max_size=14),
    limit=st.integers(1, 4),
)
def test_lists_in_creation_order(
    stores: list[Store], writers: list[tuple[int, int]], limit: int
) -> None:
    """Runs created in one second, in any interleaving of two store objects and three
    threads, list in creation order: whole, and page by page in both directions."""
    prefix = thread_prefix()
    created: dict[str, list[str]] = {}
    for who, thread in writers:
        thread_id = f"{prefix}{thread}"
        run_id = create(stores[who], thread_id)
        with stores[1 - who].move(run_id) as run:
            run.fail("server_error", "done")  # ended: the thread takes the next run
        created.setdefault(thread_id, []).append(run_id)
    reader = stores[0]
    for thread_id, ids in created.items():
        asc = reader.list_runs(thread_id, order="asc", limit=100)
        assert [r.id for r in asc.data] == ids
        desc = reader.list_runs(thread_id, limit=100)
        assert [r.id for r in desc.data] == ids[::-1]
        assert pages(reader, thread_id, "asc", limit, backwards=False) == ids
        assert pages(reader, thread_id, "desc", limit, backwards=False) == ids[::-1]
        assert pages(reader, thread_id, "asc", limit, backwards=True) == ids
        assert pages(reader, thread_id, "desc", limit, backwards=True) == ids[::-1]


@FIXTURES_OK
@given(
    steps=st.lists(
        st.one_of(st.tuples(st.just("create"), st.integers(0, 1)), st.integers(1, 3)),
        min_size=1,
        max_size=20,
    )
)
def test_claims_first_in_first_out(stores: list[Store], steps: list[tuple[str, int] | int]) -> None:
    """Creates (by either of two store objects, all in one second) interleaved with claims
    of 1 to 3 runs: the runs are claimed exactly in the order they were created."""
    stores[0].claim(10_000, worker="w")  # nothing queued by an earlier example (one that failed)
    prefix = thread_prefix()
    created: list[str] = []
    claimed: list[str] = []
    for n, step in enumerate(steps):
        if isinstance(step, tuple):
            created.append(create(stores[step[1]], f"{prefix}{n}"))
        else:
            claimed += [r.id for r in stores[n % 2].claim(step, worker="w")]
            assert claimed == created[: len(claimed)]
    claimed += [r.id for r in stores[0].claim(100, worker="w")]
    assert claimed == created


def test_creation_order_across_processes(store_url: str, tmp_path: Path) -> None:
    """Two processes take turns creating runs in one second (on one thread, and on threads
    of their own): the listing and the claims follow the turns, not the ids."""
    clock = FileClock(str(tmp_path / "clock"))
    clock.set(T0)
    open_store(store_url).close()  # the schema, before the children open it
    channels = [(SPAWN.Queue(), SPAWN.Queue()) for _ in range(2)]
    procs = [
        start(_procs.creator, store_url, clock.path, inbox, outbox) for inbox, outbox in channels
    ]
    try:
        listed: list[str] = []
        queued: list[str] = []
        for turn in range(12):
            inbox, outbox = channels[turn % 2]
            inbox.put(("thread_shared", True))
            listed.append(outbox.get(timeout=60))
            inbox.put((f"thread_own_{turn}", False))
            queued.append(outbox.get(timeout=60))
    finally:
        for inbox, _ in channels:
            inbox.put(None)
        for proc in procs:
            proc.join(30)
    assert sorted(listed) != listed or sorted(queued) != queued  # ids alone would not tell
    with open_store(store_url, engine=RunEngine(clock=clock)) as store:
        page = store.list_runs("thread_shared", order="asc", limit=100)
        assert [r.id for r in page.data] == listed
        assert [r.id for r in store.claim(100, worker="w")] == queued
