"""One source of truth per trigger: a copy of the table with one more trigger, and every
consumer of the table picking it up.

The extra trigger is ``give_up``: ``requires_action -> failed`` (an edge the spec's table
does not have), with two required parameters guarded by the existing ``error`` guard, the
``failed_at`` stamp, and two cleared fields. Each consumer is asked for it through its
public API, as it should answer; a consumer that does not take a table yet fails here.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.stateful import run_state_machine_as_test

from runlife import (
    TABLE,
    GuardRejected,
    ManualClock,
    Move,
    Param,
    Run,
    RunEngine,
    RunEvent,
    RunStatus,
    TableRow,
    check,
    dump,
    initial_wire,
    rebuild,
    restore,
    to_json,
)

T0 = 1_700_000_000
GIVE_UP = TableRow(
    "give_up",
    (RunStatus.REQUIRES_ACTION,),
    RunStatus.FAILED,
    params=(Param("code"), Param("message")),
    guards=("error",),
    stamp="failed_at",
    clears=("required_action", "expires_at"),
)
EXTENDED = TABLE.with_row(GIVE_UP)
ARGS = {"code": "server_error", "message": "the tool never answered"}
FIELDS: dict[str, Any] = {
    "id": "run_ext",
    "assistant_id": "asst_1",
    "thread_id": "thread_1",
    "model": "gpt-4o",
    "tools": [{"type": "function", "function": {"name": "lookup"}}],
}
CALL = {"id": "call_1", "type": "function", "function": {"name": "lookup", "arguments": "{}"}}


def waiting_run(engine: RunEngine | None = None) -> tuple[Run, RunEngine, ManualClock]:
    """A run of an engine of the extended table, waiting for tool outputs."""
    clock = ManualClock(T0)
    engine = engine or RunEngine(clock=clock, table=EXTENDED)
    run = engine.create(**FIELDS)
    clock.advance(1)
    run.start()
    clock.advance(1)
    run.require_action([CALL])
    clock.advance(1)
    return run, engine, engine.clock  # type: ignore[return-value]


def test_the_extended_table() -> None:
    assert EXTENDED.triggers == (*TABLE.triggers, "give_up")
    assert EXTENDED.row("give_up") is GIVE_UP
    assert EXTENDED.triggers_from(RunStatus.REQUIRES_ACTION) == (
        "submit_tool_outputs",
        "cancel",
        "expire",
        "give_up",
    )
    assert TABLE.triggers_from(RunStatus.REQUIRES_ACTION) == (
        "submit_tool_outputs",
        "cancel",
        "expire",
    )
    with pytest.raises(ValueError, match="named twice"):
        EXTENDED.with_row(GIVE_UP)


# --- the engine ------------------------------------------------------------------------------


def test_the_engine_fires_it_by_name_and_plans_it_from_the_row() -> None:
    """may answers, fire moves; the plan sets the guard's field, the stamp, and the clears;
    the history records the row's params; listeners hear the destination's event."""
    run, engine, clock = waiting_run()
    heard: list[RunEvent] = []
    engine.subscribe(heard.append)
    assert engine.may(run, "give_up", ARGS)
    assert not engine.may(run, "give_up", {**ARGS, "code": "no_such_code"})
    assert not engine.may(run, "start")
    engine.fire(run, "give_up", ARGS)

    assert run.status is RunStatus.FAILED
    assert run.failed_at == clock()
    assert run.required_action is None
    assert run.expires_at is None
    assert run.last_error is not None
    assert (run.last_error.code, run.last_error.message) == (ARGS["code"], ARGS["message"])
    (step,) = run.steps  # the tool_calls step of requires_action fails with the run
    assert (step.status.value, step.failed_at) == ("failed", clock())
    steps = ({"step_id": step.id, "trigger": "fail"},)
    assert run.history[-1] == Move("give_up", "requires_action", "failed", clock(), ARGS, steps)
    assert [(e.event, e.trigger) for e in heard] == [("thread.run.failed", "give_up")]
    assert [e.event for e in heard[0].step_events] == ["thread.run.step.failed"]
    assert check(run) == []


def test_the_engine_checks_the_rows_params_and_guards() -> None:
    run, engine, _ = waiting_run()
    before = to_json(run)
    with pytest.raises(TypeError, match="give_up\\(\\) takes code, message: missing message"):
        engine.fire(run, "give_up", {"code": "server_error"})
    with pytest.raises(TypeError, match="unknown reason"):
        engine.fire(run, "give_up", {**ARGS, "reason": "x"})
    with pytest.raises(GuardRejected):
        engine.fire(run, "give_up", {**ARGS, "code": "no_such_code"})
    assert to_json(run) == before


def test_the_default_engine_does_not_know_it() -> None:
    run, _, _ = waiting_run(RunEngine(clock=ManualClock(T0)))
    with pytest.raises(TypeError, match="unknown trigger 'give_up'"):
        run.engine.fire(run, "give_up", ARGS)


def test_derived_engines_keep_the_table() -> None:
    _, engine, _ = waiting_run()
    assert engine.derive().table is EXTENDED
    assert engine.derive(record_history=False).table is EXTENDED


def test_the_record_moves_through_the_engines_table() -> None:
    """The record's methods are the spec's nine triggers; a row of another table is fired
    through its engine (``engine.fire``), and the record's own methods go to that engine."""
    run, engine, _ = waiting_run()
    assert not hasattr(run, "give_up")
    assert run.engine is engine
    run.cancel()  # the record's method, on the run's own engine
    assert run.status is RunStatus.CANCELLING


def test_the_record_method_check_names_the_missing_method() -> None:
    """The import-time check of the record's methods against a table (a core fence, so the
    core module is imported) names the row a table adds and the record lacks."""
    from runlife._record import method_problems

    assert method_problems(Run, TABLE) == []
    problems = method_problems(Run, EXTENDED)
    assert problems == [
        "Run has no method give_up() for the row give_up",
        "Run has no method may_give_up() for the row give_up",
    ]

    class Shifted:
        """Every method, but ``complete`` with its usage made required."""

    for row in TABLE.rows:
        for name in (row.trigger, f"may_{row.trigger}"):
            setattr(Shifted, name, getattr(Run, name))

    def complete(self: object, usage: object) -> None: ...

    Shifted.complete = complete  # type: ignore[attr-defined]
    assert method_problems(Shifted, TABLE) == [
        "Shifted.complete() takes [('usage', False)], the row declares [('usage', True)]"
    ]


# --- aio ---------------------------------------------------------------------------------------


def test_aio_fires_it_by_name() -> None:
    from runlife.aio import AsyncRunEngine

    run, engine, _ = waiting_run()
    heard: list[str] = []

    async def listener(event: RunEvent) -> None:
        heard.append(f"{event.trigger} {event.event}")

    async def main() -> None:
        aio = AsyncRunEngine(engine)
        aio.subscribe(listener)
        await aio.fire(run, "give_up", ARGS)

    asyncio.run(main())
    assert run.status is RunStatus.FAILED
    assert heard == ["give_up thread.run.failed"]


# --- snapshots and replay ----------------------------------------------------------------------


def test_rebuild_replays_the_new_trigger() -> None:
    """rebuild, on an engine of the extended table, replays the move and makes the same run."""
    run, engine, _ = waiting_run()
    engine.fire(run, "give_up", ARGS)
    again = rebuild(initial_wire(run), run.history, engine=engine.derive())
    assert to_json(again) == to_json(run)
    assert again.history == run.history


def test_rebuild_replays_the_new_trigger_from_dicts() -> None:
    """The history as stored (``Move.to_dict``), not as ``Move`` objects."""
    run, engine, _ = waiting_run()
    engine.fire(run, "give_up", ARGS)
    history = [m.to_dict() for m in run.history]
    again = rebuild(initial_wire(run), history, engine=engine.derive())
    assert to_json(again) == to_json(run)


def test_restore_keeps_the_new_trigger() -> None:
    """A dump of such a run restores on an engine of its table, verified by replay."""
    run, engine, _ = waiting_run()
    engine.fire(run, "give_up", ARGS)
    back = restore(dump(run), engine=engine.derive(), verify=True)
    assert to_json(back) == to_json(run)
    assert back.history == run.history


# --- diagrams ----------------------------------------------------------------------------------


def test_diagrams_draw_the_new_edge() -> None:
    from runlife import diagrams

    text = diagrams.mermaid(table=EXTENDED)
    edge = next(ln for ln in text.splitlines() if ln.startswith("    requires_action --> failed:"))
    assert "give_up" in edge
    assert "give_up" not in diagrams.mermaid()
    assert '"requires_action" -> "failed"' in diagrams.dot(table=EXTENDED)


def test_diagrams_draw_a_runs_path_through_the_new_edge() -> None:
    from runlife import diagrams

    run, engine, _ = waiting_run()
    engine.fire(run, "give_up", ARGS)
    assert "give_up" in diagrams.mermaid(run=run, table=EXTENDED)


# --- paths -------------------------------------------------------------------------------------


def test_paths_follow_the_new_trigger() -> None:
    from runlife.paths import arguments_for, follow, new_replay_run

    run, _, _ = waiting_run()
    assert set(arguments_for(run, "give_up")) == {"code", "message"}
    fresh = new_replay_run()
    engine = RunEngine(clock=fresh.engine.clock, table=EXTENDED)
    engine.adopt(fresh)
    assert follow(("start", "require_action", "give_up"), fresh).status is RunStatus.FAILED


def test_paths_find_a_path_through_the_new_trigger() -> None:
    from runlife import paths

    explored = paths.graph(table=EXTENDED)
    assert any(trigger == "give_up" for _, trigger, _ in explored.edges)
    cover = paths.transition_cover(table=EXTENDED)
    assert any("give_up" in path for path in cover)
    assert paths.steps(("start", "require_action", "give_up"), table=EXTENDED)[-1].dest is (
        RunStatus.FAILED
    )


# --- strategies and the stateful base ------------------------------------------------------------


def test_the_strategies_draw_the_new_trigger() -> None:
    from runlife.testing import triggers

    drawn: set[str] = set()

    @settings(max_examples=50, database=None)
    @given(st.data())
    def draw(data: st.DataObject) -> None:
        drawn.add(data.draw(triggers(allowed_from="requires_action", table=EXTENDED)))

    draw()
    assert "give_up" in drawn


def test_the_strategies_make_runs_through_the_new_trigger() -> None:
    """runs(table=...) moves its runs by that table, and some reach failed by give_up."""
    from hypothesis import Phase, find

    from runlife.testing import runs

    found = find(
        runs(status="failed", table=EXTENDED),
        lambda run: (
            run.engine.table is EXTENDED and any(m.trigger == "give_up" for m in run.history)
        ),
        settings=settings(max_examples=2000, database=None, phases=[Phase.generate]),
    )
    assert found.status is RunStatus.FAILED


def test_the_stateful_base_fires_the_new_trigger() -> None:
    from runlife.testing import RunLifecycleStateMachine

    fired: list[str] = []

    class Extended(RunLifecycleStateMachine):
        fires = frozenset({"start", "require_action", "give_up"})

        def __init__(self) -> None:
            super().__init__(engine_factory=lambda clock: RunEngine(clock=clock, table=EXTENDED))

        def on_moved(self, run: Run, trigger: str, source: RunStatus) -> None:
            fired.append(trigger)

    run_state_machine_as_test(
        Extended, settings=settings(max_examples=30, stateful_step_count=20, database=None)
    )
    assert "give_up" in fired
