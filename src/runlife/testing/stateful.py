"""``RunLifecycleStateMachine``: drive runs through random legal moves, beside your own code.

Subclass it to test an orchestrator (or anything else that reacts to runs) against the
lifecycle: the machine creates runs, lets time pass, fires triggers with valid arguments,
makes the driver's step moves (the model writes messages), tries moves that must be refused,
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
    STEP_OPS,
    TRIGGERS,
    ManualClock,
    Run,
    RunEngine,
    RunlifeError,
    RunStatus,
    StepStatus,
    check,
    from_json,
    step_to_json,
    step_usage_sum,
    to_json,
)
from runlife.paths import arguments_for

from .strategies import _machine_fields, arguments, step_arguments, step_moves

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

#: Arguments the refusal rule tries besides valid ones: each is refused by a guard.
BAD_ARGUMENTS: dict[str, list[Any]] = {
    "tool_calls": [[], "x", [{"id": "", "type": "function"}]],
    "tool_outputs": [[], [{"tool_call_id": "call_nope", "output": "ok"}]],
    "usage": [{"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 3}, "15"],
    "reason": ["tokens"],
    "code": ["oops"],
    "message": [7],
    "message_id": ["", 5],
}


def _snapshot(run: Run) -> str:
    """All of *run* a refused move must leave as it was: its wire JSON, its steps', its version."""
    steps = ",".join(step_to_json(s) for s in run.steps)
    return f"{to_json(run)} [{steps}] v{run.version}"


def _default_engine(clock: ManualClock) -> RunEngine:
    return RunEngine(clock=clock)


class RunLifecycleStateMachine(RuleBasedStateMachine):
    """A hypothesis state machine that drives runs of a real ``RunEngine`` through legal moves.

    Its rules create runs (up to :attr:`max_runs`), advance the shared ``ManualClock`` and
    fire the triggers in :attr:`fires` with valid arguments on runs whose status and guards
    allow them (``expire`` first moves the clock to ``expires_at``), favouring the triggers
    that keep a run going (:data:`WEIGHTS`); make the driver's step moves in
    :attr:`step_fires` (``open_message_step``, ``complete_message_step``: the model writes a
    message) where a run's status and steps allow them; and try a trigger or step move that
    must be refused (an illegal one, or one with a bad argument, :data:`BAD_ARGUMENTS`),
    checking that it raises and leaves the run, its steps and its version byte-identical.
    Its invariants check, after every step, that every run passes ``runlife.check`` (with
    its steps), that a run has at most one open step and none once it ended, that the run's
    usage is the sum of its steps' when all of them carry one, that a completed
    ``tool_calls`` step has an output for every call, and that terminal runs (and their
    steps) no longer change; then they call :meth:`check_run` on each run.

    Hooks for your code (all no-ops here):

    - :meth:`on_created` after each run the machine creates, :meth:`on_moved` after each
      move it makes (a step move too: its *trigger* is the step move's name, its *source*
      the run's status, which it does not change): call your code here. Your code may move runs itself (answer tool calls,
      cancel): the machine reads each run's status afresh at every step.
    - :meth:`check_run`: your invariants about one run, called on every run after every step;
      ``@invariant()`` methods of your own work as usual.
    - :attr:`fires`: leave out the triggers your code fires, so that only it fires them;
      :attr:`step_fires` likewise for the step moves.

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
    #: The driver's step moves the machine makes itself (``runlife.STEP_OPS``; none with an
    #: engine that keeps no steps).
    step_fires: ClassVar[frozenset[str]] = frozenset(STEP_OPS)
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
        unknown = sorted(set(self.step_fires) - set(STEP_OPS))
        if unknown:
            msg = (
                f"step_fires: {', '.join(map(repr, unknown))} not step moves; "
                f"step moves: {', '.join(STEP_OPS)}"
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
                if "usage" in kwargs:  # arguments() draws one that fits the run's steps
                    kwargs["usage"] = None
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

    def _step_moves(self, run: Run) -> list[str]:
        """The step moves in ``step_fires`` that *run*'s status and steps allow now."""
        return [op for op in step_moves(run) if op in self.step_fires]

    @precondition(lambda self: any(self._step_moves(run) for run in self.runs))
    @rule(data=st.data())
    def step_move(self, data: st.DataObject) -> None:
        """Make one of the driver's step moves, with valid arguments, on one run."""
        movable = [run for run in self.runs if self._step_moves(run)]
        run = movable[data.draw(st.integers(0, len(movable) - 1), label="run index")]
        op = data.draw(st.sampled_from(self._step_moves(run)), label="step move")
        kwargs = data.draw(step_arguments(op), label="arguments")
        source = run.status
        step = self.engine.fire_step(run, op, kwargs)
        note(f"{run.id}: {op}() -> step {step.id} {step.status.value} at {self.clock()}")
        self.on_moved(run, op, source)

    @precondition(lambda self: bool(self.runs))
    @rule(data=st.data())
    def refused(self, data: st.DataObject) -> None:
        """Try a trigger or a step move that must be refused: it raises, and changes nothing."""
        run = data.draw(st.sampled_from(self.runs), label="run")
        engine = self.engine
        name = data.draw(st.sampled_from([*engine.table.triggers, *STEP_OPS]), label="move")
        is_step = name in STEP_OPS
        if is_step:
            params = STEP_OPS[name].params
            kwargs = dict(data.draw(step_arguments(name), label="arguments"))
        else:
            params = engine.table.row(name).param_names
            try:  # plain arguments (a usage that may not fit the run's steps: refused then)
                kwargs = arguments_for(run, name, table=engine.table)
            except ValueError:  # none would do here (no tools, no token limit): bad ones
                kwargs = {p: BAD_ARGUMENTS[p][0] for p in params if p in BAD_ARGUMENTS}
        spoilt = [p for p in params if p in BAD_ARGUMENTS]
        spoil: bool = bool(spoilt) and data.draw(st.booleans(), label="spoil an argument")
        if spoil:
            param = data.draw(st.sampled_from(spoilt), label="bad argument")
            kwargs[param] = data.draw(st.sampled_from(BAD_ARGUMENTS[param]), label="bad value")
        if is_step:
            passes = name in step_moves(run) and all(
                kwargs.get(p) not in BAD_ARGUMENTS[p] for p in params
            )
        else:
            passes = engine.may(run, name, kwargs)
        if passes:
            return  # a legal move: the move rules make those
        before = _snapshot(run)
        try:
            if is_step:
                engine.fire_step(run, name, kwargs)
            else:
                engine.fire(run, name, kwargs)
        except RunlifeError as exc:
            note(f"{run.id}: {name}({kwargs!r}) refused: {type(exc).__name__}")
        else:
            msg = f"{run.id}: {name}({kwargs!r}) was made, but it must be refused"
            raise AssertionError(msg)
        after = _snapshot(run)
        if after != before:
            msg = f"{run.id}: the refused {name}() changed the run:\nwas {before}\nis  {after}"
            raise AssertionError(msg)

    # --- invariants -----------------------------------------------------------------------

    @invariant()
    def steps_are_sound(self) -> None:
        """At most one open step, none on an ended run; usage sum; outputs of completed calls."""
        for run in self.runs:
            held = run.steps
            open_at = [i for i, s in enumerate(held) if s.status is StepStatus.IN_PROGRESS]
            if len(open_at) > 1 or (open_at and open_at[0] != len(held) - 1):
                msg = f"{run.id}: steps {open_at} are open; at most one, the last, may be"
                raise AssertionError(msg)
            if open_at and run.is_terminal:
                msg = f"{run.id} is {run.status.value} with step {held[-1].id} still open"
                raise AssertionError(msg)
            total = step_usage_sum(held)
            if run.usage is not None and total is not None and total != run.usage:
                msg = f"{run.id}: usage {run.usage} is not the sum of its steps' usage, {total}"
                raise AssertionError(msg)
            for step in held:
                details = step.step_details
                if step.status is not StepStatus.COMPLETED or step.type != "tool_calls":
                    continue
                calls = getattr(details, "tool_calls", ())
                missing = [c.id for c in calls if getattr(c.function, "output", None) is None]
                if missing:
                    msg = f"{run.id}: completed step {step.id} has no output for {missing}"
                    raise AssertionError(msg)

    @invariant()
    def runs_are_sound(self) -> None:
        """Every run passes ``runlife.check``; terminal runs stay as they ended; ``check_run``."""
        for run in self.runs:
            key = id(run)
            if key in self._frozen:
                copy, text = self._frozen[key]
                if run != copy or _snapshot(run) != text:
                    msg = f"{run.id} changed after it ended: was {text}, is {_snapshot(run)}"
                    raise AssertionError(msg)
            else:
                findings = check(run)
                if findings:
                    lines = "\n".join(f"  {f.path}: {f.message} [{f.code}]" for f in findings)
                    msg = f"{run.id} ({run.status.value}) breaks the contract:\n{lines}"
                    raise AssertionError(msg)
                if run.is_terminal:
                    self._frozen[key] = (from_json(to_json(run)), _snapshot(run))
            self.check_run(run)
