"""Rules: the documented rules of the API that a run's wire dict breaks.

Real API payloads break some of them, so :func:`rule_problems` reports them on load and
never refuses a run for them; ``create`` refuses them in what a caller gives (through
``field_problems``, which runs the checks of :data:`RULES` field by field).
"""

from __future__ import annotations

from typing import Any, Final

from ._constraints import (
    ERROR_CODES,
    INCOMPLETE_REASONS,
    MAX_INSTRUCTIONS,
    MAX_METADATA_KEY,
    MAX_METADATA_PAIRS,
    MAX_METADATA_VALUE,
    MAX_NAME,
    MAX_TOOLS,
    MIN_TOKEN_LIMIT,
    NAME_CHARS,
    USAGE_COUNTS,
)
from ._findings import MISSING, RULE, Check, Finding, key_path
from ._json import clip, describe, is_int

__all__ = ["RULES", "rule_problems", "tools_problems"]

#: The stamps before ``incomplete_details`` in the seed's order (``started_at`` comes later).
_STAMPS: Final = ("cancelled_at", "completed_at", "created_at", "expires_at", "failed_at")
_LIMITS: Final = ("max_completion_tokens", "max_prompt_tokens")
_TOOL_TYPES: Final = ("code_interpreter", "file_search", "function")
_TOOL_CHOICES: Final = ("none", "auto", "required")
_TRUNCATION_TYPES: Final = ("auto", "last_messages")
_RESPONSE_TYPES: Final = ("text", "json_object", "json_schema")


def _allowed(values: tuple[str, ...]) -> str:
    return ", ".join(values)


def _rule(code: str, path: str, message: str) -> Finding:
    return Finding(RULE, code, path, message)


def _known(
    value: dict[Any, Any],
    allowed: tuple[str, ...],
    path: str,
    out: list[Finding],
    *,
    key: str = "type",
    code: str = "unknown-value",
    or_null: bool = False,
) -> str | None:
    """``value[key]`` when it is one of *allowed*; a finding when it is another string."""
    kind = value.get(key)
    if not isinstance(kind, str):
        return None
    if kind not in allowed:
        null = " (or null)" if or_null else ""
        msg = f"expected one of {_allowed(allowed)}{null}, got {describe(kind)}"
        out.append(_rule(code, path, msg))
        return None
    return kind


def _out_of_range(name: str, expected: str, value: object) -> Finding:
    return Finding(RULE, "out-of-range", f"$.{name}", f"expected {expected}, got {describe(value)}")


def _rule_incomplete_details(value: object, out: list[Finding]) -> None:
    if not isinstance(value, dict):
        return
    path = "$.incomplete_details.reason"
    _known(value, INCOMPLETE_REASONS, path, out, key="reason", or_null=True)


def _rule_last_error(value: object, out: list[Finding]) -> None:
    if not isinstance(value, dict):
        return
    path = "$.last_error.code"
    _known(value, ERROR_CODES, path, out, key="code", code="unknown-error-code")


def _rule_metadata(value: object, out: list[Finding]) -> None:
    if value is None:
        msg = "expected an object of at most 16 string pairs, got null"
        out.append(_rule("null-field", "$.metadata", msg))
        return
    if not isinstance(value, dict):
        return
    if len(value) > MAX_METADATA_PAIRS:
        msg = f"expected at most {MAX_METADATA_PAIRS} pairs, got {len(value)}"
        out.append(_rule("too-many-metadata-pairs", "$.metadata", msg))
    for key, item in value.items():
        if not isinstance(key, str):
            msg = f"expected string keys, got {describe(key)}"
            out.append(_rule("invalid-metadata-key", "$.metadata", msg))
            continue
        if len(key) > MAX_METADATA_KEY:
            msg = (
                f"expected keys of at most {MAX_METADATA_KEY} characters, got a key of {len(key)}: "
                f"{clip(key)}"
            )
            out.append(_rule("invalid-metadata-key", "$.metadata", msg))
        if not isinstance(item, str):
            msg = f"expected a string of at most {MAX_METADATA_VALUE} characters, got {describe(item)}"
            out.append(_rule("invalid-metadata-value", key_path("$.metadata", key), msg))
        elif len(item) > MAX_METADATA_VALUE:
            msg = f"expected a string of at most {MAX_METADATA_VALUE} characters, got a string of {len(item)}"
            out.append(_rule("invalid-metadata-value", key_path("$.metadata", key), msg))


def _rule_required_action(value: object, out: list[Finding]) -> None:
    if not isinstance(value, dict):
        return
    kind = value.get("type")
    if isinstance(kind, str) and kind != "submit_tool_outputs":
        msg = f"expected 'submit_tool_outputs', got {describe(kind)}"
        out.append(_rule("unknown-value", "$.required_action.type", msg))
    submit = value.get("submit_tool_outputs")
    calls = submit.get("tool_calls") if isinstance(submit, dict) else None
    if not isinstance(calls, list):
        return
    base = "$.required_action.submit_tool_outputs.tool_calls"
    seen: dict[str, int] = {}
    for i, call in enumerate(calls):
        if not isinstance(call, dict):
            continue
        kind = call.get("type")
        if isinstance(kind, str) and kind != "function":
            msg = f"expected 'function', got {describe(kind)}"
            out.append(_rule("unknown-value", f"{base}[{i}].type", msg))
        call_id = call.get("id")
        if not isinstance(call_id, str):
            continue
        if not call_id:
            msg = "expected a non-empty id, got str ''"
            out.append(_rule("empty-tool-call-id", f"{base}[{i}].id", msg))
        elif call_id in seen:
            msg = (
                f"id {clip(call_id)} is also the id of tool_calls[{seen[call_id]}]; "
                "expected unique ids"
            )
            out.append(_rule("duplicate-tool-call-id", f"{base}[{i}].id", msg))
        else:
            seen[call_id] = i


def _rule_response_format(value: object, out: list[Finding]) -> None:
    if isinstance(value, str):
        if value != "auto":
            msg = (
                "expected 'auto' or an object of type text, json_object or json_schema, "
                f"got {describe(value)}"
            )
            out.append(_rule("unknown-value", "$.response_format", msg))
        return
    if not isinstance(value, dict):
        return
    if _known(value, _RESPONSE_TYPES, "$.response_format.type", out) == "json_schema":
        schema = value.get("json_schema", MISSING)
        if not isinstance(schema, dict):
            got = "nothing" if schema is MISSING else describe(schema)
            msg = f"expected an object (a json_schema response format needs one), got {got}"
            out.append(_rule("invalid-response-format", "$.response_format.json_schema", msg))


def _rule_tool_choice(value: object, out: list[Finding]) -> None:
    if value is None:
        msg = (
            "expected 'none', 'auto', 'required' or an object of type function, file_search "
            "or code_interpreter, got null"
        )
        out.append(_rule("null-field", "$.tool_choice", msg))
        return
    if isinstance(value, str):
        if value not in _TOOL_CHOICES:
            msg = f"expected one of {_allowed(_TOOL_CHOICES)} or an object, got {describe(value)}"
            out.append(_rule("unknown-value", "$.tool_choice", msg))
        return
    if not isinstance(value, dict):
        return
    if _known(value, _TOOL_TYPES, "$.tool_choice.type", out) == "function":
        function = value.get("function", MISSING)
        name = function.get("name", MISSING) if isinstance(function, dict) else MISSING
        if not isinstance(name, str):
            got = "nothing" if function is MISSING else describe(function)
            msg = f'expected a function object {{"name": ...}} (type function needs it), got {got}'
            out.append(_rule("invalid-tool-choice", "$.tool_choice.function", msg))


def _rule_function_tool(tool: dict[Any, Any], path: str, out: list[Finding]) -> None:
    function = tool.get("function", MISSING)
    if not isinstance(function, dict):
        got = "nothing" if function is MISSING else describe(function)
        msg = f"expected an object (a function tool needs one), got {got}"
        out.append(_rule("invalid-tool", f"{path}.function", msg))
        return
    name = function.get("name", MISSING)
    problem = None
    if not isinstance(name, str):
        problem = "nothing" if name is MISSING else describe(name)
    elif not name or len(name) > MAX_NAME or not NAME_CHARS.issuperset(name):
        problem = describe(name)
    if problem is not None:
        msg = f"expected 1 to {MAX_NAME} characters of a-z, A-Z, 0-9, _ and -, got {problem}"
        out.append(_rule("invalid-function-name", f"{path}.function.name", msg))
    description = function.get("description", MISSING)
    if description is not MISSING and not isinstance(description, str):
        msg = f"expected a string, got {describe(description)}"
        out.append(_rule("invalid-tool", f"{path}.function.description", msg))
    parameters = function.get("parameters", MISSING)
    if parameters is not MISSING and not isinstance(parameters, dict):
        msg = f"expected an object (a JSON schema), got {describe(parameters)}"
        out.append(_rule("invalid-tool", f"{path}.function.parameters", msg))
    strict = function.get("strict")
    if strict is not None and not isinstance(strict, bool):
        msg = f"expected a bool or null, got {describe(strict)}"
        out.append(_rule("invalid-tool", f"{path}.function.strict", msg))


def _rule_tools(value: object, out: list[Finding]) -> None:
    if not isinstance(value, list):
        return
    if len(value) > MAX_TOOLS:
        msg = f"expected at most {MAX_TOOLS} tools, got {len(value)}"
        out.append(_rule("too-many-tools", "$.tools", msg))
    for i, tool in enumerate(value):
        if not isinstance(tool, dict):
            continue
        kind = tool.get("type")
        if not isinstance(kind, str) or kind == "code_interpreter":
            continue
        if kind == "function":
            _rule_function_tool(tool, f"$.tools[{i}]", out)
        elif kind == "file_search":
            search = tool.get("file_search")
            if search is not None and not isinstance(search, dict):
                msg = f"expected an object, got {describe(search)}"
                out.append(_rule("invalid-tool", f"$.tools[{i}].file_search", msg))
        else:
            msg = f"expected one of {_allowed(_TOOL_TYPES)}, got {describe(kind)}"
            out.append(_rule("unknown-tool-type", f"$.tools[{i}].type", msg))


def _rule_truncation_strategy(value: object, out: list[Finding]) -> None:
    if value is None:
        msg = 'expected an object {"type": "auto" | "last_messages", ...}, got null'
        out.append(_rule("null-field", "$.truncation_strategy", msg))
        return
    if not isinstance(value, dict):
        return
    _known(value, _TRUNCATION_TYPES, "$.truncation_strategy.type", out)
    last = value.get("last_messages")
    if isinstance(last, int) and last < 1 and not isinstance(last, bool):
        msg = f"expected null or an int >= 1, got {describe(last)}"
        out.append(_rule("out-of-range", "$.truncation_strategy.last_messages", msg))


def _rule_usage(value: object, out: list[Finding]) -> None:
    if not isinstance(value, dict):
        return
    prompt, completion, total = map(value.get, USAGE_COUNTS)
    if (
        type(prompt) is int
        and type(completion) is int
        and type(total) is int
        and prompt >= 0
        and completion >= 0
        and total == prompt + completion
    ):
        return  # the usual case, checked fast
    counts: list[int] = []
    for key in USAGE_COUNTS:
        count = value.get(key)
        if not is_int(count):
            return
        if count < 0:
            msg = f"expected an int >= 0, got {describe(count)}"
            out.append(_rule("out-of-range", f"$.usage.{key}", msg))
        counts.append(count)
    prompt, completion, total = counts
    if total != prompt + completion:
        msg = (
            "expected total_tokens == prompt_tokens + completion_tokens "
            f"({clip(prompt)} + {clip(completion)} = {clip(prompt + completion)}), "
            f"got {clip(total)}"
        )
        out.append(_rule("usage-mismatch", "$.usage.total_tokens", msg))


def _rule_limit(name: str) -> Check:
    def check(value: object, out: list[Finding]) -> None:
        if isinstance(value, int) and value < MIN_TOKEN_LIMIT and not isinstance(value, bool):
            if value < 1:
                out.append(_out_of_range(name, "null or an int >= 1", value))
            else:
                msg = (
                    f"the API documents a minimum of {MIN_TOKEN_LIMIT}, got {describe(value)} "
                    "(the live API accepts it: reported, not refused)"
                )
                out.append(_rule("below-documented-minimum", f"$.{name}", msg))

    return check


def _rule_instructions(value: object, out: list[Finding]) -> None:
    if isinstance(value, str) and len(value) > MAX_INSTRUCTIONS:
        msg = f"expected at most {MAX_INSTRUCTIONS:,} characters, got {len(value):,}"
        out.append(_rule("too-long", "$.instructions", msg))


def _tool_names(tools: object) -> list[tuple[Any, Any]]:
    """(type, function name or None) of each tool of a wire ``tools`` array."""
    if not isinstance(tools, list):
        return []
    facts: list[tuple[Any, Any]] = []
    for tool in tools:
        if not isinstance(tool, dict):
            facts.append((None, None))
            continue
        function = tool.get("function")
        name = function.get("name") if isinstance(function, dict) else None
        facts.append((tool.get("type"), name if tool.get("type") == "function" else None))
    return facts


def tools_problems(facts: list[tuple[Any, Any]], tool_choice: object) -> list[Finding]:
    """What the API refuses in a run's tools as a whole, and in its tool choice against them.

    *facts* are (type, function name or None) of each tool, in order. Two function tools
    may not share a name; ``tool_choice`` ``"required"`` needs a tool, and an object tool
    choice must name a tool the run has (a function by its name).
    """
    out: list[Finding] = []
    seen: dict[Any, int] = {}
    for i, (kind, name) in enumerate(facts):
        if kind != "function" or not isinstance(name, str):
            continue
        if name in seen:
            msg = (
                f"duplicate function name {clip(name)} (also tools[{seen[name]}]); "
                "function names must be unique"
            )
            out.append(_rule("duplicate-function-name", f"$.tools[{i}].function.name", msg))
        else:
            seen[name] = i
    if tool_choice == "required" and not facts:
        msg = "'required' needs at least one tool; the run has none"
        out.append(_rule("tool-choice-not-in-tools", "$.tool_choice", msg))
    elif isinstance(tool_choice, dict):
        kind = tool_choice.get("type")
        if kind == "function":
            function = tool_choice.get("function")
            name = function.get("name") if isinstance(function, dict) else None
            if isinstance(name, str) and name not in seen:
                have = ", ".join(str(n) for n in seen) or "none"
                msg = f"function {clip(name)} is not in the run's tools (its functions: {have})"
                path = "$.tool_choice.function.name"
                out.append(_rule("tool-choice-not-in-tools", path, msg))
        elif kind in ("file_search", "code_interpreter") and kind not in {k for k, _ in facts}:
            msg = f"tool choice {clip(kind)} is not a tool of the run"
            out.append(_rule("tool-choice-not-in-tools", "$.tool_choice.type", msg))
    return out


def _rule_temperature(value: object, out: list[Finding]) -> None:
    if isinstance(value, int | float) and not 0 <= value <= 2 and not isinstance(value, bool):
        out.append(_out_of_range("temperature", "null or a number in [0, 2]", value))


def _rule_top_p(value: object, out: list[Finding]) -> None:
    if isinstance(value, int | float) and not 0 <= value <= 1 and not isinstance(value, bool):
        out.append(_out_of_range("top_p", "null or a number in [0, 1]", value))


#: The rules of the fields a caller gives ``create``, one check of the field's value each.
RULES: Final[dict[str, Check]] = {
    "instructions": _rule_instructions,
    "max_completion_tokens": _rule_limit("max_completion_tokens"),
    "max_prompt_tokens": _rule_limit("max_prompt_tokens"),
    "metadata": _rule_metadata,
    "response_format": _rule_response_format,
    "temperature": _rule_temperature,
    "tool_choice": _rule_tool_choice,
    "tools": _rule_tools,
    "top_p": _rule_top_p,
    "truncation_strategy": _rule_truncation_strategy,
}


def rule_problems(data: dict[str, Any]) -> list[Finding]:
    """The documented API rules that *data* breaks.

    Real API payloads break some of them (a ``max_completion_tokens`` of 16, a null
    ``metadata``, a service's own tool types), so these are reported on load, never refused;
    the engine enforces them on what it writes.

    Args:
        data: A run dict whose structure is sound (:func:`structure_problems` found nothing).
            Anything else gives a best-effort answer, never an exception.

    Returns:
        The findings, all of kind ``"rule"``, in the seed's field order.
    """
    out: list[Finding] = []
    if not isinstance(data, dict):
        return out
    # Straight-line, in the seed's order, with the common sound values passed over inline:
    # the engine runs this on every create.
    get = data.get
    for name in _STAMPS:
        value = get(name)
        if isinstance(value, int) and value < 0:  # a bool is never negative
            out.append(_out_of_range(name, "a Unix time >= 0", value))
    value = get("incomplete_details")
    if value is not None:
        status = get("status")
        if status != "incomplete" and isinstance(status, str):
            msg = (
                f"incomplete_details is set but status is {describe(status)} (the API sets it "
                "for incomplete runs; runlife never writes it elsewhere)"
            )
            out.append(_rule("incomplete-details-set", "$.incomplete_details", msg))
        _rule_incomplete_details(value, out)
    _rule_instructions(get("instructions"), out)
    value = get("last_error")
    if value is not None:
        _rule_last_error(value, out)
    for name in _LIMITS:
        RULES[name](get(name), out)
    value = get("metadata")
    if value != {}:
        _rule_metadata(value, out)
    value = get("required_action")
    if value is not None:
        _rule_required_action(value, out)
    value = get("response_format")
    if value is not None and value != "auto":
        _rule_response_format(value, out)
    value = get("started_at")
    if isinstance(value, int) and value < 0:
        out.append(_out_of_range("started_at", "a Unix time >= 0", value))
    _rule_temperature(get("temperature"), out)
    value = get("tool_choice")
    if value != "auto":
        _rule_tool_choice(value, out)
    tools = get("tools")
    _rule_tools(tools, out)
    if value not in ("auto", "none") or (isinstance(tools, list) and len(tools) > 1):
        out.extend(tools_problems(_tool_names(tools), get("tool_choice")))
    _rule_top_p(get("top_p"), out)
    _rule_truncation_strategy(get("truncation_strategy"), out)
    value = get("usage")
    if value is not None:
        _rule_usage(value, out)
    return out
