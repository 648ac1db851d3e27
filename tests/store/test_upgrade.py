"""Schema version 1 -> 2 (and on to the latest) on both backends, on the rows a version-1
store really wrote.

``tests/data/store-v1/rows.json`` holds every row of a v1 store filled by the v1 code (see
its ``generate.py``): twelve runs created in one second, 23 history rows. Each test builds a
v1 database from them with the v1 DDL (``_schema.ddl_v1``, kept as version 1 wrote it),
upgrades it, and checks every run, every history row, list and claim order through the
public API.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from runlife import ManualClock, RunEngine, to_dict
from runlife.cli import main
from runlife.store import SCHEMA_VERSION, SchemaTooOld, Store, open_store
from runlife.store._schema import ddl_v1
from tests.store import _procs
from tests.store.conftest import raw_sql

ROWS: dict[str, Any] = json.loads(
    (Path(__file__).parents[1] / "data" / "store-v1" / "rows.json").read_text()
)
RUNS: list[dict[str, Any]] = ROWS["runlife_runs"]
EVENTS: list[dict[str, Any]] = ROWS["runlife_events"]
CREATION_ORDER: list[str] = ROWS["creation_order"]
T0 = 1_700_000_000


def build_v1(url: str) -> None:
    """A version-1 database at *url* holding the v1 rows, inserted in v1's own order."""
    bigint = "INTEGER" if url.startswith("sqlite:") else "BIGINT"
    statements = ddl_v1(bigint)
    if url.startswith("sqlite:"):
        conn = sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None)
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            for statement in statements:
                conn.execute(statement)
            _insert(conn.execute)
        finally:
            conn.close()
        return
    import psycopg

    with psycopg.connect(url, autocommit=True) as pg:
        for statement in statements:
            pg.execute(statement)
        _insert(lambda s, p: pg.execute(s.replace("?", "%s"), p))


def _insert(execute: Any) -> None:
    for table, rows in (("runlife_runs", RUNS), ("runlife_events", EVENTS)):
        for row in rows:
            cols = ", ".join(row)
            marks = ", ".join("?" * len(row))
            execute(f"INSERT INTO {table} ({cols}) VALUES ({marks})", tuple(row.values()))  # noqa: S608


def v1_order(url: str, ids: list[str]) -> list[str]:
    """The order the upgrade numbers v1 runs in: true creation order on SQLite (its rowid),
    ``(created_at, id)`` on PostgreSQL (all v1 knew there)."""
    if url.startswith("sqlite:"):
        return [i for i in CREATION_ORDER if i in ids]
    created = {r["id"]: r["created_at"] for r in RUNS}
    return sorted(ids, key=lambda i: (created[i], i))


@pytest.fixture(name="v1_url")
def _v1_url(store_url: str) -> str:
    build_v1(store_url)
    return store_url


def upgraded(url: str, clock: ManualClock | None = None) -> Store:
    return open_store(url, engine=RunEngine(clock=clock or ManualClock(T0 + 100)))


def test_the_fixture_is_a_v1_store(v1_url: str) -> None:
    """The v1 rows as v1 wrote them: 12 runs in one second, 23 history rows, full bodies."""
    assert raw_sql(v1_url, "SELECT version FROM runlife_schema") == [(1,)]
    assert len(RUNS) == 12
    assert len(EVENTS) == 23
    assert {r["created_at"] for r in RUNS} == {T0}
    assert sorted(CREATION_ORDER) != CREATION_ORDER  # random ids: id order is not creation order


def test_create_false_refuses_an_older_schema(v1_url: str) -> None:
    """``create=False`` never upgrades: SchemaTooOld names the command; nothing changed."""
    with pytest.raises(SchemaTooOld, match=r"runlife store upgrade ") as caught:
        open_store(v1_url, create=False)
    assert (caught.value.found, caught.value.supported) == (1, SCHEMA_VERSION)
    assert raw_sql(v1_url, "SELECT version FROM runlife_schema") == [(1,)]


def test_upgrade_keeps_every_run_and_history_row(v1_url: str) -> None:
    """After the upgrade every run reads back as v1 stored it; every history row too."""
    with upgraded(v1_url) as store:
        assert store.schema_action == "upgraded from version 1"
        assert store.schema_version() == SCHEMA_VERSION == 3
        for row in RUNS:
            run = store.get(row["id"])
            assert to_dict(run) == json.loads(row["body"])
            assert store.version(row["id"]) == row["version"]
        for run_id in {r["run_id"] for r in EVENTS}:
            stored = [
                (e.version, e.kind, e.trigger, e.source, e.dest, e.at, e.worker, e.args, e.data)
                for e in store.events_since(run_id)
            ]
            assert stored == [
                (
                    e["version"],
                    e["kind"],
                    e["trigger"],
                    e["source"],
                    e["dest"],
                    e["at"],
                    e["worker"],
                    json.loads(e["args"]),
                    json.loads(e["body"]),
                )
                for e in sorted(EVENTS, key=lambda e: e["version"])
                if e["run_id"] == run_id
            ]
            assert [m.to_dict() for m in store.history(run_id)] == [
                {
                    "trigger": e["trigger"],
                    "source": e["source"],
                    "dest": e["dest"],
                    "at": e["at"],
                    "args": json.loads(e["args"]),
                }
                for e in sorted(EVENTS, key=lambda e: e["version"])
                if e["run_id"] == run_id and e["kind"] == "move"
            ]


def test_claim_and_list_order_after_the_upgrade(v1_url: str) -> None:
    """Queued v1 runs are claimed in the order the upgrade numbered them; new runs follow
    in creation order, listed so on their thread (same second, ids random)."""
    clock = ManualClock(T0 + 100)
    with upgraded(v1_url, clock) as store:
        queued = [r["id"] for r in RUNS if r["status"] == "queued"]
        assert len(queued) == 9
        # Runs created after the upgrade, in the same second, on thread_q3 (its run is done).
        (old,) = [r["id"] for r in RUNS if r["thread_id"] == "thread_q3"]
        new = []
        for _ in range(4):
            run = store.create(assistant_id="asst_1", thread_id="thread_q3", model="gpt-4o")
            new.append(run.id)
            with store.move(run) as moving:
                moving.cancel()
            store.rescue()  # finishes the cancel: the thread is free again
        fresh = store.create(assistant_id="asst_1", thread_id="thread_new", model="gpt-4o")
        claimed = [r.id for r in store.claim(20, worker="w")]
        assert claimed == [*v1_order(v1_url, queued), fresh.id]
        page = store.list_runs("thread_q3", order="asc", limit=100)
        assert [r.id for r in page.data] == [old, *new]
        desc = store.list_runs("thread_q3", limit=2)
        assert [r.id for r in desc.data] == [new[3], new[2]]
        more = store.list_runs("thread_q3", limit=2, after=desc.last_id)
        assert [r.id for r in more.data] == [new[1], new[0]]
        back = store.list_runs("thread_q3", limit=10, before=new[0], order="asc")
        assert [r.id for r in back.data] == [old]


def test_moves_after_the_upgrade_follow_on_from_v1_rows(v1_url: str) -> None:
    """A move on an upgraded run writes a delta row; its history reads across both kinds."""
    with upgraded(v1_url) as store:
        run_id = v1_order(v1_url, [r["id"] for r in RUNS if r["status"] == "queued"])[0]
        (run,) = store.claim(1, worker="w")
        assert run.id == run_id
        with store.move(run, worker="w") as moving:
            moving.complete({"prompt_tokens": 1, "completion_tokens": 2, "total_tokens": 3})
        store.update_metadata(run_id, {"after": "upgrade"})
        events = store.events_since(run_id)
        assert [e.version for e in events] == [0, 1, 2, 3]
        assert events[-1].data == to_dict(store.get(run_id))
        assert events[1].data["status"] == "in_progress"
        assert store.events_since(run_id, 1) == events[2:]
        rows = raw_sql(
            v1_url,
            "SELECT version, changes IS NULL, body IS NULL FROM runlife_events "
            "WHERE run_id = ? ORDER BY version",
            (run_id,),
        )
        assert [tuple(map(int, r)) for r in rows] == [(0, 1, 0), (1, 0, 1), (2, 0, 1), (3, 0, 1)]


def test_upgrade_is_idempotent_and_status_tells(
    v1_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """``store status`` shows the pending upgrade; ``store upgrade`` runs it once (rc 0)."""
    assert main(["store", "status", v1_url]) == 0
    assert main(["store", "upgrade", v1_url]) == 0
    assert main(["store", "upgrade", v1_url]) == 0
    assert main(["store", "status", v1_url]) == 0
    out, err = capsys.readouterr()
    shown = v1_url
    assert out.splitlines()[:4] == [
        (
            f"runlife store at {shown}: schema version 1, upgrade pending to version "
            f"{SCHEMA_VERSION}: run `runlife store upgrade {shown}`"
        ),
        f"runlife store at {shown}: schema version {SCHEMA_VERSION} (upgraded from version 1)",
        f"runlife store at {shown}: schema version {SCHEMA_VERSION} (up to date)",
        f"runlife store at {shown}: schema version {SCHEMA_VERSION}",
    ]
    assert "  queued: 9" in out.splitlines()
    assert err == ""


@pytest.mark.parametrize("start_at", ["none", "v1"])
def test_processes_opening_at_once_set_up_once(
    store_url: str, tmp_path: Path, start_at: str
) -> None:
    """Four processes open one new (or version-1) store at the same moment: each step is
    taken once, under the schema lock, and every process ends on the latest version without
    error (a process may take a later step than another's: "upgraded from version 2")."""
    if start_at == "v1":
        build_v1(store_url)
    barrier = _procs.SPAWN.Barrier(4)
    outs = [tmp_path / f"out{i}" for i in range(4)]
    procs = [_procs.start(_procs.open_and_report, store_url, barrier, str(o)) for o in outs]
    reports = [json.loads(_procs.wait_for(o, 60)) for o in outs]
    for proc in procs:
        proc.join(10)
    assert all("error" not in r for r in reports), reports
    assert {r["version"] for r in reports} == {SCHEMA_VERSION}
    actions = sorted(r["action"] for r in reports)
    first = "created" if start_at == "none" else "upgraded from version 1"
    assert actions.count(first) == 1
    later = {f"upgraded from version {v}" for v in range(1, SCHEMA_VERSION)}
    assert all(a in {first, "up to date", *later} for a in actions)
