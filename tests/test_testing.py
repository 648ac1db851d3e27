"""runlife.testing: strategies that draw sound runs, and the state machine for users' code."""

from __future__ import annotations

import doctest
import itertools
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import Phase, given, settings
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument
from hypothesis.stateful import invariant, run_state_machine_as_test
from openai.types.beta.threads import Run as SdkRun

import runlife
import runlife.testing.strategies
from runlife import (
    ACTIVE,
    STEP_OPS,
    TERMINAL,
    GuardRejected,
    ManualClock,
    Run,
    RunEngine,
    RunEvent,
    RunlifeError,
    RunStatus,
    check,
    step_from_dict,
    step_to_dict,
    to_dict,
)
from runlife.paths import arguments_for, follow, new_replay_run
from runlife.testing import (
    RunLifecycleStateMachine,
    _hypothesis_setup_hook,
    create_kwargs,
    run_steps,
    runs,
    step_arguments,
    step_moves,
    step_usage_for,
    tool_calls,
    tool_outputs_for,
    triggers,
    usages,
)

ROOT = Path(__file__).parents[1]


class TestRuns:
    @given(runs())
    def test_sound(self, run):
        """Every drawn run passes runlife.check, and the SDK's validating parser."""
        assert check(run) == []
        if run.instructions is not None:
            SdkRun.model_validate(to_dict(run))

    @pytest.mark.parametrize("status", list(RunStatus), ids=str)
    def test_in_status(self, status):
        """runs(status=s) draws runs in s, whose history leads there from queued."""

        @settings(max_examples=10)
        @given(runs(status=status))
        def inner(run):
            assert run.status == status
            assert check(run) == []
            moves = run.history
            assert all(a.dest == b.source for a, b in itertools.pairwise(moves))
            assert (moves[0].source if moves else "queued") == "queued"

        inner()

    @given(runs(status=["failed", RunStatus.EXPIRED]))
    def test_several_statuses(self, run):
        """A collection of statuses draws runs in any of them."""
        assert run.status in {"failed", "expired"}

    @given(runs(status=ACTIVE), st.data())
    def test_active_runs_move_on(self, run, data):
        """A drawn run stays bound to its engine and ManualClock: tests can go on moving it."""
        assert isinstance(run.engine.clock, ManualClock)
        trigger = data.draw(triggers(allowed_from=run.status))
        if trigger in {"complete", "mark_incomplete"} and run.started_at is None:
            return  # a run cancelled while queued never started: the guard refuses these
        if trigger == "require_action" and not run.may_require_action(**_calls_args(run)):
            return
        if trigger == "mark_incomplete" and not (
            run.max_prompt_tokens or run.max_completion_tokens
        ):
            return
        follow((trigger,), run)
        assert check(run) == []

    @pytest.mark.parametrize(
        ("status", "message"),
        [
            (
                "complete",
                (
                    "runs(status=...): unknown status 'complete'; did you mean 'completed'? allowed: "
                    "queued, in_progress, requires_action, cancelling, cancelled, failed, completed, "
                    "incomplete, expired"
                ),
            ),
            (
                3,
                "runs(status=...): expected a status (a RunStatus or its string), got int 3",
            ),
            ([], "runs(status=...): expected a status or a non-empty collection of them, got none"),
        ],
        ids=["typo", "not-a-status", "empty"],
    )
    def test_bad_status(self, status, message):
        """A bad status is refused at once, with a did-you-mean for a near miss."""
        with pytest.raises(InvalidArgument) as info:
            runs(status=status)
        assert str(info.value) == message

    def test_from_type(self):
        """The hypothesis entry point registers runs() for st.from_type(Run)."""
        _hypothesis_setup_hook()

        @settings(max_examples=5)
        @given(st.from_type(Run))
        def inner(run):
            assert check(run) == []

        inner()


def _calls_args(run: Run) -> dict[str, Any]:
    try:
        return arguments_for(run, "require_action")
    except ValueError:
        return {"tool_calls": []}


class TestToolCalls:
    @given(tool_calls())
    def test_shape(self, calls):
        """Calls have unique ids, type function, and string arguments."""
        ids = [c["id"] for c in calls]
        assert 1 <= len(calls) <= 3
        assert len(set(ids)) == len(ids)
        assert all(c["type"] == "function" for c in calls)
        assert all(isinstance(c["function"]["arguments"], str) for c in calls)

    @given(
        runs(status="in_progress").filter(lambda r: r.may_require_action(**_calls_args(r))),
        st.data(),
    )
    def test_for_a_run(self, run, data):
        """tool_calls(run=...) draws calls the run accepts; the outputs then requeue it."""
        run.require_action(data.draw(tool_calls(run=run)))
        assert run.status == "requires_action"
        run.submit_tool_outputs(data.draw(tool_outputs_for(run)))
        assert run.status == "queued"
        assert check(run) == []

    def test_run_that_cannot_call_tools(self):
        """A run without function tools gets a clear refusal."""
        run = new_replay_run(tools=[])
        with pytest.raises(InvalidArgument) as info:
            tool_calls(run=run)
        assert str(info.value) == (
            "tool_calls(run=...): run run_replay declares no function tool, "
            "so it cannot ask for tool calls"
        )

    @pytest.mark.parametrize(
        ("kwargs", "message"),
        [
            ({"names": []}, "tool_calls(names=...): expected at least one function name, got none"),
            (
                {"min_size": 0},
                "tool_calls(min_size=...): expected an int >= 1 (the guard refuses no calls), got 0",
            ),
            ({"max_size": 0}, "tool_calls(max_size=...): expected an int >= min_size (1), got 0"),
        ],
        ids=["no-names", "min-size", "max-size"],
    )
    def test_bad_arguments(self, kwargs, message):
        """Bad sizes or names are refused, naming the argument."""
        with pytest.raises(InvalidArgument) as info:
            tool_calls(**kwargs)
        assert str(info.value) == message

    def test_outputs_need_requires_action(self):
        """tool_outputs_for refuses a run that waits for no outputs."""
        with pytest.raises(InvalidArgument) as info:
            tool_outputs_for(new_replay_run())
        assert str(info.value) == (
            "tool_outputs_for(run): run run_replay is queued, not requires_action: "
            "it waits for no tool outputs"
        )


class TestOthers:
    @given(usages())
    def test_usages_add_up(self, usage):
        """Usages are non-negative and their total adds up."""
        assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]
        assert min(usage.values()) >= 0

    @given(create_kwargs(callable_tools=True, limited=True))
    def test_create_kwargs(self, fields):
        """create_kwargs satisfy every rule; the options make tool calls and limits possible."""
        run = RunEngine(clock=ManualClock(0)).create(**fields)
        assert check(run) == []
        assert run.tool_choice != "none"
        assert run.max_prompt_tokens or run.max_completion_tokens
        follow(("start", "require_action", "submit_tool_outputs", "start"), run)
        follow(("mark_incomplete",), run)

    @given(triggers())
    def test_triggers(self, trigger):
        """triggers() draws the table's trigger names."""
        assert trigger in runlife.TRIGGERS

    @given(triggers(allowed_from="cancelling"))
    def test_triggers_from(self, trigger):
        """triggers(allowed_from=...) draws only what the table allows from there."""
        assert trigger in {"complete", "mark_incomplete", "fail", "finish_cancel", "expire"}

    def test_triggers_from_terminal(self):
        """Nothing leaves a terminal status: asking for its triggers is an error."""
        with pytest.raises(InvalidArgument) as info:
            triggers(allowed_from="expired")
        assert str(info.value) == (
            "triggers(allowed_from=...): expired is terminal: no trigger leaves it"
        )

    def test_import_needs_no_hypothesis_for_paths(self):
        """runlife.paths works without hypothesis; import runlife imports neither."""
        code = (
            "import sys, runlife, runlife.paths; "
            "print(sorted(m for m in ('hypothesis', 'runlife.testing') if m in sys.modules))"
        )
        out = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True
        )
        assert out.stdout.strip() == "[]"


# --- the state machine ------------------------------------------------------------------


class Orchestrator:
    """Answers tool calls; keeps a ledger of tokens per thread (the docs' example)."""

    def __init__(self, *, answer_all: bool = True) -> None:
        self.tokens: dict[str, int] = {}
        self.answer_all = answer_all

    def on_change(self, run: Run) -> None:
        if run.status == "requires_action":
            assert run.required_action is not None
            calls = run.required_action.submit_tool_outputs.tool_calls
            if not self.answer_all:  # the bug: answers only the first call
                calls = calls[:1]
            run.submit_tool_outputs([{"tool_call_id": c.id, "output": "42"} for c in calls])
        elif run.usage is not None:
            used = self.tokens.get(run.thread_id, 0)
            self.tokens[run.thread_id] = used + run.usage.total_tokens


class OrchestratorMachine(RunLifecycleStateMachine):
    fires = RunLifecycleStateMachine.fires - {"submit_tool_outputs"}
    answer_all = True

    def __init__(self) -> None:
        super().__init__()
        self.orchestrator = Orchestrator(answer_all=self.answer_all)

    def on_moved(self, run, trigger, source):
        self.orchestrator.on_change(run)

    def check_run(self, run):
        assert run.status != "requires_action", f"{run.id} waits for tool outputs"

    @invariant()
    def ledger_adds_up(self):
        used = sum(run.usage.total_tokens for run in self.runs if run.usage is not None)
        assert sum(self.orchestrator.tokens.values()) == used


class BuggyOrchestratorMachine(OrchestratorMachine):
    answer_all = False
    max_runs = 1  # one run, more moves: the bug is found sooner


TestBaseMachine = RunLifecycleStateMachine.TestCase
TestOrchestratorMachine = OrchestratorMachine.TestCase


class TestStateMachine:
    def test_finds_the_buggy_orchestrator(self):
        """An orchestrator that answers only the first call is caught, and the steps noted."""
        quick = settings(max_examples=300, database=None, derandomize=True, phases=[Phase.generate])
        with pytest.raises(GuardRejected) as info:
            run_state_machine_as_test(BuggyOrchestratorMachine, settings=quick)
        assert "missing outputs for pending calls" in str(info.value)
        notes = "\n".join(info.value.__notes__)
        assert "require_action() in_progress -> requires_action" in notes

    def test_engine_factory(self):
        """engine_factory builds the engine on the machine's clock, e.g. with a listener."""
        events: list[RunEvent] = []

        def factory(clock: ManualClock) -> RunEngine:
            engine = RunEngine(clock=clock, ttl=120)
            engine.subscribe(events.append)
            return engine

        class Counting(RunLifecycleStateMachine):
            def __init__(self) -> None:
                events.clear()
                super().__init__(engine_factory=factory)
                self.moves = 0

            def on_moved(self, run, trigger, source):
                self.moves += 1

            @invariant()
            def one_event_a_change(self):
                assert len(events) == len(self.runs) + self.moves

            def on_created(self, run):
                assert run.expires_at == run.created_at + 120

        run_state_machine_as_test(Counting, settings=settings(max_examples=15, database=None))

    def test_engine_factory_must_use_the_clock(self):
        """An engine on another clock is refused: the machine has to move time."""
        with pytest.raises(InvalidArgument) as info:
            RunLifecycleStateMachine(engine_factory=lambda clock: RunEngine(clock=ManualClock(5)))
        assert str(info.value) == (
            "engine_factory: expected a RunEngine built on the clock it is given "
            "(RunEngine(clock=clock, ...)), got RunEngine(clock=ManualClock(5), ttl=600)"
        )

    def test_unknown_fires(self):
        """fires may only name triggers."""

        class Typo(RunLifecycleStateMachine):
            fires = frozenset({"start", "strat"})

        with pytest.raises(InvalidArgument) as info:
            Typo()
        assert str(info.value) == (
            "fires: 'strat' not triggers; triggers: start, require_action, submit_tool_outputs, "
            "complete, mark_incomplete, fail, cancel, finish_cancel, expire"
        )

    def test_ended_runs_are_frozen(self):
        """The base invariant: every run stays sound, and ended runs stay as they ended."""
        machine = RunLifecycleStateMachine()
        machine.runs.append(follow(("start", "complete")))
        machine.runs_are_sound()
        assert [r.status for r in machine.runs if r.status in TERMINAL] == ["completed"]


class TestSteps:
    @given(run_steps(run_id="run_1"))
    def test_run_steps_are_valid(self, step):
        """A drawn step round-trips in the API's key order, and check finds nothing in it."""
        assert step_to_dict(step_from_dict(step)) == step
        active = to_dict(RunEngine().create(id="run_1", assistant_id="a", thread_id="t", model="m"))
        assert check(active, steps=[step]) == []

    @pytest.mark.parametrize("kind", ["message_creation", "tool_calls"])
    @pytest.mark.parametrize(
        "status", ["in_progress", "completed", "failed", "cancelled", "expired"]
    )
    def test_run_steps_of_a_type_and_status(self, kind, status):
        """run_steps(status=..., type=...) draws only those."""

        @settings(max_examples=10)
        @given(run_steps(status=status, type=kind))
        def inner(step):
            assert (step["type"], step["status"]) == (kind, status)
            assert step["step_details"]["type"] == kind

        inner()

    @pytest.mark.parametrize(
        ("kwargs", "message"),
        [
            (
                {"status": "complete"},
                (
                    "run_steps(status=...): unknown 'complete'; expected one or more of in_progress, "
                    "cancelled, failed, completed, expired"
                ),
            ),
            (
                {"type": ["tool_calls", "code"]},
                (
                    "run_steps(type=...): unknown 'code'; expected one or more of message_creation, "
                    "tool_calls"
                ),
            ),
            (
                {"type": []},
                (
                    "run_steps(type=...): none given; expected one or more of message_creation, "
                    "tool_calls"
                ),
            ),
        ],
    )
    def test_run_steps_bad_arguments(self, kwargs, message):
        with pytest.raises(InvalidArgument) as info:
            run_steps(**kwargs)
        assert str(info.value) == message

    @given(runs())
    def test_runs_carry_their_steps(self, run):
        """A tool_calls step a tool round, at most one open step (none once ended), all sound."""
        assert check(run) == []
        rounds = [m for m in run.history if m.trigger == "require_action"]
        assert len([s for s in run.steps if s.type == "tool_calls"]) == len(rounds)
        open_steps = [s for s in run.steps if s.is_open]
        assert len(open_steps) <= 1
        assert not (open_steps and run.is_terminal)

    def test_runs_write_messages(self):
        """runs() has the model write messages; runs(messages=False) never does."""
        kinds: set[str] = set()

        @settings(max_examples=60, database=None)
        @given(runs(status="completed"), runs(status="completed", messages=False))
        def inner(run, plain):
            kinds.update(s.type for s in run.steps)
            assert all(s.type == "tool_calls" for s in plain.steps)

        inner()
        assert "message_creation" in kinds

    @given(runs(status=["in_progress", "cancelling"]), st.data())
    def test_step_usage_for_fits_the_steps(self, run, data):
        """A usage from step_usage_for passes the usage guard, with the run's steps."""
        for trigger in ("complete", "fail"):
            usage = data.draw(step_usage_for(run, trigger))
            args = {"usage": usage}
            if trigger == "fail":
                args |= {"code": "server_error", "message": "boom"}
            if trigger == "complete" and run.started_at is None:
                continue  # a run cancelled while queued never started: the guard refuses it
            assert run.engine.may(run, trigger, args), (trigger, usage, run.steps)

    @given(runs(status=ACTIVE), st.data())
    def test_step_moves_are_what_the_engine_allows(self, run, data):
        """step_moves(run) names exactly the step moves the engine makes (valid arguments)."""
        allowed = step_moves(run)
        op = data.draw(st.sampled_from(sorted(STEP_OPS)))
        args = data.draw(step_arguments(op))
        try:
            run.engine.fire_step(run, op, args)
        except RunlifeError:
            assert op not in allowed
        else:
            assert op in allowed

    def test_step_moves_without_steps(self):
        """An engine that keeps no steps allows no step move."""
        run = RunEngine(steps=False).create(assistant_id="a", thread_id="t", model="m")
        run.start()
        assert step_moves(run) == []

    def test_step_arguments_of_an_unknown_move(self):
        with pytest.raises(InvalidArgument) as info:
            step_arguments("open_step")
        assert str(info.value) == (
            "step_arguments(): 'open_step' is not a step move; the step moves: "
            "open_message_step, complete_message_step"
        )

    def test_unknown_step_fires(self):
        """step_fires may only name step moves."""

        class Typo(RunLifecycleStateMachine):
            step_fires = frozenset({"open_message_step", "close_message_step"})

        with pytest.raises(InvalidArgument) as info:
            Typo()
        assert str(info.value) == (
            "step_fires: 'close_message_step' not step moves; step moves: open_message_step, "
            "complete_message_step"
        )

    def test_machine_without_steps(self):
        """The machine runs on an engine that keeps no steps: it makes no step move then."""

        class Plain(RunLifecycleStateMachine):
            def __init__(self) -> None:
                super().__init__(engine_factory=lambda clock: RunEngine(clock=clock, steps=False))

            def check_run(self, run):
                assert run.steps == ()

        run_state_machine_as_test(Plain, settings=settings(max_examples=10, database=None))

    def test_a_refusal_that_changes_the_run_is_caught(self):
        """The refusal rule fails when a refused move changes the run (here: its version)."""

        class Leaky(RunEngine):
            def fire_step(self, run: Run, op: str, args: Any = None, /, **kw: Any) -> Any:
                try:
                    return super().fire_step(run, op, args or {}, **kw)
                except RunlifeError:
                    self.update(run, metadata={"leaked": "yes"})  # the bug: a change, then no
                    raise

        class LeakyMachine(RunLifecycleStateMachine):
            def __init__(self) -> None:
                super().__init__(engine_factory=lambda clock: Leaky(clock=clock))

        quick = settings(max_examples=200, database=None, derandomize=True, phases=[Phase.generate])
        with pytest.raises(AssertionError, match="changed the run"):
            run_state_machine_as_test(LeakyMachine, settings=quick)


def test_strategies_docstring_example():
    """The example in runlife.testing.strategies' docstring runs as written."""
    result = doctest.testmod(runlife.testing.strategies)
    assert result.failed == 0
    assert result.attempted >= 4
