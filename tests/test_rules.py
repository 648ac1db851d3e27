"""Tests of ``runlife._rules``: the documented API rules a run's wire dict breaks."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from runlife import check
from runlife._invariants import invariant_problems
from runlife._rules import rule_problems
from runlife._structure import structure_problems
from tests.check_support import (
    CALL_PATH,
    CALLS,
    duplicate_call,
    function_tool,
    only,
    payload,
    run,
    set_to,
    with_tools,
)

if TYPE_CHECKING:
    from collections.abc import Callable


RULE_BREAKS: list[tuple[str, str, Callable[[dict[str, Any]], object], str, str]] = [
    # Each case: an id, the status of the run, the change, the code and the path.
    ("created_at<0", "completed", set_to(("created_at",), -1), "out-of-range", "$.created_at"),
    ("expires_at<0", "queued", set_to(("expires_at",), -5), "out-of-range", "$.expires_at"),
    (
        "max_completion_tokens=16",
        "completed",
        set_to(("max_completion_tokens",), 16),
        "below-documented-minimum",
        "$.max_completion_tokens",
    ),
    (
        "max_prompt_tokens=255",
        "completed",
        set_to(("max_prompt_tokens",), 255),
        "below-documented-minimum",
        "$.max_prompt_tokens",
    ),
    (
        "max_prompt_tokens=0",
        "completed",
        set_to(("max_prompt_tokens",), 0),
        "out-of-range",
        "$.max_prompt_tokens",
    ),
    (
        "instructions too long",
        "completed",
        set_to(("instructions",), "x" * 256_001),
        "too-long",
        "$.instructions",
    ),
    (
        "tool_choice required without tools",
        "completed",
        lambda d: d.update(tools=[], tool_choice="required"),
        "tool-choice-not-in-tools",
        "$.tool_choice",
    ),
    (
        "tool_choice naming a function not in tools",
        "completed",
        set_to(("tool_choice",), {"type": "function", "function": {"name": "nope"}}),
        "tool-choice-not-in-tools",
        "$.tool_choice.function.name",
    ),
    (
        "tool_choice naming a tool type the run lacks",
        "completed",
        set_to(("tool_choice",), {"type": "file_search"}),
        "tool-choice-not-in-tools",
        "$.tool_choice.type",
    ),
    (
        "two functions of one name",
        "completed",
        with_tools(function_tool(name="f"), {"type": "code_interpreter"}, function_tool(name="f")),
        "duplicate-function-name",
        "$.tools[2].function.name",
    ),
    (
        "completed with incomplete_details",
        "completed",
        set_to(("incomplete_details",), {"reason": "max_prompt_tokens"}),
        "incomplete-details-set",
        "$.incomplete_details",
    ),
    (
        "21 tools",
        "completed",
        with_tools(*[{"type": "code_interpreter"}] * 21),
        "too-many-tools",
        "$.tools",
    ),
    (
        "unknown tool",
        "completed",
        with_tools({"type": "web_search_preview"}),
        "unknown-tool-type",
        "$.tools[0].type",
    ),
    (
        "function tool without function",
        "completed",
        with_tools({"type": "function"}),
        "invalid-tool",
        "$.tools[0].function",
    ),
    (
        "description not a string",
        "completed",
        with_tools(function_tool(name="f", description=3)),
        "invalid-tool",
        "$.tools[0].function.description",
    ),
    (
        "parameters not an object",
        "completed",
        with_tools(function_tool(name="f", parameters=[])),
        "invalid-tool",
        "$.tools[0].function.parameters",
    ),
    (
        "strict not a bool",
        "completed",
        with_tools(function_tool(name="f", strict="yes")),
        "invalid-tool",
        "$.tools[0].function.strict",
    ),
    (
        "file_search not an object",
        "completed",
        with_tools({"type": "code_interpreter"}, {"type": "file_search", "file_search": []}),
        "invalid-tool",
        "$.tools[1].file_search",
    ),
    (
        "no name",
        "completed",
        with_tools(function_tool(description="d")),
        "invalid-function-name",
        "$.tools[0].function.name",
    ),
    (
        "empty name",
        "completed",
        with_tools(function_tool(name="")),
        "invalid-function-name",
        "$.tools[0].function.name",
    ),
    (
        "name with a space",
        "completed",
        with_tools(function_tool(name="get food")),
        "invalid-function-name",
        "$.tools[0].function.name",
    ),
    (
        "name with a non-ASCII letter",
        "completed",
        with_tools(function_tool(name="café")),
        "invalid-function-name",
        "$.tools[0].function.name",
    ),
    (
        "name of 65",
        "completed",
        with_tools(function_tool(name="a" * 65)),
        "invalid-function-name",
        "$.tools[0].function.name",
    ),
    (
        "name not a string",
        "completed",
        with_tools(function_tool(name=3)),
        "invalid-function-name",
        "$.tools[0].function.name",
    ),
    ("null metadata", "completed", set_to(("metadata",), None), "null-field", "$.metadata"),
    (
        "17 metadata pairs",
        "completed",
        set_to(("metadata",), {f"k{i}": "v" for i in range(17)}),
        "too-many-metadata-pairs",
        "$.metadata",
    ),
    (
        "metadata key of 65",
        "completed",
        set_to(("metadata",), {"k" * 65: "v"}),
        "invalid-metadata-key",
        "$.metadata",
    ),
    (
        "metadata value of 513",
        "completed",
        set_to(("metadata",), {"k": "v" * 513}),
        "invalid-metadata-value",
        "$.metadata.k",
    ),
    (
        "metadata value not a string",
        "completed",
        set_to(("metadata",), {"my key": 3}),
        "invalid-metadata-value",
        '$.metadata["my key"]',
    ),
    (
        "temperature 2.5",
        "completed",
        set_to(("temperature",), 2.5),
        "out-of-range",
        "$.temperature",
    ),
    (
        "temperature -0.1",
        "completed",
        set_to(("temperature",), -0.1),
        "out-of-range",
        "$.temperature",
    ),
    ("top_p 1.01", "completed", set_to(("top_p",), 1.01), "out-of-range", "$.top_p"),
    ("top_p 2", "completed", set_to(("top_p",), 2), "out-of-range", "$.top_p"),
    (
        "null truncation_strategy",
        "completed",
        set_to(("truncation_strategy",), None),
        "null-field",
        "$.truncation_strategy",
    ),
    (
        "truncation type",
        "completed",
        set_to(("truncation_strategy", "type"), "first_messages"),
        "unknown-value",
        "$.truncation_strategy.type",
    ),
    (
        "last_messages 0",
        "completed",
        set_to(("truncation_strategy",), {"type": "last_messages", "last_messages": 0}),
        "out-of-range",
        "$.truncation_strategy.last_messages",
    ),
    (
        "null tool_choice",
        "completed",
        set_to(("tool_choice",), None),
        "null-field",
        "$.tool_choice",
    ),
    (
        "tool_choice string",
        "completed",
        set_to(("tool_choice",), "sometimes"),
        "unknown-value",
        "$.tool_choice",
    ),
    (
        "tool_choice type",
        "completed",
        set_to(("tool_choice",), {"type": "web_search"}),
        "unknown-value",
        "$.tool_choice.type",
    ),
    (
        "tool_choice function without name",
        "completed",
        set_to(("tool_choice",), {"type": "function"}),
        "invalid-tool-choice",
        "$.tool_choice.function",
    ),
    (
        "response_format string",
        "completed",
        set_to(("response_format",), "json"),
        "unknown-value",
        "$.response_format",
    ),
    (
        "response_format type",
        "completed",
        set_to(("response_format",), {"type": "xml"}),
        "unknown-value",
        "$.response_format.type",
    ),
    (
        "json_schema without schema",
        "completed",
        set_to(("response_format",), {"type": "json_schema"}),
        "invalid-response-format",
        "$.response_format.json_schema",
    ),
    (
        "error code",
        "failed",
        set_to(("last_error", "code"), "context_length_exceeded"),
        "unknown-error-code",
        "$.last_error.code",
    ),
    (
        "incomplete reason",
        "incomplete",
        set_to(("incomplete_details", "reason"), "content_filter"),
        "unknown-value",
        "$.incomplete_details.reason",
    ),
    (
        "usage total",
        "completed",
        set_to(("usage", "total_tokens"), 660),
        "usage-mismatch",
        "$.usage.total_tokens",
    ),
    (
        "usage negative",
        "completed",
        set_to(("usage",), {"prompt_tokens": -1, "completion_tokens": 2, "total_tokens": 1}),
        "out-of-range",
        "$.usage.prompt_tokens",
    ),
    (
        "required_action type",
        "requires_action",
        set_to(("required_action", "type"), "submit_approval"),
        "unknown-value",
        "$.required_action.type",
    ),
    (
        "tool call type",
        "requires_action",
        set_to((*CALLS, 0, "type"), "code_interpreter"),
        "unknown-value",
        f"{CALL_PATH}[0].type",
    ),
    (
        "empty tool call id",
        "requires_action",
        set_to((*CALLS, 0, "id"), ""),
        "empty-tool-call-id",
        f"{CALL_PATH}[0].id",
    ),
    (
        "duplicate tool call id",
        "requires_action",
        duplicate_call,
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
        assert check(data) == [finding]

    @pytest.mark.parametrize(
        "change",
        [
            set_to(("instructions",), None),
            set_to(("response_format",), None),
            set_to(("response_format",), {"type": "text"}),
            set_to(("response_format",), {"type": "json_schema", "json_schema": {"name": "x"}}),
            set_to(("tool_choice",), "none"),
            lambda d: d.update(
                tool_choice={"type": "file_search"}, tools=[{"type": "file_search"}]
            ),
            lambda d: d.update(
                tool_choice={"type": "code_interpreter"}, tools=[{"type": "code_interpreter"}]
            ),
            lambda d: d.update(
                tool_choice={"type": "function", "function": {"name": "f"}},
                tools=[function_tool(name="g"), function_tool(name="f")],
            ),
            with_tools(*[{"type": "code_interpreter"}] * 20),
            with_tools({"type": "file_search"}, {"type": "file_search", "file_search": {"x": 1}}),
            with_tools(function_tool(name="A-z_0-9" + "x" * 57, strict=None, x_extra=1)),
            with_tools(function_tool(name="-", description="", parameters={}, strict=True)),
            set_to(("metadata",), {"k" * 64: "v" * 512, **{f"k{i}": "" for i in range(15)}}),
            set_to(("temperature",), 0),
            set_to(("temperature",), 2.0),
            set_to(("top_p",), 1),
            set_to(("max_prompt_tokens",), 256),
            set_to(("max_completion_tokens",), 256),
            set_to(("truncation_strategy",), {"type": "last_messages", "last_messages": 1}),
            set_to(("usage",), {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0}),
        ],
    )
    def test_within_rules(self, change: Callable[[dict[str, Any]], object]) -> None:
        """Values at the edge of what the rules allow give no finding."""
        data = payload()
        change(data)
        assert check(data) == []

    @pytest.mark.parametrize("reason", [None, "max_completion_tokens", ...])
    def test_incomplete_reason(self, reason: object) -> None:
        """An incomplete run's reason may be either documented one, null, or absent."""
        data = run("incomplete")
        if reason is ...:
            del data["incomplete_details"]["reason"]
        else:
            data["incomplete_details"]["reason"] = reason
        assert check(data) == []

    def test_messages(self) -> None:
        """Rule messages say what is allowed and what was found."""
        data = run("completed")
        data.update(max_completion_tokens=16, metadata=None, tools=[{"type": "web"}])
        data["usage"]["total_tokens"] = 1
        assert [str(f) for f in rule_problems(data)] == [
            (
                "$.max_completion_tokens: the API documents a minimum of 256, got int 16 (the "
                "live API accepts it: reported, not refused) [rule/below-documented-minimum]"
            ),
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
        duplicate_call(data)
        assert only(rule_problems(data)).message == (
            "id 'call_b9LqseCoPpctoIx71RVNZ1nB' is also the id of tool_calls[0]; "
            "expected unique ids"
        )
