"""Tests of ``runlife._structure``: what makes a run's wire dict impossible to load."""

from __future__ import annotations

from typing import Any

import pytest

from runlife import Finding, check
from runlife._structure import structure_problems
from tests.check_support import (
    COMPLETED,
    FIELDS,
    OPTIONAL,
    REQUIRES_ACTION,
    Path_,
    drop,
    jsonpath,
    only,
    payload,
    put,
    run,
)


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
        assert check(value) == [finding]

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
        assert check(drop(payload(), (name,))) == []

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
        assert check(data) == [finding]

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
        assert check(data) == []


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
        assert check(put(data, path, {"any": [1, None]})) == []

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
        assert check(put(payload(REQUIRES_ACTION), path, 1)) == []


STRUCTURE_CODES = {
    "not-an-object",
    "non-string-key",
    "missing-field",
    "wrong-type",
    "wrong-object",
    "unknown-status",
    "too-deep",
    "not-json",
}
