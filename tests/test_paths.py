"""Paths through the lifecycle: computed from the table, replayed on real runs."""

from __future__ import annotations

import doctest

import pytest
from transitions import Machine

import runlife
import runlife.paths
from runlife import (
    TERMINAL,
    TRANSITIONS,
    GuardRejected,
    IllegalTransition,
    ManualClock,
    RunEngine,
    RunStatus,
    SystemClock,
)
from runlife._table import machine_config
from runlife.paths import (
    REPLAY_START,
    Step,
    arguments_for,
    follow,
    new_replay_run,
    shortest_paths,
    simple_paths,
    steps,
    transition_cover,
)

#: Every (status, trigger) pair the table allows.
TABLE = {(s, t.trigger) for t in TRANSITIONS for s in t.sources}


def ids(path: tuple[str, ...]) -> str:
    return ">".join(path) or "(empty)"


class _Model:
    state = "queued"


def machine_walk(path: tuple[str, ...]) -> str:
    """Where the transitions machine built from the table takes a model along *path*."""
    model = _Model()
    Machine(model=model, **machine_config())
    for trigger in path:
        getattr(model, trigger)()
    return model.state


class TestShortestPaths:
    def test_expected(self):
        """The shortest path to each status, ties broken by the table's order."""
        assert shortest_paths() == {
            "queued": (),
            "in_progress": ("start",),
            "requires_action": ("start", "require_action"),
            "cancelling": ("cancel",),
            "cancelled": ("cancel", "finish_cancel"),
            "failed": ("fail",),
            "completed": ("start", "complete"),
            "incomplete": ("start", "mark_incomplete"),
            "expired": ("expire",),
        }

    @pytest.mark.parametrize("status", list(RunStatus), ids=str)
    def test_replays_to_its_status(self, status):
        """Each path takes a real run, and the transitions machine, to its status."""
        path = shortest_paths()[status]
        run = follow(path)
        assert run.status == status
        assert machine_walk(path) == status.value
        assert [m.trigger for m in run.history] == list(path)
        assert runlife.check(run) == []

    def test_no_shorter_path(self):
        """No simple path reaches a status in fewer moves."""
        for path in simple_paths():
            dest = steps(path)[-1].dest if path else RunStatus.QUEUED
            assert len(shortest_paths()[dest]) <= len(path)


class TestTransitionCover:
    def test_covers_every_transition(self):
        """Between them, the paths make every (status, trigger) pair of the table."""
        made = {(s.source, s.trigger) for path in transition_cover() for s in steps(path)}
        assert made == TABLE

    def test_as_few_paths_as_possible(self):
        """One path per transition into a terminal status: a run makes only one such move."""
        into_terminal = {
            (s, t.trigger) for t in TRANSITIONS for s in t.sources if t.dest in TERMINAL
        }
        assert len(transition_cover()) == len(into_terminal) == 12

    def test_expected(self):
        """The cover, shortest first; the tool-call loop is folded into one path."""
        assert transition_cover() == (
            ("fail",),
            ("expire",),
            ("start", "mark_incomplete"),
            ("start", "fail"),
            ("start", "expire"),
            ("cancel", "fail"),
            ("cancel", "finish_cancel"),
            ("cancel", "expire"),
            ("start", "require_action", "expire"),
            ("start", "cancel", "complete"),
            ("start", "require_action", "cancel", "mark_incomplete"),
            ("start", "require_action", "submit_tool_outputs", "start", "complete"),
        )

    @pytest.mark.parametrize("path", transition_cover(), ids=ids)
    def test_replays(self, path):
        """Each path replays on a real run and ends in a terminal status, invariants intact."""
        run = new_replay_run()
        for trigger in path:
            follow((trigger,), run)
            assert runlife.check(run) == [], (trigger, runlife.check(run))
        assert run.status in TERMINAL
        assert run.status == steps(path)[-1].dest == machine_walk(path)


class TestSimplePaths:
    def test_all(self):
        """The empty path first, then by length; no status twice, so no tool-output loop."""
        paths = simple_paths()
        assert paths[0] == ()
        assert [len(p) for p in paths] == sorted(len(p) for p in paths)
        assert len(paths) == len(set(paths)) == 26
        for path in paths:
            statuses = [RunStatus.QUEUED] + [s.dest for s in steps(path)]
            assert len(statuses) == len(set(statuses)), path
            assert "submit_tool_outputs" not in path

    def test_max_length(self):
        """max_length keeps the paths of at most that many moves."""
        assert simple_paths(max_length=0) == ((),)
        assert simple_paths(max_length=1) == ((), ("start",), ("fail",), ("cancel",), ("expire",))
        assert simple_paths(max_length=99) == simple_paths()

    def test_never_started_runs_do_not_complete(self):
        """cancel -> complete is in the table, but a guard refuses it: it is on no path."""
        assert ("cancel", "complete") not in simple_paths()
        assert ("start", "cancel", "complete") in simple_paths()

    @pytest.mark.parametrize("path", simple_paths(), ids=ids)
    def test_replays(self, path):
        """Every simple path replays on a real run that stays sound."""
        run = follow(path)
        assert run.status == (steps(path)[-1].dest if path else RunStatus.QUEUED)
        assert runlife.check(run) == []

    @pytest.mark.parametrize("bad", [-1, 1.5, "2", True])
    def test_bad_max_length(self, bad):
        """A max_length that is not an int >= 0 is refused, naming the value."""
        with pytest.raises(ValueError) as info:
            simple_paths(max_length=bad)
        assert str(info.value) == f"max_length: expected None or an int >= 0, got {bad!r}"


class TestSteps:
    def test_steps(self):
        """Each step names the source, the trigger and the destination."""
        assert steps(("start", "cancel")) == (
            Step(RunStatus.QUEUED, "start", RunStatus.IN_PROGRESS),
            Step(RunStatus.IN_PROGRESS, "cancel", RunStatus.CANCELLING),
        )

    def test_unknown_trigger(self):
        """An unknown name is refused with its position and the triggers."""
        with pytest.raises(ValueError) as info:
            steps(("start", "strat"))
        assert str(info.value) == (
            "path[1]: 'strat' is not a trigger; triggers: start, require_action, "
            "submit_tool_outputs, complete, mark_incomplete, fail, cancel, finish_cancel, expire"
        )

    def test_illegal_move(self):
        """A move the table forbids is refused with what the status allows."""
        with pytest.raises(ValueError) as info:
            steps(("complete",))
        assert str(info.value) == (
            "path[0]: complete is not allowed from queued; it allows start, fail, cancel, expire"
        )
        with pytest.raises(ValueError) as info:
            steps(("fail", "start"))
        assert str(info.value) == (
            "path[1]: start is not allowed from failed; it allows nothing (it is terminal)"
        )


class TestReplay:
    def test_new_replay_run(self):
        """The replay run is queued, at REPLAY_START, on a ManualClock; fields override."""
        run = new_replay_run(id="run_mine")
        assert (run.id, run.status, run.created_at) == ("run_mine", "queued", REPLAY_START)
        assert isinstance(run.engine.clock, ManualClock)

    def test_step_and_expire(self):
        """The clock advances by step before each move, and to expires_at before expire."""
        run = follow(("start", "require_action", "expire"), step=2)
        assert run.started_at == REPLAY_START + 2
        assert [m.at for m in run.history] == [
            REPLAY_START + 2,
            REPLAY_START + 4,
            REPLAY_START + 600,
        ]
        assert follow(("start", "complete"), step=0).completed_at == REPLAY_START

    def test_on_a_users_run(self):
        """A path continues from wherever the given run is."""
        clock = ManualClock(100)
        engine = RunEngine(clock=clock, ttl=60)
        run = engine.create(
            assistant_id="a",
            thread_id="t",
            model="m",
            tools=[{"type": "function", "function": {"name": "f"}}],
            max_prompt_tokens=300,
        )
        follow(("start",), run)
        follow(("require_action", "submit_tool_outputs", "start", "mark_incomplete"), run)
        assert run.status == "incomplete"
        assert run.incomplete_details is not None
        assert run.incomplete_details.reason == "max_prompt_tokens"

    def test_illegal_path(self):
        """An illegal move raises the engine's own IllegalTransition."""
        with pytest.raises(IllegalTransition):
            follow(("complete",))

    def test_guard_rejection_is_noted(self):
        """A guard's refusal says where in the path it happened."""
        with pytest.raises(GuardRejected) as info:
            follow(("cancel", "complete"))
        assert info.value.__notes__ == [
            "while following path[1] of ('cancel', 'complete')",
        ]

    def test_needs_a_manual_clock(self):
        """A run whose engine has another clock is refused: replay has to move time."""
        run = RunEngine(clock=SystemClock()).create(assistant_id="a", thread_id="t", model="m")
        with pytest.raises(TypeError) as info:
            follow(("start",), run)
        assert str(info.value) == (
            "follow() needs a run whose engine has a ManualClock (it moves time), "
            "got an engine with SystemClock()"
        )


class TestArgumentsFor:
    def test_every_trigger(self):
        """Arguments pass the guards of each trigger on the replay run."""
        run = follow(("start",))
        assert run.may_require_action(**arguments_for(run, "require_action"))
        assert run.may_complete(**arguments_for(run, "complete"))
        assert run.may_mark_incomplete(**arguments_for(run, "mark_incomplete"))
        assert run.may_fail(**arguments_for(run, "fail"))
        assert arguments_for(run, "cancel") == {}

    def test_outputs_for_the_pending_calls(self):
        """submit_tool_outputs answers exactly the pending calls."""
        run = follow(("start", "require_action"))
        assert arguments_for(run, "submit_tool_outputs") == {
            "tool_outputs": [{"tool_call_id": "call_1", "output": "ok"}]
        }

    @pytest.mark.parametrize(
        ("fields", "trigger", "message"),
        [
            (
                {"tools": []},
                "require_action",
                "run run_replay declares no function tool, so it cannot ask for tool calls",
            ),
            (
                {"tool_choice": "none"},
                "require_action",
                "run run_replay has tool_choice 'none', so it cannot ask for tool calls",
            ),
            (
                {"max_prompt_tokens": None, "max_completion_tokens": None},
                "mark_incomplete",
                "run run_replay has no token limit set, so it cannot run out of tokens",
            ),
            (
                {},
                "finish",
                (
                    "'finish' is not a trigger; triggers: start, require_action, submit_tool_outputs, "
                    "complete, mark_incomplete, fail, cancel, finish_cancel, expire"
                ),
            ),
        ],
        ids=["no-tools", "tool-choice-none", "no-limit", "unknown"],
    )
    def test_impossible(self, fields, trigger, message):
        """A run that cannot take the trigger with any arguments is refused, saying why."""
        with pytest.raises(ValueError) as info:
            arguments_for(new_replay_run(**fields), trigger)
        assert str(info.value) == message


def test_docstring_examples():
    """The examples in runlife.paths' docstrings run as written."""
    result = doctest.testmod(runlife.paths)
    assert result.failed == 0
    assert result.attempted >= 7
