"""The engine: creation, stamps, guards, atomic moves, listeners and history."""

from __future__ import annotations

import logging
from typing import Any

import pytest

import runlife
from runlife import (
    FunctionCall,
    GuardRejected,
    IllegalTransition,
    InvalidRun,
    ManualClock,
    RunEngine,
    RunEvent,
    RunStatus,
    ToolCall,
    Usage,
    to_dict,
)
from tests.support import CALL, T0, USAGE, WEATHER_TOOL, new_engine, new_run, run_in


class TestCreate:
    def test_defaults(self):
        """A new run is queued with the API's defaults and expires ttl seconds after creation."""
        engine, _ = new_engine()
        run = engine.create(assistant_id="asst_1", thread_id="thread_1", model="gpt-4o")
        d = to_dict(run)
        assert d["status"] == "queued"
        assert d["object"] == "thread.run"
        assert d["created_at"] == T0
        assert d["expires_at"] == T0 + 600
        assert d["tools"] == []
        assert d["metadata"] == {}
        assert d["tool_choice"] == "auto"
        assert d["parallel_tool_calls"] is True
        assert d["truncation_strategy"] == {"type": "auto", "last_messages": None}
        assert d["response_format"] == "auto"
        assert d["instructions"] == ""
        for key in ("temperature", "top_p", "max_prompt_tokens", "max_completion_tokens"):
            assert d[key] is None
        for key in (
            "started_at",
            "cancelled_at",
            "failed_at",
            "completed_at",
            "required_action",
            "last_error",
            "incomplete_details",
            "usage",
        ):
            assert d[key] is None
        assert run.id.startswith("run_")
        assert len(run.id) == 4 + 24

    def test_ids_are_unique(self):
        """Generated ids differ."""
        engine, _ = new_engine()
        ids = {engine.create(assistant_id="a", thread_id="t", model="m").id for _ in range(200)}
        assert len(ids) == 200

    def test_ttl(self):
        """expires_at is created_at + the engine's ttl."""
        engine, _ = new_engine(ttl=30)
        assert new_run(engine).expires_at == T0 + 30

    def test_attrs_classes_accepted(self):
        """Nested fields may be the record's attrs classes instead of wire dicts."""
        engine, _ = new_engine()
        tool = runlife.FunctionTool(function=runlife.FunctionDefinition(name="f"))
        run = new_run(
            engine,
            tools=[tool],
            truncation_strategy=runlife.TruncationStrategy(type="last_messages", last_messages=3),
        )
        assert to_dict(run)["tools"] == [{"type": "function", "function": {"name": "f"}}]
        assert to_dict(run)["truncation_strategy"] == {"type": "last_messages", "last_messages": 3}

    def test_every_problem_at_once(self):
        """create() lists every problem, each with its path."""
        engine, _ = new_engine()
        with pytest.raises(InvalidRun) as info:
            engine.create(
                assistant_id="a",
                model="m",
                status="completed",
                toolz=[],
                temperature=3,
                metadata={"k": 1},
                max_prompt_tokens=16,
            )
        assert str(info.value).splitlines() == [
            "invalid run:",
            "$.status: set by the engine, not by create(): runs start queued",
            "$.toolz: unknown field; did you mean 'tools'? (put unknown keys in extra=)",
            "$.thread_id: missing",
        ]
        with pytest.raises(InvalidRun) as info:
            engine.create(
                assistant_id="a",
                thread_id="t",
                model="m",
                temperature=3,
                metadata={"k": 1},
                max_prompt_tokens=0,
            )
        paths = [p for p, _ in info.value.errors]
        assert paths == ["$.max_prompt_tokens", "$.metadata.k", "$.temperature"] or sorted(
            paths
        ) == sorted(["$.max_prompt_tokens", "$.metadata.k", "$.temperature"])

    @pytest.mark.parametrize(
        ("field", "value"),
        [
            ("tools", [{"type": "retrieval"}]),
            ("tools", [{"type": "function", "function": {"name": "f"}}] * 21),
            ("metadata", {str(i): "v" for i in range(17)}),
            ("metadata", {"k" * 65: "v"}),
            ("metadata", {"k": "v" * 513}),
            ("top_p", 1.5),
            ("temperature", -0.1),
            ("truncation_strategy", {"type": "last_messages", "last_messages": 0}),
            ("tool_choice", "sometimes"),
            ("tool_choice", None),
            ("response_format", {"type": "yaml"}),
            ("max_completion_tokens", 0),
            ("max_prompt_tokens", -1),
            ("instructions", "x" * 256_001),
            ("tool_choice", {"type": "function", "function": {"name": "f"}}),
            ("tool_choice", {"type": "code_interpreter"}),
            ("metadata", None),
            ("assistant_id", 5),
            ("parallel_tool_calls", "yes"),
        ],
    )
    def test_rules_enforced(self, field: str, value: Any):
        """create() refuses every documented rule break, naming the field."""
        engine, _ = new_engine()
        with pytest.raises(InvalidRun) as info:
            new_run(engine, **{field: value})
        assert all(p.startswith(f"$.{field}") for p, _ in info.value.errors), info.value.errors

    def test_extra_keys_written_after(self):
        """Unknown keys go through extra= and are written after the known ones, but for
        tool_resources and reasoning_effort, written at their API position."""
        engine, _ = new_engine()
        run = new_run(engine, extra={"x": 1, "tool_resources": {}, "reasoning_effort": None})
        keys = list(to_dict(run))
        assert keys[-1] == "x"
        assert keys[keys.index("tools") + 1] == "tool_resources"
        assert keys[keys.index("top_p") + 1] == "reasoning_effort"
        with pytest.raises(InvalidRun, match=r"extra\.model: a known field"):
            new_run(engine, extra={"model": "x"})

    def test_bad_clock(self):
        """A clock returning a non-int is refused with the stamp's path."""
        engine = RunEngine(clock=lambda: 1.5)  # type: ignore[arg-type]
        with pytest.raises(
            InvalidRun, match=r"^invalid run: \$\.created_at: the clock returned 1.5"
        ):
            new_run(engine)

    @pytest.mark.parametrize("ttl", [0, -1, 1.5, True, "600"])
    def test_bad_ttl(self, ttl: Any):
        """ttl must be a positive int."""
        with pytest.raises(InvalidRun, match="ttl: expected an int of seconds > 0"):
            RunEngine(ttl=ttl)


class TestStamps:
    def test_full_tool_round_trip(self):
        """started_at is re-stamped on every start; expires_at is kept until a terminal status."""
        engine, clock = new_engine()
        run = new_run(engine)
        clock.advance(1)
        run.start()
        assert run.started_at == T0 + 1
        clock.advance(1)
        run.require_action([CALL])
        assert run.required_action is not None
        clock.advance(5)
        run.submit_tool_outputs([{"tool_call_id": "call_1", "output": "sunny"}])
        assert (run.status, run.required_action, run.started_at) == ("queued", None, T0 + 1)
        assert run.expires_at == T0 + 600
        clock.advance(2)
        run.start()
        assert run.started_at == T0 + 9
        clock.advance(1)
        run.complete(USAGE)
        assert (run.completed_at, run.expires_at) == (T0 + 10, None)
        assert run.usage == Usage(prompt_tokens=10, completion_tokens=5, total_tokens=15)
        assert [m.trigger for m in run.history] == [
            "start",
            "require_action",
            "submit_tool_outputs",
            "start",
            "complete",
        ]

    def test_clamped_when_clock_goes_back(self):
        """A clock that goes backwards cannot make a stamp earlier than created_at or started_at."""
        times = iter([100, 90, 80])
        engine = RunEngine(clock=lambda: next(times))
        run = new_run(engine)
        run.start()
        assert run.started_at == 100
        run.complete()
        assert run.completed_at == 100
        assert runlife.check(run) == []

    @pytest.mark.parametrize(
        ("status", "trigger", "args", "field"),
        [
            (RunStatus.IN_PROGRESS, "fail", {"code": "server_error", "message": "x"}, "failed_at"),
            (RunStatus.CANCELLING, "finish_cancel", {}, "cancelled_at"),
            (
                RunStatus.IN_PROGRESS,
                "mark_incomplete",
                {"reason": "max_completion_tokens"},
                "completed_at",
            ),
        ],
    )
    def test_end_stamps(self, status, trigger, args, field):
        """Each terminal move stamps its field and nulls expires_at."""
        engine, clock = new_engine()
        run = run_in(status, engine, clock)
        clock.advance(3)
        getattr(run, trigger)(**args)
        assert getattr(run, field) == clock()
        assert run.expires_at is None

    def test_expire_guard(self):
        """expire() waits for expires_at, then clears required_action."""
        engine, clock = new_engine()
        run = run_in(RunStatus.REQUIRES_ACTION, engine, clock)
        assert not run.may_expire()
        with pytest.raises(GuardRejected) as info:
            run.expire()
        assert str(info.value) == (
            f"expire() refused for run run_abc: expires_at: the run expires at {T0 + 600}, "
            f"and it is {T0 + 2}: not due yet"
        )
        clock.set(T0 + 600)
        run.expire()
        assert (run.status, run.required_action, run.expires_at) == ("expired", None, None)


class TestGuards:
    def test_require_action_messages(self):
        """require_action() names every offending call at once."""
        engine, clock = new_engine()
        run = run_in(RunStatus.IN_PROGRESS, engine, clock, parallel_tool_calls=False)
        bad = [
            CALL,
            {**CALL, "function": {"name": "nope", "arguments": "{}"}},
            {**CALL, "id": ""},
        ]
        with pytest.raises(GuardRejected) as info:
            run.require_action(bad)
        assert str(info.value).splitlines() == [
            "require_action() refused for run run_abc:",
            "tool_calls[1].id: duplicate tool call id 'call_1'",
            "tool_calls[1].function.name: 'nope' is not a function declared in the run's tools (declared: get_weather)",
            "tool_calls[2].id: expected a non-empty string, got str ''",
            "tool_calls: 3 calls, but parallel_tool_calls is false: at most 1",
        ]
        assert info.value.problems[0] == ("tool_calls[1].id", "duplicate tool call id 'call_1'")

    def test_require_action_accepts_attrs(self):
        """ToolCall instances are accepted like wire dicts; arguments are kept as given."""
        engine, clock = new_engine()
        run = run_in(RunStatus.IN_PROGRESS, engine, clock)
        run.require_action(
            [ToolCall(id="c", function=FunctionCall(name="get_weather", arguments="{bad"))]
        )
        assert (
            to_dict(run)["required_action"]["submit_tool_outputs"]["tool_calls"][0]["function"][
                "arguments"
            ]
            == "{bad"
        )

    @pytest.mark.parametrize(
        ("kwargs", "message"),
        [
            ({"tool_calls": []}, "tool_calls: expected at least one tool call, got an empty list"),
            ({"tool_calls": "x"}, "tool_calls: expected a list of tool calls, got str 'x'"),
            ({"tool_calls": [{"id": "c", "type": "function"}]}, "tool_calls[0].function: missing"),
        ],
    )
    def test_require_action_shapes(self, kwargs, message):
        """Malformed tool calls are refused with their path."""
        engine, clock = new_engine()
        run = run_in(RunStatus.IN_PROGRESS, engine, clock)
        with pytest.raises(GuardRejected) as info:
            run.require_action(**kwargs)
        assert str(info.value) == f"require_action() refused for run run_abc: {message}"

    def test_tool_choice_none(self):
        """A run whose tool_choice is none cannot ask for tool calls."""
        engine, clock = new_engine()
        run = run_in(RunStatus.IN_PROGRESS, engine, clock, tool_choice="none")
        with pytest.raises(GuardRejected, match="tool_choice is 'none'"):
            run.require_action([CALL])

    def test_submit_names_ids(self):
        """submit_tool_outputs() names missing, unknown and repeated ids."""
        engine, clock = new_engine()
        run = run_in(RunStatus.IN_PROGRESS, engine, clock)
        run.require_action([CALL, {**CALL, "id": "call_2"}])
        with pytest.raises(GuardRejected) as info:
            run.submit_tool_outputs(
                [
                    {"tool_call_id": "call_1", "output": "a"},
                    {"tool_call_id": "call_1", "output": "b"},
                    {"tool_call_id": "call_9", "output": "c"},
                ]
            )
        assert str(info.value).splitlines()[1:] == [
            "tool_outputs: missing outputs for pending calls call_2",
            "tool_outputs: outputs for unknown calls call_9 (pending: call_1, call_2)",
            "tool_outputs: more than one output for calls call_1",
        ]

    @pytest.mark.parametrize(
        ("usage", "message"),
        [
            (
                {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 3},
                "usage.total_tokens: expected prompt_tokens + completion_tokens = 1 + 1 = 2, got 3",
            ),
            (
                {"prompt_tokens": -1, "completion_tokens": 1, "total_tokens": 0},
                "usage.prompt_tokens: expected an int >= 0, got int -1",
            ),
            (
                {"prompt_tokens": True, "completion_tokens": 1, "total_tokens": 2},
                "usage.prompt_tokens: expected an int >= 0, got bool True",
            ),
            ({"prompt_tokens": 1, "completion_tokens": 1}, "usage.total_tokens: missing"),
        ],
    )
    def test_usage(self, usage, message):
        """Bad usage is refused with the exact problem."""
        engine, clock = new_engine()
        run = run_in(RunStatus.IN_PROGRESS, engine, clock)
        with pytest.raises(GuardRejected) as info:
            run.complete(usage)
        assert str(info.value) == f"complete() refused for run run_abc: {message}"

    def test_never_started_cannot_complete(self):
        """A run cancelled while queued can only end cancelled, failed or expired."""
        engine, clock = new_engine()
        run = run_in(RunStatus.QUEUED, engine, clock)
        run.cancel()
        assert not run.may_complete()
        with pytest.raises(GuardRejected, match="never started"):
            run.complete()
        run.fail("server_error", "gave up")
        assert run.status == "failed"

    def test_incomplete_needs_limit(self):
        """mark_incomplete() needs the run to have the limit it ran out of."""
        engine, clock = new_engine()
        run = run_in(RunStatus.IN_PROGRESS, engine, clock)
        with pytest.raises(GuardRejected) as info:
            run.mark_incomplete("max_prompt_tokens")
        assert str(info.value) == (
            "mark_incomplete() refused for run run_abc: reason: the run has no max_prompt_tokens "
            "limit set, so it cannot run out of it"
        )

    def test_fail_code(self):
        """fail() accepts only the documented codes."""
        engine, clock = new_engine()
        run = run_in(RunStatus.QUEUED, engine, clock)
        with pytest.raises(GuardRejected) as info:
            run.fail("oops", 3)  # type: ignore[arg-type]
        assert str(info.value).splitlines()[1:] == [
            "code: expected one of server_error, rate_limit_exceeded, invalid_prompt, got str 'oops'",
            "message: expected a string, got int 3",
        ]


class TestAtomicity:
    def test_failing_commit_restores(self, monkeypatch):
        """If anything raises inside the commit, the run is restored exactly."""
        engine, clock = new_engine()
        run = run_in(RunStatus.IN_PROGRESS, engine, clock)
        before = to_dict(run)

        class Boom(list):  # type: ignore[type-arg]
            def append(self, _: object) -> None:
                raise MemoryError

        run._state.history = Boom([run.history[0]]) if run.history else Boom()
        with pytest.raises(MemoryError):
            run.complete(USAGE)
        assert to_dict(run) == before

    def test_failing_clock_changes_nothing(self):
        """A clock that raises leaves the run as it was."""
        state = {"fail": False}

        def clock() -> int:
            if state["fail"]:
                raise RuntimeError("clock down")
            return T0

        engine = RunEngine(clock=clock)
        run = new_run(engine)
        before = to_dict(run)
        state["fail"] = True
        with pytest.raises(RuntimeError):
            run.start()
        assert to_dict(run) == before


class TestListeners:
    def test_events(self):
        """Each move delivers one event named like the API's stream events."""
        engine, clock = new_engine()
        events: list[RunEvent] = []
        unsubscribe = engine.subscribe(events.append)
        run = new_run(engine)
        clock.advance(1)
        run.start()
        assert [e.event for e in events] == ["thread.run.created", "thread.run.in_progress"]
        created, started = events
        assert (created.trigger, created.source, created.at) == (None, None, T0)
        assert (started.trigger, started.source, started.at) == ("start", "queued", T0 + 1)
        assert started.data == to_dict(run)
        unsubscribe()
        run.cancel()
        assert len(events) == 2

    def test_listener_errors_are_isolated(self, caplog):
        """A failing listener never undoes the move nor reaches the caller; it is logged and reported."""
        seen: list[tuple[str, str]] = []
        engine = RunEngine(
            clock=ManualClock(T0), on_listener_error=lambda e, x: seen.append((e.event, str(x)))
        )

        def bad(_: RunEvent) -> None:
            raise ValueError("listener broke")

        engine.subscribe(bad)
        run = new_run(engine)
        with caplog.at_level(logging.ERROR, logger="runlife"):
            run.start()
        assert run.status == "in_progress"
        assert seen == [
            ("thread.run.created", "listener broke"),
            ("thread.run.in_progress", "listener broke"),
        ]
        assert "run_abc" in caplog.text

    def test_no_listener_no_event_cost(self, monkeypatch):
        """With nobody listening, no event (and no wire dict) is built."""
        import runlife._engine as eng

        def boom(*_: Any) -> None:
            raise AssertionError("an event was built")

        monkeypatch.setattr(eng, "RunEvent", boom)
        engine, _clock = new_engine()
        run = new_run(engine)
        run.start()
        assert run.status == "in_progress"


def test_illegal_after_terminal() -> None:
    """Terminal runs refuse every trigger."""
    engine, clock = new_engine()
    run = run_in(RunStatus.COMPLETED, engine, clock)
    with pytest.raises(IllegalTransition, match="completed is terminal: nothing leaves it"):
        run.cancel()


def test_weather_tool_fixture_is_valid() -> None:
    """The support tool is a valid function tool (guards the fixtures)."""
    assert runlife.check({**to_dict(new_run(new_engine()[0])), "tools": [WEATHER_TOOL]}) == []
