"""``RunLifecycleStateMachine``: drive runs through random legal moves, beside your own code.

Subclass it to test an orchestrator (or anything else that reacts to runs) against the
lifecycle: the machine creates runs, lets time pass and fires triggers with valid arguments,
and calls your hooks after each change; hypothesis searches for the sequence that breaks
your invariants, and shrinks it. Needs hypothesis (``pip install ".[testing]"``).
See ``docs/testing.md`` for a worked example.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

from hypothesis import note
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from runlife import (
    TRIGGERS,
    ManualClock,
    Run,
    RunEngine,
    RunStatus,
    check,
    from_json,
    to_json,
)
from runlife.paths import arguments_for

from .strategies import _machine_fields, arguments

__all__ = ["RunLifecycleStateMachine"]

EngineFactory = Callable[[ManualClock], RunEngine]

#: How often the machine picks each trigger, relative to the others it may fire: runs that
#: start, ask for tool calls and get their outputs go deeper than runs that fail at once.
WEIGHTS: dict[str, int] = {
    "start": 4,
    "require_action": 4,
    "submit_tool_outputs": 4,
    "complete": 2,
    "mark_incomplete": 1,
    "fail": 1,
    "cancel": 1,
    "finish_cancel": 2,
    "expire": 1,
}


def _default_engine(clock: ManualClock) -> RunEngine:
    return RunEngine(clock=clock)


class RunLifecycleStateMachine(RuleBasedStateMachine):
    """A hypothesis state machine that drives runs of a real ``RunEngine`` through legal moves.

    Its rules create runs (up to :attr:`max_runs`), advance the shared ``ManualClock`` and
    fire the triggers in :attr:`fires` with valid arguments on runs whose status and guards
    allow them (``expire`` first moves the clock to ``expires_at``), favouring the triggers
    that keep a run going (:data:`WEIGHTS`). Its invariant checks,
    after every step, that every run passes ``runlife.check`` and that terminal runs no
    longer change, then calls :meth:`check_run` on each run.

    Hooks for your code (all no-ops here):

    - :meth:`on_created` after each run the machine creates, :meth:`on_moved` after each
      move it makes: call your code here. Your code may move runs itself (answer tool calls,
      cancel): the machine reads each run's status afresh at every step.
    - :meth:`check_run`: your invariants about one run, called on every run after every step;
      ``@invariant()`` methods of your own work as usual.
    - :attr:`fires`: leave out the triggers your code fires, so that only it fires them.

    Args:
        engine_factory: builds the engine from the machine's clock (``RunEngine(clock=clock)``
            by default); use it to give the engine listeners, a ttl or an id factory.

    Attributes:
        clock: the ``ManualClock`` of the engine; it starts at :attr:`start_time`.
        engine: the ``RunEngine`` the runs belong to.
        runs: every run created so far, oldest first (ids ``run_1``, ``run_2``, ...).

    Run it with ``TestX = MyMachine.TestCase`` or ``run_state_machine_as_test(MyMachine)``:
    ``MyMachine()`` takes no arguments, so a subclass that needs an engine factory passes it
    from its own ``__init__`` (``super().__init__(engine_factory=...)``). Set hypothesis
    settings on ``MyMachine.TestCase.settings`` or pass them to ``run_state_machine_as_test``,
    not as a class attribute (hypothesis refuses that).
    """

    #: The triggers the machine fires itself; the rest are left to your code. With an engine
    #: of a table of its own, add its triggers here (each must be a trigger of that table).
    fires: ClassVar[frozenset[str]] = frozenset(TRIGGERS)
    #: The machine creates at most this many runs per example.
    max_runs: ClassVar[int] = 4
    #: The clock's time when an example starts (Unix seconds).
    start_time: ClassVar[int] = 1_700_000_000
    #: Keyword arguments for ``RunEngine.create`` (``id`` is set by the machine). The default
    #: varies what matters to the lifecycle (function tools, ``tool_choice``,
    #: ``parallel_tool_calls``, token limits, three threads) and is quick to draw and shrink;
    #: ``strategies.create_kwargs()`` varies every field, more slowly.
    run_fields: ClassVar[st.SearchStrategy[dict[str, Any]]] = _machine_fields()

    def __init__(self, engine_factory: EngineFactory | None = None) -> None:
        super().__init__()
        self.clock = ManualClock(self.start_time)
        engine = (engine_factory or _default_engine)(self.clock)
        if not isinstance(engine, RunEngine) or engine.clock is not self.clock:
            msg = (
                "engine_factory: expected a RunEngine built on the clock it is given "
                f"(RunEngine(clock=clock, ...)), got {engine!r}"
            )
            raise InvalidArgument(msg)
        self.engine = engine
        known = engine.table.triggers
        unknown = sorted(set(self.fires) - set(known))
        if unknown:
            msg = (
                f"fires: {', '.join(map(repr, unknown))} not triggers; triggers: {', '.join(known)}"
            )
            raise InvalidArgument(msg)
        self.runs: list[Run] = []
        self._frozen: dict[int, tuple[Run, str]] = {}

    # --- hooks ----------------------------------------------------------------------------

    def on_created(self, run: Run) -> None:
        """Called after the machine creates *run*. Override it to call your code."""

    def on_moved(self, run: Run, trigger: str, source: RunStatus) -> None:
        """Called after the machine fires *trigger* on *run*, which was in *source*."""

    def check_run(self, run: Run) -> None:
        """Your invariants about *run*: called on every run after every step; raise to fail."""

    # --- rules ----------------------------------------------------------------------------

    @property
    def active_runs(self) -> list[Run]:
        """The runs that are not terminal yet, oldest first."""
        return [run for run in self.runs if not run.is_terminal]

    def _moves(self, run: Run) -> list[str]:
        """The triggers in ``fires`` that the table and the guards allow on *run* now."""
        out: list[str] = []
        engine = self.engine
        for trigger in engine.table.triggers_from(run.status):
            if trigger not in self.fires:
                continue
            if trigger != "expire":  # the machine moves the clock for expire
                try:
                    kwargs = arguments_for(run, trigger, table=engine.table)
                except ValueError:
                    continue  # no arguments would do: no tools, or no token limit
                if not engine.may(run, trigger, kwargs):
                    continue
            out.append(trigger)
        return out

    @precondition(lambda self: len(self.runs) < self.max_runs)
    @rule(data=st.data())
    def create_run(self, data: st.DataObject) -> None:
        """Create a run with fields drawn from :attr:`run_fields`."""
        fields = dict(data.draw(self.run_fields, label="fields"))
        fields["id"] = f"run_{len(self.runs) + 1}"
        run = self.engine.create(**fields)
        self.runs.append(run)
        note(f"{run.id}: created at {run.created_at}, expires at {run.expires_at}")
        self.on_created(run)

    @rule(seconds=st.integers(0, 120))
    def advance_clock(self, seconds: int) -> None:
        """Let *seconds* pass."""
        self.clock.advance(seconds)

    @precondition(lambda self: any(self._moves(run) for run in self.runs))
    @rule(data=st.data())
    def move(self, data: st.DataObject) -> None:
        """Fire one allowed trigger, with valid arguments, on one run."""
        movable = [run for run in self.runs if self._moves(run)]
        run = movable[data.draw(st.integers(0, len(movable) - 1), label="run index")]
        weighted = [t for t in self._moves(run) for _ in range(WEIGHTS.get(t, 1))]
        trigger = data.draw(st.sampled_from(weighted), label="trigger")
        expires_at = run.expires_at
        if trigger == "expire" and expires_at is not None and self.clock() < expires_at:
            self.clock.set(expires_at)
        kwargs = data.draw(arguments(run, trigger, table=self.engine.table), label="arguments")
        source = run.status
        self.engine.fire(run, trigger, kwargs)
        note(f"{run.id}: {trigger}() {source.value} -> {run.status.value} at {self.clock()}")
        self.on_moved(run, trigger, source)

    # --- invariants -----------------------------------------------------------------------

    @invariant()
    def runs_are_sound(self) -> None:
        """Every run passes ``runlife.check``; terminal runs stay as they ended; ``check_run``."""
        for run in self.runs:
            key = id(run)
            if key in self._frozen:
                copy, text = self._frozen[key]
                if run != copy:
                    msg = f"{run.id} changed after it ended: was {text}, is {to_json(run)}"
                    raise AssertionError(msg)
            else:
                findings = check(run)
                if findings:
                    lines = "\n".join(f"  {f.path}: {f.message} [{f.code}]" for f in findings)
                    msg = f"{run.id} ({run.status.value}) breaks the contract:\n{lines}"
                    raise AssertionError(msg)
                if run.is_terminal:
                    text = to_json(run)
                    self._frozen[key] = (from_json(text), text)
            self.check_run(run)
