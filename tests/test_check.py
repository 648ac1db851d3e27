"""Tests of ``runlife._check``: the structure, invariants and rules of a run's wire dict."""

from __future__ import annotations

import copy
import json
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from runlife import _check as check_module
from runlife._check import (
    Finding,
    inspect,
    invariant_problems,
    rule_problems,
    structure_problems,
)

if TYPE_CHECKING:
    from collections.abc import Callable


def _payload_dir() -> Path:
    here = Path(__file__).resolve()
    candidates = (
        here.parent / "data" / "payloads",
        here.parents[2] / "shared" / "payloads",
        Path("/work/shared/payloads"),
    )
    for candidate in candidates:
        if candidate.is_dir():
            return candidate
    return candidates[-1]


PAYLOAD_DIR = _payload_dir()
PAYLOAD_NAMES = sorted(path.name for path in PAYLOAD_DIR.glob("*.json"))
PAYLOADS: dict[str, dict[str, Any]] = {
    name: json.loads((PAYLOAD_DIR / name).read_text(encoding="utf-8")) for name in PAYLOAD_NAMES
}
COMPLETED = "openai-dotnet-completed-1.json"
QUEUED = "openai-dotnet-queued-1.json"
IN_PROGRESS = "openai-dotnet-in_progress-1.json"
REQUIRES_ACTION = "openai-dotnet-requires_action-1.json"

#: The 27 fields of the seed, in its order.
FIELDS = (
    "assistant_id",
    "cancelled_at",
    "completed_at",
    "created_at",
    "expires_at",
    "failed_at",
    "id",
    "incomplete_details",
    "instructions",
    "last_error",
    "max_completion_tokens",
    "max_prompt_tokens",
    "metadata",
    "model",
    "object",
    "parallel_tool_calls",
    "required_action",
    "response_format",
    "started_at",
    "status",
    "temperature",
    "thread_id",
    "tool_choice",
    "tools",
    "top_p",
    "truncation_strategy",
    "usage",
)
OPTIONAL = ("temperature", "top_p")

Path_ = tuple[str | int, ...]


def payload(name: str = COMPLETED) -> dict[str, Any]:
    """A fresh deep copy of a recorded payload."""
    return copy.deepcopy(PAYLOADS[name])


def run(status: str) -> dict[str, Any]:
    """A sound run dict in *status*, built from the recorded run."""
    if status == "requires_action":
        return payload(REQUIRES_ACTION)
    if status == "completed":
        return payload(COMPLETED)
    unstarted = status in {"queued", "expired", "cancelled"}
    data = payload(QUEUED) if unstarted else payload(IN_PROGRESS)
    data["status"] = status
    end = data["created_at"] + 30
    if status in {"expired", "cancelled", "failed", "incomplete"}:
        data["expires_at"] = None
    if status == "cancelled":
        data["cancelled_at"] = end
    elif status == "failed":
        data["failed_at"] = end
        data["last_error"] = {"code": "server_error", "message": "boom"}
    elif status == "incomplete":
        data["completed_at"] = end
        data["incomplete_details"] = {"reason": "max_prompt_tokens"}
        data["max_prompt_tokens"] = 1000
        data["usage"] = {"prompt_tokens": 1000, "completion_tokens": 0, "total_tokens": 1000}
    return data


def put(data: Any, path: Path_, value: Any) -> Any:
    """Set the value at *path* (keys and indexes) in *data*, and return *data*."""
    target = data
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = value
    return data


def drop(data: Any, path: Path_) -> Any:
    """Delete the value at *path* in *data*, and return *data*."""
    target = data
    for step in path[:-1]:
        target = target[step]
    del target[path[-1]]
    return data


def jsonpath(path: Path_) -> str:
    return "$" + "".join(f"[{step}]" if isinstance(step, int) else f".{step}" for step in path)


def only(findings: list[Finding]) -> Finding:
    assert len(findings) == 1, [str(f) for f in findings]
    return findings[0]


json_leaves = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=12)
)
json_values = st.recursive(
    json_leaves,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=16,
)


@st.composite
def mutated_payloads(draw: st.DrawFn) -> dict[str, Any]:
    """A recorded payload with one to three values replaced or deleted, at any depth."""
    data = payload(draw(st.sampled_from(PAYLOAD_NAMES)))
    for _ in range(draw(st.integers(1, 3))):
        container: Any = data
        while True:
            keys = list(container) if isinstance(container, dict) else list(range(len(container)))
            if not keys:
                break
            key = draw(st.sampled_from(keys))
            child = container[key]
            if isinstance(child, dict | list) and child and draw(st.booleans()):
                container = child
                continue
            if draw(st.booleans()):
                del container[key]
            else:
                container[key] = draw(json_values)
            break
    return data


def check_findings(findings: list[Finding], kinds: set[str]) -> None:
    """Every finding is well formed: a known kind, a code, a path from ``$``, one line."""
    for finding in findings:
        assert finding.kind in kinds
        assert finding.code
        assert finding.code == finding.code.lower()
        assert " " not in finding.code
        assert finding.path.startswith("$")
        assert finding.message
        assert "\n" not in str(finding)


class TestFinding:
    """The finding record."""

    def test_str(self) -> None:
        """A finding reads as one line: path, message, kind and code."""
        finding = Finding("rule", "out-of-range", "$.top_p", "expected null or a number in [0, 1]")
        assert str(finding) == "$.top_p: expected null or a number in [0, 1] [rule/out-of-range]"

    def test_frozen_and_hashable(self) -> None:
        """Findings are immutable values that compare and hash by their fields."""
        one = Finding("structure", "missing-field", "$.id", "missing")
        assert one == Finding("structure", "missing-field", "$.id", "missing")
        assert len({one, Finding("structure", "missing-field", "$.id", "missing")}) == 1
        with pytest.raises(attrs.exceptions.FrozenInstanceError):
            one.path = "$"  # type: ignore[misc]


class TestRealPayloads:
    """The recorded API run checks clean."""

    def test_found_all(self) -> None:
        """The six recorded payloads are there to be checked."""
        assert len(PAYLOAD_NAMES) == 6

    @pytest.mark.parametrize("name", PAYLOAD_NAMES)
    def test_clean(self, name: str) -> None:
        """A recorded payload has no finding of any kind."""
        data = payload(name)
        assert inspect(data) == []
        assert structure_problems(data) == []
        assert invariant_problems(data) == []
        assert rule_problems(data) == []

    @pytest.mark.parametrize("name", PAYLOAD_NAMES)
    def test_unchanged(self, name: str) -> None:
        """Checking does not touch the payload."""
        data = payload(name)
        inspect(data)
        assert data == PAYLOADS[name]

    @pytest.mark.parametrize(
        "status",
        [
            "queued",
            "in_progress",
            "requires_action",
            "cancelling",
            "cancelled",
            "failed",
            "completed",
            "incomplete",
            "expired",
        ],
    )
    def test_every_status_clean(self, status: str) -> None:
        """A sound run in each of the nine statuses has no finding."""
        assert inspect(run(status)) == []


class TestStructureRoot:
    """The value must be a JSON object with string keys."""

    @pytest.mark.parametrize(
        ("value", "got"),
        [
            (None, "null"),
            ([1, 2], "list [1, 2]"),
            ("run", "str 'run'"),
            (3, "int 3"),
            (1.5, "float 1.5"),
            (True, "bool True"),
        ],
    )
    def test_not_an_object(self, value: object, got: str) -> None:
        """A value that is not a dict gives one finding at the root."""
        finding = only(structure_problems(value))
        assert finding == Finding(
            "structure", "not-an-object", "$", f"expected a JSON object (a run), got {got}"
        )
        assert inspect(value) == [finding]

    def test_non_string_key(self) -> None:
        """A top-level key that is not a string is a structure finding, listed first."""
        data: dict[Any, Any] = payload()
        data[7] = "x"
        data["id"] = 3
        findings = structure_problems(data)
        assert [str(f) for f in findings] == [
            "$: expected string keys, got int 7 [structure/non-string-key]",
            "$.id: expected a string, got int 3 [structure/wrong-type]",
        ]

    def test_empty_object(self) -> None:
        """An empty object misses every required field, each reported, in the seed's order."""
        findings = structure_problems({})
        expected = [f"$.{name}" for name in FIELDS if name not in OPTIONAL]
        assert [f.path for f in findings] == expected
        assert {(f.kind, f.code, f.message) for f in findings} == {
            ("structure", "missing-field", "missing")
        }


class TestMissingFields:
    """Every required field must be there; all missing ones are reported at once."""

    @pytest.mark.parametrize("name", [f for f in FIELDS if f not in OPTIONAL])
    def test_each_required(self, name: str) -> None:
        """A required field that is absent gives one ``missing`` finding at its path."""
        finding = only(structure_problems(drop(payload(), (name,))))
        assert finding == Finding("structure", "missing-field", f"$.{name}", "missing")

    @pytest.mark.parametrize("name", OPTIONAL)
    def test_optional(self, name: str) -> None:
        """``temperature`` and ``top_p`` may be absent."""
        assert inspect(drop(payload(), (name,))) == []

    def test_all_at_once(self) -> None:
        """Several absent fields are all reported in one go."""
        data = payload()
        for name in ("id", "usage", "tools", "status"):
            del data[name]
        assert [f.path for f in structure_problems(data)] == [
            "$.id",
            "$.status",
            "$.tools",
            "$.usage",
        ]

    @pytest.mark.parametrize(
        ("name", "path"),
        [
            (COMPLETED, ("tools", 0, "type")),
            (COMPLETED, ("usage", "prompt_tokens")),
            (COMPLETED, ("usage", "completion_tokens")),
            (COMPLETED, ("usage", "total_tokens")),
            (COMPLETED, ("truncation_strategy", "type")),
            (REQUIRES_ACTION, ("required_action", "type")),
            (REQUIRES_ACTION, ("required_action", "submit_tool_outputs")),
            (REQUIRES_ACTION, ("required_action", "submit_tool_outputs", "tool_calls")),
            (REQUIRES_ACTION, ("required_action", "submit_tool_outputs", "tool_calls", 0, "id")),
            (REQUIRES_ACTION, ("required_action", "submit_tool_outputs", "tool_calls", 0, "type")),
            (
                REQUIRES_ACTION,
                ("required_action", "submit_tool_outputs", "tool_calls", 0, "function"),
            ),
            (
                REQUIRES_ACTION,
                ("required_action", "submit_tool_outputs", "tool_calls", 0, "function", "name"),
            ),
            (
                REQUIRES_ACTION,
                (
                    "required_action",
                    "submit_tool_outputs",
                    "tool_calls",
                    0,
                    "function",
                    "arguments",
                ),
            ),
        ],
        ids=lambda v: jsonpath(v) if isinstance(v, tuple) else v.split("-")[2],
    )
    def test_nested(self, name: str, path: Path_) -> None:
        """A nested member that the shape requires is reported missing at its own path."""
        finding = only(structure_problems(drop(payload(name), path)))
        assert finding == Finding("structure", "missing-field", jsonpath(path), "missing")

    @pytest.mark.parametrize(
        ("field", "value", "path"),
        [
            ("last_error", {"message": "m"}, "$.last_error.code"),
            ("last_error", {"code": "server_error"}, "$.last_error.message"),
            ("tool_choice", {}, "$.tool_choice.type"),
            ("tool_choice", {"type": "function", "function": {}}, "$.tool_choice.function.name"),
            ("response_format", {}, "$.response_format.type"),
        ],
    )
    def test_nested_in_objects(self, field: str, value: object, path: str) -> None:
        """The required members of ``last_error``, ``tool_choice`` and ``response_format``."""
        finding = only(structure_problems(put(payload(), (field,), value)))
        assert (finding.code, finding.path) == ("missing-field", path)


WRONG_TYPES: list[tuple[str, Path_, object, str]] = [
    # Each case: the payload, the path, the value and what is expected there.
    (COMPLETED, ("assistant_id",), None, "a string"),
    (COMPLETED, ("id",), 3, "a string"),
    (COMPLETED, ("thread_id",), [], "a string"),
    (COMPLETED, ("model",), {}, "a string"),
    (COMPLETED, ("created_at",), True, "an int (Unix seconds)"),
    (COMPLETED, ("created_at",), 1761861679.0, "an int (Unix seconds)"),
    (COMPLETED, ("created_at",), "1761861679", "an int (Unix seconds)"),
    (COMPLETED, ("created_at",), None, "an int (Unix seconds)"),
    (COMPLETED, ("started_at",), False, "an int (Unix seconds) or null"),
    (COMPLETED, ("started_at",), 1.5, "an int (Unix seconds) or null"),
    (COMPLETED, ("expires_at",), "soon", "an int (Unix seconds) or null"),
    (COMPLETED, ("cancelled_at",), True, "an int (Unix seconds) or null"),
    (COMPLETED, ("failed_at",), [1], "an int (Unix seconds) or null"),
    (COMPLETED, ("completed_at",), 1761861696.5, "an int (Unix seconds) or null"),
    (COMPLETED, ("max_prompt_tokens",), True, "an int or null"),
    (COMPLETED, ("max_completion_tokens",), 256.0, "an int or null"),
    (COMPLETED, ("max_completion_tokens",), "256", "an int or null"),
    (COMPLETED, ("instructions",), 3, "a string or null"),
    (COMPLETED, ("instructions",), ["be brief"], "a string or null"),
    (COMPLETED, ("parallel_tool_calls",), 1, "a bool"),
    (COMPLETED, ("parallel_tool_calls",), None, "a bool"),
    (COMPLETED, ("parallel_tool_calls",), "true", "a bool"),
    (COMPLETED, ("temperature",), True, "a number or null"),
    (COMPLETED, ("temperature",), "1", "a number or null"),
    (COMPLETED, ("top_p",), False, "a number or null"),
    (COMPLETED, ("top_p",), [], "a number or null"),
    (COMPLETED, ("metadata",), [], "an object or null"),
    (COMPLETED, ("metadata",), "x", "an object or null"),
    (COMPLETED, ("tool_choice",), 1, "a string, an object or null"),
    (COMPLETED, ("tool_choice",), True, "a string, an object or null"),
    (COMPLETED, ("tool_choice",), [], "a string, an object or null"),
    (COMPLETED, ("truncation_strategy",), "auto", "an object or null"),
    (COMPLETED, ("truncation_strategy",), [], "an object or null"),
    (COMPLETED, ("response_format",), 1, "a string, an object or null"),
    (COMPLETED, ("response_format",), [], "a string, an object or null"),
    (COMPLETED, ("tools",), {}, "an array"),
    (COMPLETED, ("tools",), None, "an array"),
    (COMPLETED, ("tools",), "function", "an array"),
    (COMPLETED, ("required_action",), "submit_tool_outputs", "an object or null"),
    (COMPLETED, ("required_action",), [], "an object or null"),
    (COMPLETED, ("last_error",), "server_error", "an object or null"),
    (COMPLETED, ("incomplete_details",), "max_prompt_tokens", "an object or null"),
    (COMPLETED, ("incomplete_details",), 3, "an object or null"),
    (COMPLETED, ("usage",), [], "an object or null"),
    (COMPLETED, ("usage",), 661, "an object or null"),
    (COMPLETED, ("status",), 3, "a string status"),
    (COMPLETED, ("status",), None, "a string status"),
    (COMPLETED, ("object",), None, "the string 'thread.run'"),
    (COMPLETED, ("object",), 3, "the string 'thread.run'"),
    (COMPLETED, ("tools", 0), "function", "an object (a tool)"),
    (COMPLETED, ("tools", 0), None, "an object (a tool)"),
    (COMPLETED, ("tools", 0, "type"), 1, "a string"),
    (COMPLETED, ("tools", 0, "type"), None, "a string"),
    (COMPLETED, ("truncation_strategy", "type"), None, "a string"),
    (COMPLETED, ("truncation_strategy", "last_messages"), True, "an int or null"),
    (COMPLETED, ("truncation_strategy", "last_messages"), 2.0, "an int or null"),
    (COMPLETED, ("usage", "prompt_tokens"), True, "an int"),
    (COMPLETED, ("usage", "completion_tokens"), 34.0, "an int"),
    (COMPLETED, ("usage", "total_tokens"), None, "an int"),
    (REQUIRES_ACTION, ("required_action", "type"), None, "a string"),
    (REQUIRES_ACTION, ("required_action", "submit_tool_outputs"), [], "an object"),
    (REQUIRES_ACTION, ("required_action", "submit_tool_outputs", "tool_calls"), {}, "an array"),
    (
        REQUIRES_ACTION,
        ("required_action", "submit_tool_outputs", "tool_calls", 0),
        "call_1",
        "an object (a tool call)",
    ),
    (
        REQUIRES_ACTION,
        ("required_action", "submit_tool_outputs", "tool_calls", 0, "id"),
        1,
        "a string",
    ),
    (
        REQUIRES_ACTION,
        ("required_action", "submit_tool_outputs", "tool_calls", 0, "type"),
        None,
        "a string",
    ),
    (
        REQUIRES_ACTION,
        ("required_action", "submit_tool_outputs", "tool_calls", 0, "function"),
        "f",
        "an object",
    ),
    (
        REQUIRES_ACTION,
        ("required_action", "submit_tool_outputs", "tool_calls", 0, "function", "name"),
        None,
        "a string",
    ),
    (
        REQUIRES_ACTION,
        ("required_action", "submit_tool_outputs", "tool_calls", 0, "function", "arguments"),
        {"day_of_week": "Thursday"},
        "a string",
    ),
]


class TestWrongTypes:
    """Each field and nested member has its JSON type; bools are never ints, floats never ints."""

    @pytest.mark.parametrize(
        ("name", "path", "value", "expected"),
        WRONG_TYPES,
        ids=[f"{jsonpath(p)}={v!r}" for _, p, v, _ in WRONG_TYPES],
    )
    def test_wrong_type(self, name: str, path: Path_, value: object, expected: str) -> None:
        """A value of the wrong type gives one ``wrong-type`` finding naming what is allowed."""
        data = put(payload(name), path, value)
        finding = only(structure_problems(data))
        assert (finding.kind, finding.code, finding.path) == (
            "structure",
            "wrong-type",
            jsonpath(path),
        )
        got = "null" if value is None else f"{type(value).__name__} {value!r}"
        assert finding.message == f"expected {expected}, got {got}"
        assert inspect(data) == [finding]

    def test_every_field_covered(self) -> None:
        """Every field of the seed has at least one wrong-type case above."""
        assert {p[0] for _, p, _, _ in WRONG_TYPES} == set(FIELDS)

    @pytest.mark.parametrize(
        ("path", "value"),
        [
            (("temperature",), 1),
            (("temperature",), None),
            (("top_p",), 0),
            (("top_p",), 0.5),
            (("instructions",), None),
            (("instructions",), "be brief"),
            (("response_format",), None),
            (("response_format",), "auto"),
            (("response_format",), {"type": "json_object"}),
            (("tool_choice",), "required"),
            (("tool_choice",), {"type": "function", "function": {"name": "f"}}),
            (("max_prompt_tokens",), 256),
            (("max_completion_tokens",), 10**30),
            (("truncation_strategy",), {"type": "last_messages", "last_messages": 3}),
            (("truncation_strategy",), {"type": "auto"}),
            (("incomplete_details",), None),
            (("metadata",), {"k": "v"}),
            (("tools",), []),
        ],
        ids=lambda v: jsonpath(v) if isinstance(v, tuple) else repr(v),
    )
    def test_right_types(self, path: Path_, value: object) -> None:
        """Values of the allowed types, null where the seed allows it, are structurally fine."""
        assert structure_problems(put(payload(), path, value)) == []

    def test_several_at_once(self) -> None:
        """Every wrong value is reported, each once, in the seed's order."""
        data = payload()
        data.update(created_at=True, usage=[], tools=[{"type": 1}, "x"], status=None)
        assert [f.path for f in structure_problems(data)] == [
            "$.created_at",
            "$.status",
            "$.tools[0].type",
            "$.tools[1]",
            "$.usage",
        ]


class TestStatusAndObject:
    """``status`` is one of the nine, ``object`` is ``thread.run``."""

    def test_unknown_status(self) -> None:
        """An unknown status gets a did-you-mean and the list of allowed statuses."""
        finding = only(structure_problems(put(payload(), ("status",), "complete")))
        assert str(finding) == (
            "$.status: unknown status 'complete'; did you mean 'completed'? allowed: queued, "
            "in_progress, requires_action, cancelling, cancelled, failed, completed, incomplete, "
            "expired [structure/unknown-status]"
        )

    def test_long_unknown_status(self) -> None:
        """A long unknown status is shown cut to 60 characters."""
        finding = only(structure_problems(put(payload(), ("status",), "x" * 1000)))
        assert finding.code == "unknown-status"
        assert finding.message.startswith("unknown status 'xxxx")
        assert "xxx…; allowed: queued, in_progress" in finding.message
        assert len(finding.message) < 200

    def test_status_is_case_sensitive(self) -> None:
        """``Completed`` is not a status."""
        assert only(structure_problems(put(payload(), ("status",), "Completed"))).code == (
            "unknown-status"
        )

    def test_wrong_object(self) -> None:
        """An ``object`` other than ``thread.run`` is refused."""
        finding = only(structure_problems(put(payload(), ("object",), "thread.message")))
        assert str(finding) == (
            "$.object: expected 'thread.run', got str 'thread.message' [structure/wrong-object]"
        )

    def test_string_subclass(self) -> None:
        """A ``str`` subclass (as an enum member) counts as a string."""

        class Status(str):
            __slots__ = ()

        data = put(payload(), ("status",), Status("completed"))
        put(data, ("id",), Status("run_1"))
        assert inspect(data) == []


class TestUnknownKeys:
    """Unknown keys are kept and never a finding, at any level."""

    @pytest.mark.parametrize(
        "path",
        [
            ("x_extra",),
            ("usage", "x_extra"),
            ("tools", 0, "x_extra"),
            ("tools", 0, "function", "x_extra"),
            ("truncation_strategy", "x_extra"),
            ("last_error", "x_extra"),
        ],
        ids=jsonpath,
    )
    def test_completed(self, path: Path_) -> None:
        """An extra key in a sound run changes nothing."""
        data = run("failed") if path[0] == "last_error" else payload()
        assert inspect(put(data, path, {"any": [1, None]})) == []

    @pytest.mark.parametrize(
        "path",
        [
            ("required_action", "x_extra"),
            ("required_action", "submit_tool_outputs", "x_extra"),
            ("required_action", "submit_tool_outputs", "tool_calls", 0, "x_extra"),
            ("required_action", "submit_tool_outputs", "tool_calls", 0, "function", "x_extra"),
        ],
        ids=jsonpath,
    )
    def test_required_action(self, path: Path_) -> None:
        """An extra key in the pending tool calls changes nothing."""
        assert inspect(put(payload(REQUIRES_ACTION), path, 1)) == []


def _tools(*tools: object) -> Callable[[dict[str, Any]], object]:
    return lambda data: put(data, ("tools",), list(tools))


def _fn(**function: object) -> dict[str, Any]:
    return {"type": "function", "function": function}


def _set(path: Path_, value: object) -> Callable[[dict[str, Any]], object]:
    return lambda data: put(data, path, value)


CALLS = ("required_action", "submit_tool_outputs", "tool_calls")
CALL_PATH = "$.required_action.submit_tool_outputs.tool_calls"


def _duplicate_call(data: dict[str, Any]) -> None:
    calls = data["required_action"]["submit_tool_outputs"]["tool_calls"]
    calls.append(copy.deepcopy(calls[0]))


RULE_BREAKS: list[tuple[str, str, Callable[[dict[str, Any]], object], str, str]] = [
    # Each case: an id, the status of the run, the change, the code and the path.
    ("created_at<0", "completed", _set(("created_at",), -1), "out-of-range", "$.created_at"),
    ("expires_at<0", "queued", _set(("expires_at",), -5), "out-of-range", "$.expires_at"),
    (
        "max_completion_tokens=16",
        "completed",
        _set(("max_completion_tokens",), 16),
        "out-of-range",
        "$.max_completion_tokens",
    ),
    (
        "max_prompt_tokens=255",
        "completed",
        _set(("max_prompt_tokens",), 255),
        "out-of-range",
        "$.max_prompt_tokens",
    ),
    (
        "21 tools",
        "completed",
        _tools(*[{"type": "code_interpreter"}] * 21),
        "too-many-tools",
        "$.tools",
    ),
    (
        "unknown tool",
        "completed",
        _tools({"type": "web_search_preview"}),
        "unknown-tool-type",
        "$.tools[0].type",
    ),
    (
        "function tool without function",
        "completed",
        _tools({"type": "function"}),
        "invalid-tool",
        "$.tools[0].function",
    ),
    (
        "description not a string",
        "completed",
        _tools(_fn(name="f", description=3)),
        "invalid-tool",
        "$.tools[0].function.description",
    ),
    (
        "parameters not an object",
        "completed",
        _tools(_fn(name="f", parameters=[])),
        "invalid-tool",
        "$.tools[0].function.parameters",
    ),
    (
        "strict not a bool",
        "completed",
        _tools(_fn(name="f", strict="yes")),
        "invalid-tool",
        "$.tools[0].function.strict",
    ),
    (
        "file_search not an object",
        "completed",
        _tools({"type": "code_interpreter"}, {"type": "file_search", "file_search": []}),
        "invalid-tool",
        "$.tools[1].file_search",
    ),
    (
        "no name",
        "completed",
        _tools(_fn(description="d")),
        "invalid-function-name",
        "$.tools[0].function.name",
    ),
    (
        "empty name",
        "completed",
        _tools(_fn(name="")),
        "invalid-function-name",
        "$.tools[0].function.name",
    ),
    (
        "name with a space",
        "completed",
        _tools(_fn(name="get food")),
        "invalid-function-name",
        "$.tools[0].function.name",
    ),
    (
        "name with a non-ASCII letter",
        "completed",
        _tools(_fn(name="café")),
        "invalid-function-name",
        "$.tools[0].function.name",
    ),
    (
        "name of 65",
        "completed",
        _tools(_fn(name="a" * 65)),
        "invalid-function-name",
        "$.tools[0].function.name",
    ),
    (
        "name not a string",
        "completed",
        _tools(_fn(name=3)),
        "invalid-function-name",
        "$.tools[0].function.name",
    ),
    ("null metadata", "completed", _set(("metadata",), None), "null-field", "$.metadata"),
    (
        "17 metadata pairs",
        "completed",
        _set(("metadata",), {f"k{i}": "v" for i in range(17)}),
        "too-many-metadata-pairs",
        "$.metadata",
    ),
    (
        "metadata key of 65",
        "completed",
        _set(("metadata",), {"k" * 65: "v"}),
        "invalid-metadata-key",
        "$.metadata",
    ),
    (
        "metadata value of 513",
        "completed",
        _set(("metadata",), {"k": "v" * 513}),
        "invalid-metadata-value",
        "$.metadata.k",
    ),
    (
        "metadata value not a string",
        "completed",
        _set(("metadata",), {"my key": 3}),
        "invalid-metadata-value",
        '$.metadata["my key"]',
    ),
    ("temperature 2.5", "completed", _set(("temperature",), 2.5), "out-of-range", "$.temperature"),
    (
        "temperature -0.1",
        "completed",
        _set(("temperature",), -0.1),
        "out-of-range",
        "$.temperature",
    ),
    (
        "temperature nan",
        "completed",
        _set(("temperature",), math.nan),
        "out-of-range",
        "$.temperature",
    ),
    ("top_p 1.01", "completed", _set(("top_p",), 1.01), "out-of-range", "$.top_p"),
    ("top_p 2", "completed", _set(("top_p",), 2), "out-of-range", "$.top_p"),
    (
        "null truncation_strategy",
        "completed",
        _set(("truncation_strategy",), None),
        "null-field",
        "$.truncation_strategy",
    ),
    (
        "truncation type",
        "completed",
        _set(("truncation_strategy", "type"), "first_messages"),
        "unknown-value",
        "$.truncation_strategy.type",
    ),
    (
        "last_messages 0",
        "completed",
        _set(("truncation_strategy",), {"type": "last_messages", "last_messages": 0}),
        "out-of-range",
        "$.truncation_strategy.last_messages",
    ),
    ("null tool_choice", "completed", _set(("tool_choice",), None), "null-field", "$.tool_choice"),
    (
        "tool_choice string",
        "completed",
        _set(("tool_choice",), "sometimes"),
        "unknown-value",
        "$.tool_choice",
    ),
    (
        "tool_choice type",
        "completed",
        _set(("tool_choice",), {"type": "web_search"}),
        "unknown-value",
        "$.tool_choice.type",
    ),
    (
        "tool_choice function without name",
        "completed",
        _set(("tool_choice",), {"type": "function"}),
        "invalid-tool-choice",
        "$.tool_choice.function",
    ),
    (
        "response_format string",
        "completed",
        _set(("response_format",), "json"),
        "unknown-value",
        "$.response_format",
    ),
    (
        "response_format type",
        "completed",
        _set(("response_format",), {"type": "xml"}),
        "unknown-value",
        "$.response_format.type",
    ),
    (
        "json_schema without schema",
        "completed",
        _set(("response_format",), {"type": "json_schema"}),
        "invalid-response-format",
        "$.response_format.json_schema",
    ),
    (
        "error code",
        "failed",
        _set(("last_error", "code"), "context_length_exceeded"),
        "unknown-error-code",
        "$.last_error.code",
    ),
    (
        "incomplete reason",
        "incomplete",
        _set(("incomplete_details", "reason"), "content_filter"),
        "unknown-value",
        "$.incomplete_details.reason",
    ),
    (
        "usage total",
        "completed",
        _set(("usage", "total_tokens"), 660),
        "usage-mismatch",
        "$.usage.total_tokens",
    ),
    (
        "usage negative",
        "completed",
        _set(("usage",), {"prompt_tokens": -1, "completion_tokens": 2, "total_tokens": 1}),
        "out-of-range",
        "$.usage.prompt_tokens",
    ),
    (
        "required_action type",
        "requires_action",
        _set(("required_action", "type"), "submit_approval"),
        "unknown-value",
        "$.required_action.type",
    ),
    (
        "tool call type",
        "requires_action",
        _set((*CALLS, 0, "type"), "code_interpreter"),
        "unknown-value",
        f"{CALL_PATH}[0].type",
    ),
    (
        "empty tool call id",
        "requires_action",
        _set((*CALLS, 0, "id"), ""),
        "empty-tool-call-id",
        f"{CALL_PATH}[0].id",
    ),
    (
        "duplicate tool call id",
        "requires_action",
        _duplicate_call,
        "duplicate-tool-call-id",
        f"{CALL_PATH}[1].id",
    ),
]


class TestRules:
    """Documented rules are reported as ``rule`` findings, never as structure."""

    @pytest.mark.parametrize(
        ("status", "change", "code", "path"),
        [case[1:] for case in RULE_BREAKS],
        ids=[case[0] for case in RULE_BREAKS],
    )
    def test_rule_break(
        self, status: str, change: Callable[[dict[str, Any]], object], code: str, path: str
    ) -> None:
        """One broken rule gives exactly one rule finding, and the run still loads."""
        data = run(status)
        change(data)
        assert structure_problems(data) == []
        assert invariant_problems(data) == []
        finding = only(rule_problems(data))
        assert (finding.kind, finding.code, finding.path) == ("rule", code, path)
        assert inspect(data) == [finding]

    @pytest.mark.parametrize(
        "change",
        [
            _set(("instructions",), None),
            _set(("response_format",), None),
            _set(("response_format",), {"type": "text"}),
            _set(("response_format",), {"type": "json_schema", "json_schema": {"name": "x"}}),
            _set(("tool_choice",), "none"),
            _set(("tool_choice",), {"type": "file_search"}),
            _set(("tool_choice",), {"type": "code_interpreter"}),
            _set(("tool_choice",), {"type": "function", "function": {"name": "f"}}),
            _tools(*[{"type": "code_interpreter"}] * 20),
            _tools({"type": "file_search"}, {"type": "file_search", "file_search": {"x": 1}}),
            _tools(_fn(name="A-z_0-9" + "x" * 57, strict=None, x_extra=1)),
            _tools(_fn(name="-", description="", parameters={}, strict=True)),
            _set(("metadata",), {"k" * 64: "v" * 512, **{f"k{i}": "" for i in range(15)}}),
            _set(("temperature",), 0),
            _set(("temperature",), 2.0),
            _set(("top_p",), 1),
            _set(("max_prompt_tokens",), 256),
            _set(("max_completion_tokens",), 256),
            _set(("truncation_strategy",), {"type": "last_messages", "last_messages": 1}),
            _set(("usage",), {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0}),
        ],
    )
    def test_within_rules(self, change: Callable[[dict[str, Any]], object]) -> None:
        """Values at the edge of what the rules allow give no finding."""
        data = payload()
        change(data)
        assert inspect(data) == []

    @pytest.mark.parametrize("reason", [None, "max_completion_tokens", ...])
    def test_incomplete_reason(self, reason: object) -> None:
        """An incomplete run's reason may be either documented one, null, or absent."""
        data = run("incomplete")
        if reason is ...:
            del data["incomplete_details"]["reason"]
        else:
            data["incomplete_details"]["reason"] = reason
        assert inspect(data) == []

    def test_messages(self) -> None:
        """Rule messages say what is allowed and what was found."""
        data = run("completed")
        data.update(max_completion_tokens=16, metadata=None, tools=[{"type": "web"}])
        data["usage"]["total_tokens"] = 1
        assert [str(f) for f in rule_problems(data)] == [
            "$.max_completion_tokens: expected null or an int >= 256, got int 16 [rule/out-of-range]",
            "$.metadata: expected an object of at most 16 string pairs, got null [rule/null-field]",
            (
                "$.tools[0].type: expected one of code_interpreter, file_search, function, "
                "got str 'web' [rule/unknown-tool-type]"
            ),
            (
                "$.usage.total_tokens: expected total_tokens == prompt_tokens + completion_tokens "
                "(627 + 34 = 661), got 1 [rule/usage-mismatch]"
            ),
        ]

    def test_duplicate_message(self) -> None:
        """A duplicate tool call id names the call that had it first."""
        data = run("requires_action")
        _duplicate_call(data)
        assert only(rule_problems(data)).message == (
            "id 'call_b9LqseCoPpctoIx71RVNZ1nB' is also the id of tool_calls[0]; "
            "expected unique ids"
        )


INVARIANT_BREAKS: list[tuple[str, str, Callable[[dict[str, Any]], object], str, str]] = [
    # Each case: an id, the status of the run, the change, the code and the path.
    (
        "1 required_action while queued",
        "queued",
        _set(("required_action",), PAYLOADS[REQUIRES_ACTION]["required_action"]),
        "invariant-required-action",
        "$.required_action",
    ),
    (
        "1 no required_action in requires_action",
        "requires_action",
        _set(("required_action",), None),
        "invariant-required-action",
        "$.required_action",
    ),
    (
        "2 last_error while queued",
        "queued",
        _set(("last_error",), {"code": "server_error", "message": "m"}),
        "invariant-last-error",
        "$.last_error",
    ),
    (
        "2 no last_error when failed",
        "failed",
        _set(("last_error",), None),
        "invariant-last-error",
        "$.last_error",
    ),
    (
        "3 incomplete_details when completed",
        "completed",
        _set(("incomplete_details",), {"reason": "max_prompt_tokens"}),
        "invariant-incomplete-details",
        "$.incomplete_details",
    ),
    (
        "3 no incomplete_details when incomplete",
        "incomplete",
        _set(("incomplete_details",), None),
        "invariant-incomplete-details",
        "$.incomplete_details",
    ),
    (
        "4 completed_at while in_progress",
        "in_progress",
        _set(("completed_at",), 1761861690),
        "invariant-end-stamp",
        "$.completed_at",
    ),
    (
        "4 no completed_at when completed",
        "completed",
        _set(("completed_at",), None),
        "invariant-end-stamp",
        "$.completed_at",
    ),
    (
        "4 no completed_at when incomplete",
        "incomplete",
        _set(("completed_at",), None),
        "invariant-end-stamp",
        "$.completed_at",
    ),
    (
        "4 failed_at when completed",
        "completed",
        _set(("failed_at",), 1761861696),
        "invariant-end-stamp",
        "$.failed_at",
    ),
    (
        "4 no failed_at when failed",
        "failed",
        _set(("failed_at",), None),
        "invariant-end-stamp",
        "$.failed_at",
    ),
    (
        "4 cancelled_at while cancelling",
        "cancelling",
        _set(("cancelled_at",), 1761861690),
        "invariant-end-stamp",
        "$.cancelled_at",
    ),
    (
        "4 no cancelled_at when cancelled",
        "cancelled",
        _set(("cancelled_at",), None),
        "invariant-end-stamp",
        "$.cancelled_at",
    ),
    (
        "5 no started_at when completed",
        "completed",
        _set(("started_at",), None),
        "invariant-started-at",
        "$.started_at",
    ),
    (
        "5 no started_at in requires_action",
        "requires_action",
        _set(("started_at",), None),
        "invariant-started-at",
        "$.started_at",
    ),
    (
        "6 started before created",
        "in_progress",
        _set(("started_at",), 1761861678),
        "invariant-stamp-order",
        "$.started_at",
    ),
    (
        "6 completed before started",
        "completed",
        _set(("completed_at",), 1761861694),
        "invariant-stamp-order",
        "$.completed_at",
    ),
    (
        "6 cancelled before created",
        "cancelled",
        _set(("cancelled_at",), 1761861678),
        "invariant-stamp-order",
        "$.cancelled_at",
    ),
    (
        "7 expires_at when completed",
        "completed",
        _set(("expires_at",), 1761862279),
        "invariant-expires-at",
        "$.expires_at",
    ),
    (
        "7 no expires_at while queued",
        "queued",
        _set(("expires_at",), None),
        "invariant-expires-at",
        "$.expires_at",
    ),
    (
        "8 usage while in_progress",
        "in_progress",
        _set(("usage",), {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}),
        "invariant-usage",
        "$.usage",
    ),
]


class TestInvariants:
    """Each of the eight invariants, broken on its own, gives one invariant finding."""

    @pytest.mark.parametrize(
        ("status", "change", "code", "path"),
        [case[1:] for case in INVARIANT_BREAKS],
        ids=[case[0] for case in INVARIANT_BREAKS],
    )
    def test_invariant_break(
        self, status: str, change: Callable[[dict[str, Any]], object], code: str, path: str
    ) -> None:
        """One broken invariant gives exactly one finding at the offending field."""
        data = run(status)
        change(data)
        assert structure_problems(data) == []
        assert rule_problems(data) == []
        finding = only(invariant_problems(data))
        assert (finding.kind, finding.code, finding.path) == ("invariant", code, path)
        assert inspect(data) == [finding]

    def test_all_eight_covered(self) -> None:
        """The cases above cover the eight invariants."""
        assert len({case[3] for case in INVARIANT_BREAKS}) == 8

    def test_started_at_kept_after_requeue(self) -> None:
        """A queued run may keep ``started_at`` from an earlier start (real API runs do)."""
        assert invariant_problems(payload("openai-dotnet-queued-2.json")) == []

    def test_messages(self) -> None:
        """Invariant messages name the field, the status and the invariant."""
        data = run("queued")
        data["required_action"] = PAYLOADS[REQUIRES_ACTION]["required_action"]
        data["expires_at"] = None
        data["usage"] = {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}
        assert [f.message for f in invariant_problems(data)] == [
            (
                "required_action is set but status is 'queued' "
                "(required_action is non-null exactly when status is requires_action)"
            ),
            (
                "expires_at is null but status is 'queued' (expires_at is non-null exactly when "
                "the status is active: queued, in_progress, requires_action or cancelling)"
            ),
            (
                "usage is set but status is 'queued' "
                "(usage is null while the status is active: queued, in_progress, requires_action "
                "or cancelling)"
            ),
        ]

    def test_order_message(self) -> None:
        """A stamp out of order names both stamps."""
        data = run("completed")
        data["completed_at"] = 1761861694
        assert only(invariant_problems(data)).message == (
            "completed_at 1761861694 is before started_at 1761861695 "
            "(created_at <= started_at <= every end stamp)"
        )

    def test_several(self) -> None:
        """A failed run with the stamps of a completed one breaks several, in order."""
        data = run("completed")
        data["status"] = "failed"
        assert [f.code for f in invariant_problems(data)] == [
            "invariant-last-error",
            "invariant-end-stamp",
            "invariant-end-stamp",
        ]


class TestInspect:
    """``inspect`` puts it together: structure, then invariants and rules."""

    def test_structure_hides_the_rest(self) -> None:
        """With a structure finding, invariants and rules are not looked at."""
        data = run("queued")
        data.update(id=None, metadata=None, expires_at=None)
        assert [f.kind for f in inspect(data)] == ["structure"]

    def test_order(self) -> None:
        """Invariant findings come before rule findings."""
        data = run("queued")
        data.update(metadata=None, expires_at=None)
        assert [(f.kind, f.code) for f in inspect(data)] == [
            ("invariant", "invariant-expires-at"),
            ("rule", "null-field"),
        ]


class TestNeverRaises:
    """No value makes a check raise."""

    @given(json_values)
    def test_any_json_value(self, value: object) -> None:
        """Any JSON value gets findings, not an exception."""
        findings = inspect(value)
        check_findings(findings, {"structure", "invariant", "rule"})
        if not isinstance(value, dict):
            assert [f.code for f in findings] == ["not-an-object"]
        assert rule_problems(value) is not None  # type: ignore[arg-type]
        assert invariant_problems(value) is not None  # type: ignore[arg-type]

    @given(st.dictionaries(st.sampled_from(FIELDS), json_values))
    def test_any_object_of_fields(self, value: dict[str, Any]) -> None:
        """An object of the known fields with any values gets findings, not an exception."""
        check_findings(inspect(value), {"structure", "invariant", "rule"})
        check_findings(rule_problems(value), {"rule"})
        check_findings(invariant_problems(value), {"invariant"})

    @given(mutated_payloads())
    def test_mutated_payloads(self, data: dict[str, Any]) -> None:
        """A recorded payload with values replaced or deleted at any depth never breaks a check."""
        structure = structure_problems(data)
        check_findings(structure, {"structure"})
        rules = rule_problems(data)
        check_findings(rules, {"rule"})
        invariants = invariant_problems(data)
        check_findings(invariants, {"invariant"})
        assert inspect(data) == (structure or invariants + rules)

    @pytest.mark.parametrize(
        "value",
        [
            10**5000,
            -(10**5000),
            math.inf,
            -math.inf,
            math.nan,
            "é" * 100_000,
            {"k" * 10_000: "v"},
            list(range(100_000)),
            (1, 2),
            {1, 2},
            b"bytes",
            object(),
        ],
        ids=[
            "huge int",
            "huge negative",
            "inf",
            "-inf",
            "nan",
            "long str",
            "long key",
            "long list",
            "tuple",
            "set",
            "bytes",
            "object",
        ],
    )
    def test_odd_values_everywhere(self, value: object) -> None:
        """Odd values, in every field and at the root, give short one-line findings."""
        findings = inspect(value)
        for name in FIELDS:
            findings += inspect(put(payload(), (name,), value))
            findings += rule_problems(put(payload(), (name,), value))
            findings += invariant_problems(put(payload(), (name,), value))
        check_findings(findings, {"structure", "invariant", "rule"})
        assert all(len(f.message) < 300 for f in findings)

    def test_deep_and_cyclic(self) -> None:
        """Deeply nested and self-containing values are described without recursion errors."""
        deep: list[Any] = []
        for _ in range(100_000):
            deep = [deep]
        cyclic: list[Any] = []
        cyclic.append(cyclic)
        loop: dict[str, Any] = {}
        loop["self"] = loop
        assert only(inspect(deep)).code == "not-an-object"
        assert only(inspect(cyclic)).code == "not-an-object"
        assert len(inspect(loop)) == 25  # every field missing
        for value in (deep, cyclic, loop):
            finding = only(inspect(put(payload(), ("id",), value)))
            assert finding.code == "wrong-type"
            assert len(finding.message) < 100

    def test_unrepresentable(self) -> None:
        """An object whose repr raises is described by its type."""

        class Bad:
            def __repr__(self) -> str:
                raise RuntimeError

        finding = only(inspect(put(payload(), ("id",), Bad())))
        assert finding.message == "expected a string, got Bad <Bad>"

    def test_message_is_clipped(self) -> None:
        """A long value is shown cut to 60 characters with an ellipsis."""
        finding = only(inspect(put(payload(), ("created_at",), "9" * 1000)))
        assert finding.message == f"expected an int (Unix seconds), got str '{'9' * 58}…"


STRUCTURE_CODES = {
    "not-an-object",
    "non-string-key",
    "missing-field",
    "wrong-type",
    "wrong-object",
    "unknown-status",
}


class TestCodes:
    """The codes are stable and documented."""

    def test_documented_and_tested(self) -> None:
        """The module docstring's table lists exactly the codes the tests above produce."""
        doc = check_module.__doc__ or ""
        documented = {
            line.split("``")[1]: line.split()[1]
            for line in doc.splitlines()
            if line.startswith("``") and line.split()[1] in {"structure", "invariant", "rule"}
        }
        tested = dict.fromkeys(STRUCTURE_CODES, "structure")
        tested |= {case[3]: "rule" for case in RULE_BREAKS}
        tested |= {case[3]: "invariant" for case in INVARIANT_BREAKS}
        assert documented == tested
