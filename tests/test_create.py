"""``RunEngine.create``: the one-pass path for sound function tools, and values of other types."""

from __future__ import annotations

import enum
from collections import OrderedDict
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from runlife import (
    FileSearchTool,
    FunctionTool,
    InvalidRun,
    ManualClock,
    ResponseFormat,
    Run,
    RunEngine,
    RunEvent,
    TruncationStrategy,
    check,
    to_dict,
)
from runlife._create import _sound_function_tool
from runlife._decode import decode_tool as _s_tool
from runlife._live import LiveRuns
from runlife._structure import field_problems
from tests.support import T0, new_engine, new_run

_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=5),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=8,
)
_names = st.sampled_from(
    ["lookup", "get_weather", "A-z_0-9", "", "x" * 64, "x" * 65, "bad name", "é"]
)
_any = _json | st.integers() | st.just(True) | st.just(1) | st.just(1.0)


@st.composite
def function_tools(draw: st.DrawFn) -> Any:
    """Function tools, mostly near the sound shape, often one step off it."""
    function: dict[Any, Any] = {}
    if draw(st.booleans()) or draw(st.booleans()):
        function["name"] = draw(_names | _any)
    for key, value in (
        ("description", st.text(max_size=10) | _any),
        ("parameters", st.just({"type": "object", "required": ["q"]}) | _any),
        ("strict", st.none() | st.booleans() | _any),
        ("extra_key", _any),
    ):
        if draw(st.integers(0, 3)) == 0:
            function[key] = draw(value)
    tool: dict[Any, Any] = {"type": draw(st.sampled_from(["function", "function", "file_search"]))}
    if draw(st.integers(0, 9)):
        tool["function"] = function if draw(st.integers(0, 9)) else draw(_any)
    if draw(st.integers(0, 9)) == 0:
        tool["x_other"] = draw(_any)
    return tool


@given(function_tools())
def test_the_fast_path_builds_exactly_what_the_general_path_builds(tool):
    """A tool the fast path takes is sound and built alike; what it declines goes the general way."""
    fast = _sound_function_tool(tool)
    if fast is not None:
        assert not field_problems("tools", [tool])
        assert fast == _s_tool(tool)


@pytest.mark.parametrize(
    "function",
    [
        {"name": "lookup"},
        {"name": "get_weather", "description": "", "parameters": {}, "strict": None},
        {"name": "A-z_0-9" + "x" * 57, "parameters": {"type": "object"}, "strict": True},
    ],
)
def test_sound_function_tools_take_the_fast_path(function):
    """The usual tools are taken in one pass."""
    tool = {"type": "function", "function": function}
    assert _sound_function_tool(tool) == _s_tool(tool)


@pytest.mark.parametrize(
    "tool",
    [
        {"type": "function", "function": {"name": "bad name"}},
        {"type": "function", "function": {"name": "x" * 65}},
        {"type": "function", "function": {"name": "f", "strict": 1}},
        {"type": "function", "function": {"name": "f", "parameters": []}},
        {"type": "function", "function": {"name": "f", "x_new": 1}},
        {"type": "function", "function": {"name": "f"}, "x_new": 1},
        {"type": "code_interpreter"},
    ],
)
def test_anything_else_goes_the_general_way(tool):
    """Rule breaks and unknown keys are left to the general path, which names them or keeps them."""
    assert _sound_function_tool(tool) is None


def test_the_fast_path_copies_parameters():
    """The record shares nothing with the caller's tool."""
    q: dict[str, Any] = {"type": "string"}
    parameters = {"type": "object", "properties": {"q": q}}
    tool = {"type": "function", "function": {"name": "lookup", "parameters": parameters}}
    made = _sound_function_tool(tool)
    assert isinstance(made, FunctionTool)
    q["type"] = "number"
    assert made.function.parameters == {"type": "object", "properties": {"q": {"type": "string"}}}


class TestGivenAsOtherTypes:
    """Tuples, subclasses of dict and the record's classes are judged and kept as plain JSON."""

    def test_a_rule_break_inside_a_tuple_is_named(self):
        engine, _ = new_engine()
        with pytest.raises(InvalidRun) as info:
            new_run(engine, tools=({"type": "function", "function": {"name": "bad name"}},))
        assert info.value.errors == [
            (
                "$.tools[0].function.name",
                "expected 1 to 64 characters of a-z, A-Z, 0-9, _ and -, got str 'bad name'",
            )
        ]

    def test_a_rule_break_inside_a_record_class_is_named(self):
        engine, _ = new_engine()
        with pytest.raises(InvalidRun, match=r"\$\.truncation_strategy\.type: expected one of"):
            new_run(engine, truncation_strategy=TruncationStrategy(type="bogus"))

    def test_mappings_are_copied_into_plain_dicts(self):
        """A dict subclass is copied, not kept: the run shares nothing with its caller."""
        engine, _ = new_engine()
        metadata = OrderedDict(k="v")
        schema = OrderedDict(name="s", schema={"type": "object"})
        run = new_run(
            engine,
            metadata=metadata,
            response_format={"type": "json_schema", "json_schema": schema},
            tools=[{"type": "file_search", "file_search": OrderedDict(max_num_results=3)}],
        )
        metadata.update({f"k{i}": "v" for i in range(20)})
        schema["name"] = "changed"
        assert isinstance(run.metadata, dict)
        assert run.metadata == {"k": "v"}
        with pytest.raises(TypeError, match="read-only"):
            run.metadata["x"] = "y"
        assert isinstance(run.response_format, ResponseFormat)
        assert run.response_format.json_schema == {"name": "s", "schema": {"type": "object"}}
        assert isinstance(run.tools[0], FileSearchTool)
        assert check(run) == []
        to_dict(run)["metadata"]["x"] = "y"
        assert run.metadata == {"k": "v"}

    def test_enum_members_become_their_values(self):
        """A StrEnum or IntEnum member is written as the JSON string or number it stands for."""

        class Choice(enum.StrEnum):
            AUTO = "auto"

        class Limit(enum.IntEnum):
            SMALL = 256

        engine, _ = new_engine()
        run = new_run(
            engine,
            tool_choice=Choice.AUTO,
            response_format=Choice.AUTO,
            model=Choice.AUTO,
            max_prompt_tokens=Limit.SMALL,
        )
        wire = to_dict(run)
        for key, value in [
            ("tool_choice", "auto"),
            ("response_format", "auto"),
            ("model", "auto"),
            ("max_prompt_tokens", 256),
        ]:
            assert wire[key] == value
            assert type(wire[key]) is type(value)


def test_the_created_event_is_the_run_as_created(monkeypatch: pytest.MonkeyPatch) -> None:
    """Another thread that finds the new run in the engine's index cannot move the event's data.

    The index is where other threads find a run (``active_run``, ``expire_due``); the event's
    snapshot is taken before the run goes in.
    """
    engine = RunEngine(clock=ManualClock(T0), one_active_run_per_thread=True)
    events: list[RunEvent] = []
    engine.subscribe(events.append)
    adopt = LiveRuns.adopt

    def adopt_then_move(self: LiveRuns, run: Run, action: str) -> None:
        adopt(self, run, action)
        found = engine.active_run(run.thread_id)  # what another thread could do now
        assert found is run
        found.start()

    monkeypatch.setattr(LiveRuns, "adopt", adopt_then_move)
    run = new_run(engine)
    assert run.status == "in_progress"
    # Delivered in either order (two threads), told apart by version.
    assert sorted((e.version, e.event, e.data["status"]) for e in events) == [
        (0, "thread.run.created", "queued"),
        (1, "thread.run.in_progress", "in_progress"),
    ]


# --- no stricter than the live API, no laxer -------------------------------------------------

_F = {"type": "function", "function": {"name": "f"}}
_G = {"type": "function", "function": {"name": "g"}}


class TestAsTheLiveApi:
    @pytest.mark.parametrize("field", ["max_completion_tokens", "max_prompt_tokens"])
    @pytest.mark.parametrize("value", [1, 16, 255])
    def test_small_token_limits_are_accepted_and_reported(self, field: str, value: int):
        """A token limit below the documented 256 but >= 1 is accepted (live recordings show
        16), and check() reports it as a rule warning."""
        engine, _ = new_engine()
        run = new_run(engine, **{field: value})
        assert getattr(run, field) == value
        assert [(f.kind, f.code, f.path) for f in check(run)] == [
            ("rule", "below-documented-minimum", f"$.{field}")
        ]

    @pytest.mark.parametrize(
        ("fields", "line"),
        [
            (
                {"max_completion_tokens": 0},
                "$.max_completion_tokens: expected null or an int >= 1, got int 0",
            ),
            (
                {"tools": [], "tool_choice": "required"},
                "$.tool_choice: 'required' needs at least one tool; the run has none",
            ),
            (
                {"tools": [_G], "tool_choice": {"type": "function", "function": {"name": "f"}}},
                (
                    "$.tool_choice.function.name: function 'f' is not in the run's tools "
                    "(its functions: g)"
                ),
            ),
            (
                {"tools": [_G], "tool_choice": {"type": "file_search"}},
                "$.tool_choice.type: tool choice 'file_search' is not a tool of the run",
            ),
            (
                {"tools": [_F, _G, _F]},
                (
                    "$.tools[2].function.name: duplicate function name 'f' (also tools[0]); "
                    "function names must be unique"
                ),
            ),
            (
                {"instructions": "x" * 256_001},
                "$.instructions: expected at most 256,000 characters, got 256,001",
            ),
        ],
        ids=["zero-limit", "required-no-tools", "choice-unknown", "choice-type", "dup", "long"],
    )
    def test_what_the_api_refuses_is_refused(self, fields: dict[str, Any], line: str):
        """create() refuses what the API refuses, with the field's path, and makes no run."""
        engine, _ = new_engine()
        events: list[RunEvent] = []
        engine.subscribe(events.append)
        with pytest.raises(InvalidRun) as info:
            engine.create(id="run_x", assistant_id="a", thread_id="t", model="m", **fields)
        assert str(info.value) == f"invalid run run_x: {line}"
        assert events == []

    @pytest.mark.parametrize(
        "fields",
        [
            {"tools": [_F], "tool_choice": "required"},
            {"tools": [_F, _G], "tool_choice": {"type": "function", "function": {"name": "g"}}},
            {"tools": [{"type": "file_search"}], "tool_choice": {"type": "file_search"}},
            {"tools": [], "tool_choice": "none"},
            {"instructions": "x" * 256_000},
        ],
    )
    def test_what_the_api_accepts_is_accepted(self, fields: dict[str, Any]):
        """The edges the API accepts make a sound run."""
        engine, _ = new_engine()
        run = engine.create(assistant_id="a", thread_id="t", model="m", **fields)
        assert check(run) == []
