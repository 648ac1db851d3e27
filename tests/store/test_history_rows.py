"""History rows of schema version 2: each holds what its move changed, and reads back whole.

Two properties on both backends, over any sequence of moves and metadata updates on runs of
any size: the history rebuilt from the rows equals the history a store keeping whole bodies
would give (the engine's own events, the run after each metadata update), and every row
after the creation is at most its own arguments plus 1 KB, however large the run.
"""

from __future__ import annotations

import itertools
import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from runlife import ManualClock, RunEvent, to_dict
from runlife.store import Store
from runlife.store._delta import diff, replay
from tests.store.conftest import raw_sql
from tests.support import CALL, VALID_ARGS, WEATHER_TOOL

#: The bound: a row after the creation adds at most its arguments plus this many bytes.
SLACK = 1024

_ids = itertools.count()

_key = st.text("abcdefgh", min_size=1, max_size=8)
_metadata = st.dictionaries(_key, st.text(max_size=80), max_size=6)
_step = st.one_of(
    st.tuples(st.just("move"), st.integers(0, 7), st.integers(0, 4000)),
    st.tuples(st.just("metadata"), _metadata, st.just(0)),
)


def _args(trigger: str, size: int) -> dict[str, Any]:
    """Valid arguments for *trigger*, the tool calls' arguments *size* characters long."""
    if trigger == "require_action":
        call = {**CALL, "function": {**CALL["function"], "arguments": json.dumps("x" * size)}}
        return {"tool_calls": [call]}
    if trigger == "fail":
        return {"code": "server_error", "message": "m" * min(size, 200)}
    return VALID_ARGS[trigger]


def _row_bytes(row: tuple[Any, ...]) -> int:
    """What a history row holds: its text columns' UTF-8 bytes and 8 per integer column."""
    return sum(8 if isinstance(v, int) else len(str(v).encode()) for v in row if v is not None)


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    size=st.sampled_from([0, 1_000, 200_000]),
    steps=st.lists(_step, max_size=14),
)
def test_rows_rebuild_the_full_history_within_the_bound(
    store: Store,
    store_url: str,
    clock: ManualClock,
    size: int,
    steps: list[tuple[str, Any, int]],
) -> None:
    """The history read back equals the engine's own events (and the run after each metadata
    update), from every version on; each row after the creation is a delta within the bound."""
    events: list[RunEvent] = []
    store.engine.subscribe(events.append)
    n = next(_ids)
    run = store.create(
        id=f"run_h{n}",
        assistant_id="asst_1",
        thread_id=f"thread_h{n}",
        model="gpt-4o",
        instructions="i" * size,
        tools=[WEATHER_TOOL],
    )
    expected = [e.data for e in events if e.run_id == run.id]
    for kind, what, length in steps:
        clock.advance(1)
        current = store.get(run.id)
        if kind == "metadata":
            expected.append(to_dict(store.update_metadata(run.id, what)))
            continue
        options = [
            t
            for t in VALID_ARGS
            if t != "expire" and getattr(current, f"may_{t}")(**_args(t, length))
        ]
        if not options:
            continue
        trigger = options[what % len(options)]
        events.clear()
        with store.move(current) as moving:
            getattr(moving, trigger)(**_args(trigger, length))
        expected += [e.data for e in events if e.run_id == run.id]
    stored = store.events_since(run.id)
    assert [e.data for e in stored] == expected
    assert [e.version for e in stored] == list(range(len(expected)))
    for since in range(-1, len(expected)):
        assert store.events_since(run.id, since) == stored[since + 1 :]
        assert store.events_since(run.id, since, limit=2) == stored[since + 1 : since + 3]
    rows = raw_sql(
        store_url,
        "SELECT run_id, version, kind, trigger, source, dest, at, worker, args, changes, body "
        "FROM runlife_events WHERE run_id = ? ORDER BY version",
        (run.id,),
    )
    assert rows[0][10] is not None  # the creation keeps the whole run
    for row in rows[1:]:
        assert row[10] is None  # every later row holds its changes only
        assert _row_bytes(row) <= len(row[8].encode()) + SLACK, (row[3], row[9])


@given(
    prev=st.dictionaries(_key, st.integers() | st.booleans() | st.text(), min_size=1),
    data=st.data(),
)
def test_diff_then_replay_is_exact(prev: dict[str, Any], data: st.DataObject) -> None:
    """``replay(prev, diff(prev, new, args), args)`` writes the very JSON of *new* (``1`` and
    ``True`` stay apart), or ``diff`` says a delta cannot (other keys or order)."""
    values = st.integers() | st.booleans() | st.text() | st.lists(st.integers(), max_size=3)
    new = {k: data.draw(st.one_of(st.just(v), values)) for k, v in prev.items()}
    args = {"a": data.draw(st.one_of(*(st.just(v) for v in new.values()), values))}
    changes = diff(prev, new, args)
    assert changes is not None
    rebuilt = replay(prev, changes, args)
    assert json.dumps(rebuilt) == json.dumps(new)
    assert diff(prev, {**new, "zz_new": 1}, args) is None
    assert diff(prev, dict(reversed(list(new.items()))), args) is None or len(new) == 1


@pytest.mark.parametrize("size", [25, 8_000])
def test_a_metadata_update_does_not_copy_the_run(store: Store, store_url: str, size: int) -> None:
    """Issue 15: on a 250 KB run, 50 metadata updates of *size* bytes each add rows of about
    their size, not 50 copies of the run."""
    store.create(
        id="run_big",
        assistant_id="asst_1",
        thread_id="t",
        model="gpt-4o",
        instructions="i" * 250_000,
    )
    for i in range(50):
        value = str(i).rjust(min(size, 512), "v")
        store.update_metadata("run_big", {f"k{j}": value for j in range(max(1, size // 512))})
    rows = raw_sql(
        store_url,
        "SELECT run_id, version, kind, trigger, source, dest, at, worker, args, changes, body "
        "FROM runlife_events WHERE run_id = 'run_big' AND version > 0",
    )
    assert len(rows) == 50
    assert all(_row_bytes(r) <= len(r[8].encode()) + SLACK for r in rows)
    assert sum(_row_bytes(r) for r in rows) < 50 * (2 * size + SLACK)
