"""Hypothesis strategies for structurally valid wire payloads: rule breaks and unknown keys included."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(-(2**40), 2**40)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8)
)
json_values = st.recursive(
    json_scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=8,
)
#: Keys that no class of the record knows.
unknown_keys = st.sampled_from(["x_extra", "tool_resources", "reasoning_effort", "é", "a b", "0"])


def with_unknown(base: st.SearchStrategy[dict[str, Any]]) -> st.SearchStrategy[dict[str, Any]]:
    """Add unknown keys to the dicts *base* draws."""
    return st.tuples(base, st.dictionaries(unknown_keys, json_values, max_size=2)).map(
        lambda pair: {**pair[0], **{k: v for k, v in pair[1].items() if k not in pair[0]}}
    )


ints = st.integers(-5, 2**33)
opt_ints = st.none() | ints
strs = st.text(max_size=10)
numbers = st.integers(-3, 3) | st.floats(-3, 3, allow_nan=False)

tool_calls = with_unknown(
    st.fixed_dictionaries(
        {
            "id": strs,
            "type": st.sampled_from(["function", "other"]),
            "function": with_unknown(st.fixed_dictionaries({"name": strs, "arguments": strs})),
        }
    )
)
required_actions = st.none() | with_unknown(
    st.fixed_dictionaries(
        {
            "type": st.sampled_from(["submit_tool_outputs", "x"]),
            "submit_tool_outputs": with_unknown(
                st.fixed_dictionaries({"tool_calls": st.lists(tool_calls, max_size=3)})
            ),
        }
    )
)
function_defs = with_unknown(
    st.fixed_dictionaries(
        {"name": strs},
        optional={
            "description": strs,
            "parameters": st.dictionaries(strs, json_values, max_size=2),
            "strict": st.none() | st.booleans(),
        },
    )
)
tools = with_unknown(
    st.one_of(
        st.fixed_dictionaries({"type": st.just("code_interpreter")}),
        st.fixed_dictionaries(
            {"type": st.just("file_search")},
            optional={"file_search": st.dictionaries(strs, json_values, max_size=2)},
        ),
        st.fixed_dictionaries({"type": st.just("function"), "function": function_defs}),
        st.fixed_dictionaries({"type": st.just("function")}, optional={"function": json_values}),
        st.fixed_dictionaries({"type": strs}),
    )
)
usages = st.none() | with_unknown(
    st.fixed_dictionaries({"prompt_tokens": ints, "completion_tokens": ints, "total_tokens": ints})
)
tool_choices = (
    st.none()
    | strs
    | with_unknown(
        st.fixed_dictionaries(
            {"type": strs},
            optional={"function": with_unknown(st.fixed_dictionaries({"name": strs}))},
        )
    )
)
response_formats = (
    st.none()
    | strs
    | with_unknown(st.fixed_dictionaries({"type": strs}, optional={"json_schema": json_values}))
)
truncations = st.none() | with_unknown(
    st.fixed_dictionaries({"type": strs}, optional={"last_messages": opt_ints})
)

STATUSES = [
    "queued",
    "in_progress",
    "requires_action",
    "cancelling",
    "cancelled",
    "failed",
    "completed",
    "incomplete",
    "expired",
]


def wire_dicts() -> st.SearchStrategy[dict[str, Any]]:
    """Structurally valid run payloads, breaking documented rules and invariants freely."""
    return with_unknown(
        st.fixed_dictionaries(
            {
                "id": strs,
                "object": st.just("thread.run"),
                "created_at": ints,
                "assistant_id": strs,
                "thread_id": strs,
                "status": st.sampled_from(STATUSES),
                "started_at": opt_ints,
                "expires_at": opt_ints,
                "cancelled_at": opt_ints,
                "failed_at": opt_ints,
                "completed_at": opt_ints,
                "required_action": required_actions,
                "last_error": st.none()
                | with_unknown(st.fixed_dictionaries({"code": strs, "message": strs})),
                "model": strs,
                "instructions": st.none() | strs,
                "tools": st.lists(tools, max_size=3),
                "metadata": st.none() | st.dictionaries(strs, json_values, max_size=3),
                "max_completion_tokens": opt_ints,
                "max_prompt_tokens": opt_ints,
                "truncation_strategy": truncations,
                "incomplete_details": st.none()
                | with_unknown(st.fixed_dictionaries({}, optional={"reason": st.none() | strs})),
                "usage": usages,
                "response_format": response_formats,
                "tool_choice": tool_choices,
                "parallel_tool_calls": st.booleans(),
            },
            optional={"temperature": st.none() | numbers, "top_p": st.none() | numbers},
        )
    )


def shuffled(value: Any, random: Any) -> Any:
    """*value* with the keys of every object in it, at every level, in a random order."""
    if isinstance(value, dict):
        keys = list(value)
        random.shuffle(keys)
        return {k: shuffled(value[k], random) for k in keys}
    if isinstance(value, list):
        return [shuffled(v, random) for v in value]
    return value
