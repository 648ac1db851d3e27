"""JSON values only, at most 100 levels deep: what JSON cannot hold is refused everywhere.

A structure rule of the contract (``too-deep``, ``not-json``): ``from_dict``, ``from_json``
and ``create`` raise ``InvalidRun``, a trigger's arguments ``GuardRejected``, ``check()``
reports them, and nothing ever raises ``RecursionError``; so ``to_json`` never raises on a
run that ``from_dict`` accepted.
"""

from __future__ import annotations

import copy
import json
import math
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import runlife
from runlife import MAX_JSON_DEPTH, GuardRejected, InvalidRun, check, from_dict, from_json, to_json
from tests.conftest import load_payload
from tests.strategies import wire_dicts
from tests.support import new_engine, new_run


def nested(levels: int) -> dict[str, Any]:
    """An object *levels* deep: ``nested(1) == {}``, ``nested(2) == {"a": {}}``."""
    value: dict[str, Any] = {}
    for _ in range(levels - 1):
        value = {"a": value}
    return value


def depth(value: object) -> int:
    """The nesting depth of a JSON value (scalars 0, ``{}`` 1), without recursion."""
    best, stack = 0, [(value, 1)]
    while stack:
        v, d = stack.pop()
        if isinstance(v, dict):
            best = max(best, d)
            stack.extend((m, d + 1) for m in v.values())
        elif isinstance(v, list):
            best = max(best, d)
            stack.extend((m, d + 1) for m in v)
    return best


def base() -> dict[str, Any]:
    return load_payload("openai-dotnet-completed-1.json")


# The places a deep value can sit, each with the run levels above it.
PLACES = {
    "metadata": (("metadata",), 1),
    "an unknown key": (("x_deep",), 1),
    "tool parameters": (("tools", 0, "function", "parameters"), 4),
    "usage's unknown key": (("usage", "x_deep"), 2),
}


def put(data: dict[str, Any], path: tuple[Any, ...], value: object) -> dict[str, Any]:
    target: Any = data
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return data


class TestDepth:
    def test_the_limit_is_public(self) -> None:
        """The one limit, declared in the core, is runlife.MAX_JSON_DEPTH."""
        assert MAX_JSON_DEPTH == 100

    @pytest.mark.parametrize("place", list(PLACES))
    def test_100_levels_load_and_101_do_not(self, place: str) -> None:
        """A run nested exactly 100 levels deep loads and round-trips; 101 is too-deep."""
        path, above = PLACES[place]
        ok = put(base(), path, nested(MAX_JSON_DEPTH - above))
        assert depth(ok) == MAX_JSON_DEPTH
        assert json.dumps(runlife.to_dict(from_dict(ok))) == json.dumps(ok)
        assert from_json(json.dumps(ok)) == from_dict(ok)
        assert [f for f in check(ok) if f.kind == "structure"] == []
        deep = put(base(), path, nested(MAX_JSON_DEPTH - above + 1))
        assert depth(deep) == MAX_JSON_DEPTH + 1
        with pytest.raises(InvalidRun, match="nested more than 100 levels deep") as info:
            from_dict(deep)
        assert len(info.value.errors) == 1
        assert [(f.kind, f.code) for f in check(deep)] == [("structure", "too-deep")]

    @pytest.mark.parametrize("place", list(PLACES))
    def test_100000_levels_are_invalid_run_never_recursion_error(self, place: str) -> None:
        """Far too deep a value is InvalidRun from from_dict and from_json, and a finding of
        check(), never a RecursionError."""
        path, _ = PLACES[place]
        data = put(base(), path, nested(100_000))
        with pytest.raises(InvalidRun, match="nested more than 100 levels deep"):
            from_dict(data)
        assert [f.code for f in check(data)] == ["too-deep"]

    def test_a_deep_json_text(self) -> None:
        """from_json on a text nested 100,000 levels deep is InvalidRun at $."""
        for text in ("[" * 100_000, '{"a":' * 100_000):
            with pytest.raises(InvalidRun) as info:
                from_json(text)
            assert str(info.value) == (
                "invalid run: $: nested more than 100 levels deep (the limit of a run's JSON)"
            )

    @pytest.mark.parametrize(
        "fields",
        [
            {"metadata": nested(100_000)},
            {
                "tools": [
                    {"type": "function", "function": {"name": "f", "parameters": nested(100_000)}}
                ]
            },
            {"response_format": {"type": "json_schema", "json_schema": nested(100_000)}},
            {"extra": {"x": nested(100_000)}},
            {"extra": {"x": nested(MAX_JSON_DEPTH)}},
        ],
        ids=["metadata", "parameters", "json_schema", "extra", "extra-101"],
    )
    def test_create_refuses_too_deep(self, fields: dict[str, Any]) -> None:
        """create() refuses a value beyond the limit with InvalidRun, never RecursionError."""
        engine, _ = new_engine()
        with pytest.raises(InvalidRun):
            engine.create(assistant_id="a", thread_id="t", model="m", **fields)

    def test_create_accepts_the_limit(self) -> None:
        """An unknown key nested to exactly the limit is accepted (the run is level 1)."""
        engine, _ = new_engine()
        run = engine.create(
            assistant_id="a", thread_id="t", model="m", extra={"x": nested(MAX_JSON_DEPTH - 1)}
        )
        assert depth(runlife.to_dict(run)) == MAX_JSON_DEPTH

    @pytest.mark.parametrize(
        ("trigger", "args"),
        [
            ("require_action", {"tool_calls": nested(100_000)}),
            ("require_action", {"tool_calls": [nested(100_000)]}),
            ("complete", {"usage": nested(100_000)}),
            ("fail", {"code": "server_error", "message": nested(100_000)}),
        ],
    )
    def test_trigger_arguments_refuse_too_deep(self, trigger: str, args: dict[str, Any]) -> None:
        """A trigger's arguments nested 100,000 deep are refused (GuardRejected, as the
        contract says of arguments), never a RecursionError, and the run is unchanged."""
        engine, _ = new_engine()
        run = new_run(engine)
        run.start()
        before = to_json(run)
        with pytest.raises(GuardRejected):
            engine.fire(run, trigger, args)
        assert to_json(run) == before

    def test_update_refuses_too_deep(self) -> None:
        """RunEngine.update with deep metadata is InvalidRun, never RecursionError."""
        engine, _ = new_engine()
        run = new_run(engine)
        with pytest.raises(InvalidRun, match=r"\$\.metadata\.a: expected a string"):
            engine.update(run, metadata=nested(100_000))
        assert run.version == 0


class TestNotJson:
    @pytest.mark.parametrize(
        ("path", "value", "line"),
        [
            (
                ("temperature",),
                math.nan,
                "$.temperature: expected a finite number (JSON has no NaN or infinity), got nan",
            ),
            (
                ("top_p",),
                math.inf,
                "$.top_p: expected a finite number (JSON has no NaN or infinity), got inf",
            ),
            (
                ("metadata",),
                {"k": -math.inf},
                "$.metadata.k: expected a finite number (JSON has no NaN or infinity), got -inf",
            ),
            (("metadata",), {"k": {1, 2}}, "$.metadata.k: expected a JSON value, got set"),
            (("x_bytes",), b"raw", "$.x_bytes: expected a JSON value, got bytes"),
            (("x_object",), object(), "$.x_object: expected a JSON value, got object"),
            (
                ("tools", 0, "function", "parameters"),
                {1: "a"},
                "$.tools[0].function.parameters: expected string keys, got int 1",
            ),
            (
                ("usage", "x"),
                [math.nan],
                "$.usage.x[0]: expected a finite number (JSON has no NaN or infinity), got nan",
            ),
            (("usage", 7), 1, "$.usage: expected string keys, got int 7"),
        ],
    )
    def test_refused_on_load_with_the_path(
        self, path: tuple[Any, ...], value: object, line: str
    ) -> None:
        """What JSON cannot hold is refused on load, naming where it is, and reported by check()."""
        data = put(base(), path, value)
        with pytest.raises(InvalidRun) as info:
            from_dict(data)
        assert str(info.value) == f"invalid run run_VSZ30Gv0cSXNu4f67kzJ8NyA: {line}"
        assert [str(f) for f in check(data) if f.kind == "structure"] == [
            f"{line} [structure/{'non-string-key' if 'string keys' in line else 'not-json'}]"
        ]

    def test_infinity_in_json_text(self) -> None:
        """1e999 parses as infinity: from_json refuses it like from_dict does."""
        text = json.dumps(base()).replace('"temperature": 1.0', '"temperature": 1e999')
        with pytest.raises(InvalidRun, match=r"\$\.temperature: expected a finite number"):
            from_json(text)

    def test_create_refuses_non_json(self) -> None:
        """create() refuses NaN and non-JSON objects wherever they are, with the path."""
        engine, _ = new_engine()
        tool = {"type": "function", "function": {"name": "f", "parameters": {"x": math.nan}}}
        with pytest.raises(InvalidRun) as info:
            engine.create(
                assistant_id="a", thread_id="t", model="m", tools=[tool], extra={"y": {b"k": 1}}
            )
        assert [p for p, _ in info.value.errors] == ["$.tools[0].function.parameters.x"]
        with pytest.raises(InvalidRun) as info:
            engine.create(assistant_id="a", thread_id="t", model="m", extra={"y": {"k": {1}}})
        assert info.value.errors == [("$.y.k", "expected a JSON value, got set")]


_bad = st.sampled_from([math.nan, math.inf, -math.inf, {1, 2}, b"x", object(), frozenset()])
_bad_key = st.sampled_from([1, None, 2.5, (1,)])


@st.composite
def tainted(draw: st.DrawFn) -> dict[str, Any]:
    """A structurally valid payload, sometimes with one thing JSON cannot hold put somewhere."""
    data = draw(wire_dicts())
    if draw(st.booleans()):
        return data
    slots: list[Any] = []
    stack: list[Any] = [data]
    while stack:
        value = stack.pop()
        if isinstance(value, dict):
            slots.append(value)
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)
    target = draw(st.sampled_from(slots))
    if draw(st.booleans()):
        target[draw(st.text(max_size=3))] = draw(_bad)
    else:
        target[draw(_bad_key)] = 1
    return data


@given(tainted())
def test_from_dict_accepts_exactly_what_check_finds_no_structure_in(data: dict[str, Any]) -> None:
    """from_dict refuses a payload iff check() has a structure finding for it (the loader's
    one-walk check agrees with check's), and to_json never raises on a run it accepted."""
    snapshot = copy.copy(data)
    structure = [f for f in check(data) if f.kind == "structure"]
    try:
        run = from_dict(data)
    except InvalidRun as exc:
        assert structure, exc
        assert [p for p, _ in exc.errors] == [f.path for f in structure]
    else:
        assert structure == []
        text = to_json(run)
        assert json.loads(text) == json.loads(json.dumps(data))
    assert data.keys() == snapshot.keys()
