"""Schema version 2 -> 3 on both backends, on the rows a version-2 store really wrote.

``tests/data/store-v2/rows.json`` holds every row of a v2 store filled by the v2 code (see
its ``generate_v2.py``): eight runs created in one second (completed after a tool round,
failed, cancelling, waiting for tool outputs, in progress, three queued), 21 history rows.
Each test builds a v2 database from them with the v2 schema (``ddl_v1`` and the upgrade
step to version 2, both kept as written), upgrades it, and checks through the public API
that every run and history row reads as before, with no steps, and that runs listed, claimed,
moved, swept and followed after the upgrade keep working, their new steps stored.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from runlife import ManualClock, RunEngine, check, step_to_dict, to_dict
from runlife.cli import main
from runlife.store import SCHEMA_VERSION, SchemaTooOld, Store, open_store
from runlife.store._schema import MIGRATIONS, ddl_v1
from tests.store.conftest import raw_sql

ROWS: dict[str, Any] = json.loads(
    (Path(__file__).parents[1] / "data" / "store-v2" / "rows.json").read_text()
)
RUNS: list[dict[str, Any]] = ROWS["runlife_runs"]
EVENTS: list[dict[str, Any]] = ROWS["runlife_events"]
T0 = 1_700_000_000
CALL = {"id": "call_9", "type": "function", "function": {"name": "lookup", "arguments": "{}"}}
USAGE = {"prompt_tokens": 9, "completion_tokens": 3, "total_tokens": 12}


def _by_status(status: str) -> list[str]:
    return [r["id"] for r in RUNS if r["status"] == status]


def build_v2(url: str) -> None:
    """A version-2 database at *url* holding the v2 rows, with v2's own creation order."""
    backend = "sqlite" if url.startswith("sqlite:") else "postgresql"
    statements = ddl_v1("INTEGER" if backend == "sqlite" else "BIGINT") + MIGRATIONS[backend][2]
    if backend == "sqlite":
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
        # As v2 left it: the identity goes on after the numbers it gave.
        pg.execute(
            "SELECT setval(pg_get_serial_sequence('runlife_runs', 'seq'), "
            "(SELECT MAX(seq) + 1 FROM runlife_runs), false)"
        )


def _insert(execute: Any) -> None:
    for table, rows in (("runlife_runs", RUNS), ("runlife_events", EVENTS)):
        for row in rows:
            cols = ", ".join(row)
            marks = ", ".join("?" * len(row))
            execute(f"INSERT INTO {table} ({cols}) VALUES ({marks})", tuple(row.values()))  # noqa: S608


@pytest.fixture(name="v2_url")
def _v2_url(store_url: str) -> str:
    build_v2(store_url)
    return store_url


def upgraded(url: str, clock: ManualClock | None = None) -> Store:
    return open_store(url, engine=RunEngine(clock=clock or ManualClock(T0 + 100)))


def test_the_fixture_is_a_v2_store(v2_url: str) -> None:
    """The v2 rows as v2 wrote them: 8 runs, 21 history rows, deltas after each creation."""
    assert raw_sql(v2_url, "SELECT version FROM runlife_schema") == [(2,)]
    assert len(RUNS) == 8
    assert len(EVENTS) == 21
    assert [r["seq"] for r in RUNS] == list(range(1, 9))
    assert all((e["body"] is None) == (e["version"] > 0) for e in EVENTS)
    assert len(_by_status("queued")) == 3


def test_create_false_refuses_version_2(v2_url: str) -> None:
    """``create=False`` never upgrades: SchemaTooOld (found 2); nothing changed."""
    with pytest.raises(SchemaTooOld, match=r"runlife store upgrade ") as caught:
        open_store(v2_url, create=False)
    assert (caught.value.found, caught.value.supported) == (2, SCHEMA_VERSION)
    assert raw_sql(v2_url, "SELECT version FROM runlife_schema") == [(2,)]


def test_upgrade_keeps_every_run_and_history_row(v2_url: str) -> None:
    """After the upgrade every run reads back as v2 stored it, without steps; every history
    row reads as before (the run after it, rebuilt), with no step events."""
    with upgraded(v2_url) as store:
        assert store.schema_action == "upgraded from version 2"
        assert store.schema_version() == SCHEMA_VERSION == 3
        for row in RUNS:
            run = store.get(row["id"])
            assert to_dict(run) == json.loads(row["body"])
            assert store.version(row["id"]) == row["version"]
            assert run.steps == ()
            assert store.list_steps(row["id"]).data == []
            events = store.events_since(row["id"])
            expected = sorted(
                (e for e in EVENTS if e["run_id"] == row["id"]), key=lambda e: e["version"]
            )
            assert [
                (e.version, e.kind, e.trigger, e.dest, e.at, e.worker, e.args) for e in events
            ] == [
                (
                    e["version"],
                    e["kind"],
                    e["trigger"],
                    e["dest"],
                    e["at"],
                    e["worker"],
                    json.loads(e["args"]),
                )
                for e in expected
            ]
            assert events[0].data == json.loads(expected[0]["body"])
            assert events[-1].data == json.loads(row["body"])
            assert all(e.step_events == [] for e in events)
        steps_column = raw_sql(
            v2_url, "SELECT COUNT(*) FROM runlife_events WHERE steps IS NOT NULL"
        )
        assert steps_column == [(0,)]


def test_runs_after_the_upgrade_move_and_gain_steps(v2_url: str) -> None:
    """v2 runs go on: the waiting run takes its outputs (it has no step to complete), is
    claimed again and calls a tool (its first stored step); the run in progress opens a
    message step; the lapsed cancel is rescued; queued runs are claimed in v2's order, then
    a new run; a follower in another store object streams the new step events."""
    clock = ManualClock(T0 + 100)
    with upgraded(v2_url, clock) as store:
        (waiting,) = _by_status("requires_action")
        with store.move(waiting) as moving:
            moving.submit_tool_outputs([{"tool_call_id": "call_1", "output": "42"}])
        assert store.get(waiting).steps == ()
        (working,) = _by_status("in_progress")
        with store.move(working) as moving:  # its v2 lease lapsed long ago: moved by id
            moving.open_message_step("msg_1")
            moving.complete_message_step(USAGE)
            moving.complete(USAGE)
        assert [s.status.value for s in store.list_steps(working)] == ["completed"]
        assert check(store.get(working)) == []
        (cancelling,) = _by_status("cancelling")
        assert cancelling in store.rescue().moved
        assert store.get(cancelling).status == "cancelled"
        fresh = store.create(assistant_id="asst_1", thread_id="thread_new", model="gpt-4o")
        claimed = [r.id for r in store.claim(10, worker="w")]
        assert claimed == [waiting, *_by_status("queued"), fresh.id]
        with store.move(waiting, worker="w") as moving:
            moving.require_action([CALL])
        stored = store.get(waiting)
        assert [(s.type, s.status.value) for s in stored.steps] == [("tool_calls", "in_progress")]
        assert [step_to_dict(s) for s in store.list_steps(waiting, order="asc")] == [
            step_to_dict(s) for s in stored.steps
        ]
        assert [r.id for r in store.list_runs("thread_3", order="asc")] == [waiting]
        with upgraded(v2_url, clock) as follower:
            rows = follower.events_since(waiting, store.version(waiting) - 1)
        assert [e["event"] for row in rows for e in row.stream_events()] == [
            "thread.run.step.created",
            "thread.run.step.in_progress",
            "thread.run.step.delta",
            "thread.run.requires_action",
        ]


def test_upgrade_from_2_is_idempotent_and_status_tells(
    v2_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """``store status`` shows the pending upgrade from 2; ``store upgrade`` runs it once."""
    assert main(["store", "status", v2_url]) == 0
    assert main(["store", "upgrade", v2_url]) == 0
    assert main(["store", "upgrade", v2_url]) == 0
    out, err = capsys.readouterr()
    assert out.splitlines()[:3] == [
        (
            f"runlife store at {v2_url}: schema version 2, upgrade pending to version 3: "
            f"run `runlife store upgrade {v2_url}`"
        ),
        f"runlife store at {v2_url}: schema version 3 (upgraded from version 2)",
        f"runlife store at {v2_url}: schema version 3 (up to date)",
    ]
    assert err == ""
