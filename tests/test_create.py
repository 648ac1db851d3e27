"""``RunEngine.create``'s one-pass path for sound function tools agrees with the general one."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from runlife import FunctionTool
from runlife._check import field_problems
from runlife._create import _sound_function_tool
from runlife._wire import _s_tool

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
