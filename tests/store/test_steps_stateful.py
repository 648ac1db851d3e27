"""Steps under any interleaving of two store objects: a state machine, on both backends.

Two stores on one database (each with its engine, one clock) create, claim, move (by id or
with run objects that may be stale: lost races, moves fired again), update metadata, and
sweep a few function-calling runs. After every step, for every run:

- the stored steps are the run's steps (``list_steps`` of the other store, any order, equals
  ``get(...).steps``), in creation order, and the run with them passes ``runlife.check``;
- the history read back from the database streams exactly what the engines streamed
  (each row's ``stream_events()`` is the ``RunEvent.stream_events()`` of its version);
- a refused move changed no row: run, steps and history are byte-identical.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    initialize,
    invariant,
    multiple,
    precondition,
    rule,
    run_state_machine_as_test,
)

from runlife import (
    ManualClock,
    Run,
    RunEngine,
    RunEvent,
    RunlifeError,
    check,
    step_to_dict,
    to_dict,
)
from runlife.store import Store, open_store
from tests.store.conftest import raw_sql
from tests.support import T0, USAGE, WEATHER_TOOL

_CALLS = [
    {
        "id": f"call_{i}",
        "type": "function",
        "function": {"name": "get_weather", "arguments": f'{{"city": "c{i}"}}'},
    }
    for i in range(2)
]

#: The moves a rule may try (with arguments that are valid somewhere): name -> action.
MOVES: dict[str, Callable[[Run], Any]] = {
    "start": lambda r: r.start(),
    "require_action": lambda r: r.require_action(_CALLS),
    "submit_tool_outputs": lambda r: r.submit_tool_outputs(
        [{"tool_call_id": c["id"], "output": "sunny"} for c in _CALLS]
    ),
    "open_message_step": lambda r: r.open_message_step(f"msg_{uuid.uuid4().hex[:8]}"),
    "complete_message_step": lambda r: r.complete_message_step(USAGE),
    "complete": lambda r: r.complete(),
    "complete_with_usage": lambda r: r.complete(USAGE),
    "cancel": lambda r: r.cancel(),
    "finish_cancel": lambda r: r.finish_cancel(),
    "fail": lambda r: r.fail("server_error", "boom"),
}


#: The moves as a rule picks them: the steps' own paths more often than the endings.
WEIGHTED = [
    *sorted(MOVES),
    *["start", "require_action", "submit_tool_outputs"] * 3,
    *["open_message_step", "complete_message_step"] * 2,
]


def _allowed(run: Run, name: str) -> bool:
    """Whether *run* allows the machine's move *name* (tried on a copy: changes nothing)."""
    probe = RunEngine(clock=ManualClock(T0 + 10**6))
    copy = probe.load(to_dict(run))
    probe.adopt(copy, steps=run.steps)
    try:
        MOVES[name](copy)
    except RunlifeError:
        return False
    return True


def _rows(url: str, run_id: str) -> list[list[tuple[Any, ...]]]:
    return [
        raw_sql(url, f"SELECT * FROM {table} WHERE {key} = ? ORDER BY {order}", (run_id,))  # noqa: S608
        for table, key, order in (
            ("runlife_runs", "id", "id"),
            ("runlife_steps", "run_id", "ordinal"),
            ("runlife_events", "run_id", "version"),
        )
    ]


def _machine(url: str) -> type[RuleBasedStateMachine]:
    class StepsMachine(RuleBasedStateMachine):
        runs = Bundle("runs")

        def __init__(self) -> None:
            super().__init__()
            self.clock = ManualClock(T0)
            self.heard: dict[tuple[str, int], list[dict[str, Any]]] = {}
            self.stores: list[Store] = []
            for _ in range(2):
                engine = RunEngine(clock=self.clock)
                engine.subscribe(self._hear)
                self.stores.append(open_store(url, engine=engine))
            self.held: dict[tuple[int, str], Run] = {}  # run objects each store handed out
            self.ids: list[str] = []
            self.tag = uuid.uuid4().hex[:10]

        def _hear(self, event: RunEvent) -> None:
            self.heard[(event.run_id, event.version)] = event.stream_events()

        def teardown(self) -> None:
            # The examples share the database: claims and sweeps see every run in it, so
            # each example ends every run it left active, and the next (or a replay while
            # shrinking) starts from the same state: no active run at all.
            try:
                while self.stores[0].expire_due(now=T0 + 10**8).moved:
                    pass
            finally:
                for store in self.stores:
                    store.close()

        @initialize(target=runs)
        def two_runs(self) -> Any:
            return multiple(self.create(0), self.create(1))

        @precondition(lambda self: len(self.ids) < 6 and self.active() < 2)
        @rule(target=runs, who=st.integers(0, 1))
        def new_run(self, who: int) -> str:
            return self.create(who)

        def active(self) -> int:
            return sum(self.stores[0].get(i).status.is_active for i in self.ids)

        def create(self, who: int) -> str:
            n = len(self.ids)
            run = self.stores[who].create(
                id=f"run_{self.tag}_{n}",
                assistant_id="asst_1",
                thread_id=f"thread_{self.tag}_{n}",
                model="gpt-4o",
                tools=[WEATHER_TOOL],
            )
            self.held[(who, run.id)] = run
            self.ids.append(run.id)
            return run.id

        @rule(who=st.integers(0, 1))
        def claim(self, who: int) -> None:
            for run in self.stores[who].claim(2, worker="w"):
                self.held[(who, run.id)] = run

        @rule(
            run_id=runs,
            who=st.integers(0, 1),
            pick=st.integers(0, 99),
            legal=st.integers(0, 3),
            stale=st.booleans(),
        )
        def move(self, run_id: str, who: int, pick: int, legal: int, stale: bool) -> None:
            """Mostly a move the stored run allows (else any: refused), on a fresh or stale
            run object of this store, or by id."""
            store = self.stores[who]
            names = list(WEIGHTED)
            if legal:
                stored = store.get(run_id)
                names = [n for n in names if _allowed(stored, n)] or names
            move = names[pick % len(names)]
            target: Run | str = self.held.get((who, run_id), run_id) if stale else run_id
            before = _rows(url, run_id)
            try:
                with store.move(target) as run:
                    MOVES[move](run)
            except RunlifeError:
                assert _rows(url, run_id) == before  # refused: not a byte changed
                if isinstance(target, Run) and target.version == store.version(run_id):
                    # put back as stored, steps too
                    assert step_to_dicts(target) == step_to_dicts(store.get(run_id))
                return
            self.held[(who, run_id)] = run

        @rule(run_id=runs, who=st.integers(0, 1), value=st.text("abc", max_size=3))
        def update_metadata(self, run_id: str, who: int, value: str) -> None:
            self.stores[who].update_metadata(run_id, {"k": value})

        @rule(who=st.integers(0, 1), seconds=st.sampled_from([1, 1, 1, 40, 700]))
        def sweep(self, who: int, seconds: int) -> None:
            self.clock.advance(seconds)
            self.stores[who].rescue()
            self.stores[who].expire_due()

        @invariant()
        def stored_steps_are_the_runs(self) -> None:
            a, b = self.stores
            for run_id in self.ids:
                run = a.get(run_id)
                assert check(run) == []
                asc = b.list_steps(run_id, order="asc", limit=100)
                assert [step_to_dict(s) for s in asc] == step_to_dicts(run)
                desc = b.list_steps(run_id, limit=100)
                assert [s.id for s in desc] == [s.id for s in reversed(run.steps)]

        @invariant()
        def the_history_streams_what_the_engines_streamed(self) -> None:
            for run_id in self.ids:
                for row in self.stores[1].events_since(run_id):
                    if row.kind != "metadata":
                        assert row.stream_events() == self.heard[(run_id, row.version)]

    return StepsMachine


def step_to_dicts(run: Run) -> list[dict[str, Any]]:
    return [step_to_dict(s) for s in run.steps]


def test_steps_under_two_interleaved_stores(store_url: str) -> None:
    """See the module's docstring."""
    open_store(store_url).close()
    profile = settings.default
    assert profile is not None
    run_state_machine_as_test(
        _machine(store_url),
        settings=settings(
            profile,
            # Each step reads every run back from the database: a third of the profile's
            # examples (16 by default, 133 under HYPOTHESIS_PROFILE=ci), 30 steps each.
            max_examples=max(5, profile.max_examples // 3),
            stateful_step_count=30,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        ),
    )


@pytest.mark.parametrize("move", sorted(MOVES))
def test_every_move_is_a_known_trigger(move: str) -> None:
    """The machine's moves are the run's own methods (a typo would only ever be refused)."""
    name = move.removesuffix("_with_usage")
    assert callable(getattr(Run, name))
