"""Run steps in the store (schema version 3), on both backends.

Steps are stored with their run's moves in one transaction, listed like the API's list of
steps (creation order, ``limit``, ``order``, ``after``, ``before``), followed from another
store object through ``events_since`` (each history row carries its move's step events),
left byte-identical by a refused move, kept right by a lost race, and purged with their run.
"""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any, Literal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from runlife import (
    GuardRejected,
    InvalidRun,
    ManualClock,
    RunEngine,
    RunEvent,
    RunNotFound,
    check,
    rebuild,
    step_to_dict,
    to_dict,
)
from runlife.store import LeaseLost, StepNotFound, Store, open_store
from tests.store import _procs
from tests.store.conftest import raw_sql
from tests.support import T0, USAGE, WEATHER_TOOL

_ids = itertools.count()


def _call(i: int) -> dict[str, Any]:
    return {
        "id": f"call_{i}",
        "type": "function",
        "function": {"name": "get_weather", "arguments": f'{{"city": "c{i}"}}'},
    }


def _tool_run(store: Store, rounds: int = 2, calls: int = 2) -> str:
    """A function-calling run driven through the store: *rounds* tool rounds of *calls*
    calls, a message step, completed. Returns its id."""
    n = next(_ids)
    run = store.create(
        id=f"run_s{n}",
        assistant_id="asst_1",
        thread_id=f"thread_s{n}",
        model="gpt-4o",
        tools=[WEATHER_TOOL],
    )
    for r in range(rounds):
        (run,) = store.claim(1, worker="w")
        with store.move(run, worker="w") as moving:
            moving.require_action([_call(r * calls + i) for i in range(calls)])
        outputs = [
            {"tool_call_id": f"call_{r * calls + i}", "output": "sunny"} for i in range(calls)
        ]
        with store.move(run.id) as moving:
            moving.submit_tool_outputs(outputs)
    (run,) = store.claim(1, worker="w")
    with store.move(run, worker="w") as moving:
        moving.open_message_step("msg_1")
        moving.complete_message_step(USAGE)
        moving.complete(USAGE)
    return run.id


def _wire(steps: Any) -> list[dict[str, Any]]:
    return [step_to_dict(s) for s in steps]


def _rows(url: str, run_id: str) -> list[list[tuple[Any, ...]]]:
    """Every stored row of *run_id*: its run row, its steps, its history (as text)."""
    return [
        raw_sql(url, f"SELECT * FROM {table} WHERE {key} = ? ORDER BY {order}", (run_id,))  # noqa: S608
        for table, key, order in (
            ("runlife_runs", "id", "id"),
            ("runlife_steps", "run_id", "ordinal"),
            ("runlife_events", "run_id", "version"),
        )
    ]


def test_a_tool_run_stores_its_steps_in_creation_order(store: Store) -> None:
    """Two tool rounds and a message: three steps, listed asc and desc as the run holds them,
    each one as ``get_step`` reads it, all completed."""
    run_id = _tool_run(store)
    run = store.get(run_id)
    assert [s.type for s in run.steps] == ["tool_calls", "tool_calls", "message_creation"]
    assert {s.status.value for s in run.steps} == {"completed"}
    assert check(run) == []
    asc = store.list_steps(run_id, order="asc")
    assert _wire(asc) == _wire(run.steps)
    assert _wire(store.list_steps(run_id)) == _wire(reversed(run.steps))  # desc by default
    assert (asc.first_id, asc.last_id, asc.has_more) == (run.steps[0].id, run.steps[-1].id, False)
    for step in run.steps:
        assert store.get_step(run_id, step.id) == step
    outputs = [c.function.output for c in run.steps[0].step_details.tool_calls]
    assert outputs == ["sunny", "sunny"]


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture], max_examples=10)
@given(rounds=st.integers(0, 4), limit=st.integers(1, 3), data=st.data())
def test_pages_walk_the_steps_both_ways(
    store: Store, rounds: int, limit: int, data: st.DataObject
) -> None:
    """Any page size, either order: following ``after`` from the start, or ``before`` from
    the end, visits every step once, in order, ``has_more`` true until the last page."""
    run_id = _tool_run(store, rounds=rounds, calls=1)
    steps = [s.id for s in store.get(run_id).steps]
    assert len(steps) == rounds + 1
    order: Literal["asc", "desc"] = "asc" if data.draw(st.booleans()) else "desc"
    want = steps if order == "asc" else steps[::-1]
    seen: list[str] = []
    cursor = None
    while True:
        page = store.list_steps(run_id, limit=limit, order=order, after=cursor)
        seen += [s.id for s in page]
        assert page.has_more == (len(seen) < len(want))
        if not page.has_more:
            break
        cursor = page.last_id
    assert seen == want
    back: list[str] = []
    cursor = want[-1]
    back = [cursor]
    while True:
        page = store.list_steps(run_id, limit=limit, order=order, before=cursor)
        back = [s.id for s in page] + back
        if not page.has_more:
            break
        cursor = page.first_id
    assert back == want
    if len(want) >= 3:
        between = store.list_steps(run_id, order=order, after=want[0], before=want[-1])
        assert [s.id for s in between] == want[1:-1]


def test_missing_runs_steps_and_cursors_are_named(store: Store) -> None:
    """A missing run is RunNotFound, a missing step or cursor StepNotFound (LookupErrors);
    a bad limit or order is a ValueError; a run without steps lists none."""
    run_id = _tool_run(store, rounds=1)
    with pytest.raises(RunNotFound, match="no run run_nope"):
        store.list_steps("run_nope")
    with pytest.raises(RunNotFound, match="no run run_nope"):
        store.list_steps("run_nope", before="step_1")
    with pytest.raises(RunNotFound):
        store.get_step("run_nope", "step_1")
    with pytest.raises(StepNotFound, match=f"no step step_nope in run {run_id}") as caught:
        store.get_step(run_id, "step_nope")
    assert isinstance(caught.value, LookupError)
    assert (caught.value.run_id, caught.value.step_id) == (run_id, "step_nope")
    with pytest.raises(StepNotFound):
        store.list_steps(run_id, after="step_nope")
    with pytest.raises(ValueError, match="limit: expected an int from 1 to 100"):
        store.list_steps(run_id, limit=101)
    with pytest.raises(ValueError, match="order: expected 'asc' or 'desc'"):
        store.list_steps(run_id, order="up")  # type: ignore[arg-type]
    fresh = store.create(assistant_id="asst_1", thread_id="thread_fresh", model="gpt-4o")
    assert store.list_steps(fresh.id).data == []
    assert store.get(fresh.id).steps == ()


def test_a_follower_sees_the_steps_stream_in_order(store: Store, store_url: str) -> None:
    """Another store object, reading only the database, streams what the engine streamed:
    every move's step events, then its run event, in order (step moves: step events only)."""
    heard: list[RunEvent] = []
    store.engine.subscribe(heard.append)
    run_id = _tool_run(store)
    with open_store(store_url, engine=RunEngine(clock=ManualClock(T0))) as follower:
        rows = follower.events_since(run_id)
        assert follower.list_steps(run_id).data == store.list_steps(run_id).data
    streamed = [e for row in rows for e in row.stream_events()]
    expected = [e for event in heard if event.run_id == run_id for e in event.stream_events()]
    assert streamed == expected
    names = [e["event"] for e in streamed]
    assert names[names.index("thread.run.in_progress") + 1 :][:5] == [
        "thread.run.step.created",
        "thread.run.step.in_progress",
        "thread.run.step.delta",
        "thread.run.step.delta",
        "thread.run.requires_action",
    ]
    assert names[names.index("thread.run.requires_action") + 1 :][:2] == [
        "thread.run.step.completed",
        "thread.run.queued",
    ]
    step_moves = [row for row in rows if row.is_step_move]
    assert [row.event for row in step_moves] == [
        "thread.run.step.in_progress",
        "thread.run.step.completed",
    ]
    assert all(row.step_events == [] for row in rows if row.kind != "move")


def test_a_refused_move_leaves_run_and_steps_byte_identical(store: Store, store_url: str) -> None:
    """A usage that is not the sum of the steps' is refused inside the block: every row of the
    run (run, steps, history) is byte-identical after, and the run object is as stored."""
    run = store.create(assistant_id="asst_1", thread_id="thread_r", model="gpt-4o")
    (run,) = store.claim(1, worker="w")
    with store.move(run, worker="w") as moving:
        moving.open_message_step("msg_1")
        moving.complete_message_step(USAGE)
    before = _rows(store_url, run.id)
    stored = store.get(run.id)
    bad = {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}
    with pytest.raises(GuardRejected, match="usage"), store.move(run, worker="w") as moving:
        moving.complete(bad)
    assert _rows(store_url, run.id) == before
    assert run.steps == stored.steps
    assert run.status == "in_progress"

    def open_then_complete() -> None:
        with store.move(run.id, worker="w") as moving:
            moving.open_message_step("msg_2")
            moving.complete(bad)  # the whole block is refused: the step it opened is not stored

    with pytest.raises(GuardRejected):
        open_then_complete()
    assert _rows(store_url, run.id) == before


def test_a_lost_race_keeps_the_stored_steps(store: Store, store_url: str) -> None:
    """A move fired again after another store moved the run first starts from the stored
    steps: a step move (fired again through ``fire_step``) after a metadata update, and a
    cancel after the other store submitted the outputs."""
    with open_store(store_url, engine=RunEngine(clock=ManualClock(T0))) as other:
        store.create(
            id="run_race",
            assistant_id="asst_1",
            thread_id="t_race",
            model="gpt-4o",
            tools=[WEATHER_TOOL],
        )
        (run,) = store.claim(1, worker="w")
        other.update_metadata(run.id, {"k": "v"})
        with store.move(run, worker="w") as moving:
            moving.open_message_step("msg_1")
        assert store.stats()["conflicts"] == 1
        assert [s.type for s in other.get(run.id).steps] == ["message_creation"]
        with store.move(run, worker="w") as moving:
            moving.complete_message_step(USAGE)
            moving.require_action([_call(1)])
        stale = store.get(run.id)
        with other.move(run.id) as moving:
            moving.submit_tool_outputs([{"tool_call_id": "call_1", "output": "rain"}])
        with store.move(stale) as moving:  # lost: cancelled on the re-queued run
            moving.cancel()
        final = other.get(run.id)
        assert final.status == "cancelling"
        assert [(s.type, s.status.value) for s in final.steps] == [
            ("message_creation", "completed"),
            ("tool_calls", "completed"),
        ]
        assert _wire(other.list_steps(run.id, order="asc")) == _wire(final.steps)
        assert check(final) == []


def test_purge_deletes_the_steps(store: Store, store_url: str) -> None:
    """Purging a terminal run deletes its steps with its history."""
    run_id = _tool_run(store)
    assert raw_sql(store_url, "SELECT COUNT(*) FROM runlife_steps WHERE run_id = ?", (run_id,)) == [
        (3,)
    ]
    assert store.purge(T0 + 10_000) == 1
    assert raw_sql(store_url, "SELECT COUNT(*) FROM runlife_steps") == [(0,)]


def test_sweeps_end_the_open_step(store: Store, clock: ManualClock) -> None:
    """expire_due and rescue move the open step with the run, in the sweep's transaction."""
    store.create(
        id="run_e", assistant_id="asst_1", thread_id="t_e", model="gpt-4o", tools=[WEATHER_TOOL]
    )
    store.create(id="run_f", assistant_id="asst_1", thread_id="t_f", model="gpt-4o")
    claimed = store.claim(2, worker="w")
    with store.move(claimed[0], worker="w") as moving:
        moving.require_action([_call(1)])
    with store.move(claimed[1], worker="w") as moving:
        moving.open_message_step("msg_1")
    clock.advance(store.lease + 1)
    assert list(store.rescue().moved) == ["run_f"]
    assert [s.status.value for s in store.get("run_f").steps] == ["failed"]
    clock.advance(10_000)
    assert list(store.expire_due().moved) == ["run_e"]
    assert [s.status.value for s in store.list_steps("run_e")] == ["expired"]
    assert check(store.get("run_e")) == []


def test_a_step_row_that_does_not_load_is_named_and_quarantined(
    store: Store, store_url: str
) -> None:
    """A broken step row makes its run an InvalidRun naming the step's path (``get``); a
    claim quarantines the run and goes on, as for a broken run row."""
    store.create(
        id="run_bad", assistant_id="asst_1", thread_id="t_bad", model="gpt-4o", tools=[WEATHER_TOOL]
    )
    (run,) = store.claim(1, worker="w")
    with store.move(run, worker="w") as moving:
        moving.require_action([_call(1)])
    with store.move(run.id) as moving:
        moving.submit_tool_outputs([{"tool_call_id": "call_1", "output": "x"}])
    raw_sql(store_url, "UPDATE runlife_steps SET body = '{\"id\": 1}' WHERE run_id = 'run_bad'")
    with pytest.raises(
        InvalidRun, match=r"(?s)invalid run run_bad:.*\$\.steps\[0\]\.id: expected a string"
    ):
        store.get("run_bad")
    store.create(id="run_ok", assistant_id="asst_1", thread_id="t_ok", model="gpt-4o")
    assert [r.id for r in store.claim(5, worker="w")] == ["run_ok"]
    assert [run_id for run_id, _ in store.quarantined()] == ["run_bad"]


def test_a_lease_lost_after_a_lost_race_puts_back_the_fresh_steps(
    store: Store, store_url: str, clock: ManualClock
) -> None:
    """A worker whose write lost a race and then its lease gets LeaseLost; its run object is
    put back to what it read last: the other writer's version, with that version's steps."""
    store.create(id="run_l", assistant_id="asst_1", thread_id="t_l", model="gpt-4o")
    (run,) = store.claim(1, worker="w")
    with open_store(store_url, engine=RunEngine(clock=clock)) as other:
        with other.move(run.id) as moving:
            moving.open_message_step("msg_1")
        clock.advance(store.lease + 1)
        with pytest.raises(LeaseLost), store.move(run, worker="w") as moving:
            moving.complete()
        stored = other.get(run.id)
    assert run.version == stored.version
    assert [s.id for s in run.steps] == [s.id for s in stored.steps]
    assert run.steps[0].status.value == "in_progress"


def test_steps_follow_across_processes(store: Store, store_url: str, tmp_path: Path) -> None:
    """A worker in another process works a run with steps; this process, reading only the
    database, streams what the worker's engine streamed, and lists the run's steps."""
    clock = _procs.FileClock(str(tmp_path / "clock"))
    clock.set(T0)
    run = store.create(
        assistant_id="asst_1", thread_id="t_proc", model="gpt-4o", tools=[WEATHER_TOOL]
    )
    out = tmp_path / "heard"
    proc = _procs.start(_procs.step_worker, store_url, clock.path, str(out))
    heard = json.loads(_procs.wait_for(out, 60))
    proc.join(30)
    streamed = [e["event"] for row in store.events_since(run.id, 0) for e in row.stream_events()]
    assert streamed == heard
    assert "thread.run.step.delta" in streamed
    stored = store.get(run.id)
    assert [(s.type, s.status.value) for s in stored.steps] == [
        ("tool_calls", "completed"),
        ("message_creation", "completed"),
    ]
    assert [s.id for s in store.list_steps(run.id, order="asc")] == [s.id for s in stored.steps]


def test_a_move_under_the_row_lock_writes_its_steps(store_url: str, clock: ManualClock) -> None:
    """With no optimistic retries left, a lost move is fired again under the row's lock:
    its step move (and the run move's step) is written from the locked, stored steps."""
    with (
        open_store(store_url, engine=RunEngine(clock=clock), retries=0) as store,
        open_store(store_url, engine=RunEngine(clock=clock)) as other,
    ):
        store.create(
            id="run_k", assistant_id="asst_1", thread_id="t_k", model="gpt-4o", tools=[WEATHER_TOOL]
        )
        (run,) = store.claim(1, worker="w")
        other.update_metadata(run.id, {"k": "1"})
        with store.move(run, worker="w") as moving:
            moving.open_message_step("msg_1")
            moving.complete_message_step(USAGE)
        other.update_metadata(run.id, {"k": "2"})
        with store.move(run, worker="w") as moving:
            moving.require_action([_call(1)])
        assert store.stats()["locked"] == 2
        stored = other.get(run.id)
        assert [(s.type, s.status.value) for s in stored.steps] == [
            ("message_creation", "completed"),
            ("tool_calls", "in_progress"),
        ]
        assert _wire(run.steps) == _wire(stored.steps)
        assert stored.metadata == {"k": "2"}


def test_the_stored_history_rebuilds_the_run_with_its_steps(store: Store) -> None:
    """``Store.history`` tells each move's step moves (from its row's step events): replayed
    from the run as created, the stored moves make the stored run and its steps, ids and all."""
    run_id = _tool_run(store)
    run = store.get(run_id)
    moves = store.history(run_id)
    assert [m.steps for m in moves if m.steps]  # the step moves are there
    created = store.events_since(run_id, -1, limit=1)[0].data
    again = rebuild(created, moves)
    assert to_dict(again) == to_dict(run)
    assert _wire(again.steps) == _wire(run.steps)
