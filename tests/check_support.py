"""Shared helpers of the tests of the checks: recorded payloads, sound runs in any status, edits."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hypothesis import strategies as st

from runlife import Finding

if TYPE_CHECKING:
    from collections.abc import Callable


#: Recorded API payloads, copied into the project (tests/data/payloads/README.md says whence).
PAYLOAD_DIR = Path(__file__).resolve().parent / "data" / "payloads"
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


def with_tools(*tools: object) -> Callable[[dict[str, Any]], object]:
    return lambda data: put(data, ("tools",), list(tools))


def function_tool(**function: object) -> dict[str, Any]:
    return {"type": "function", "function": function}


def set_to(path: Path_, value: object) -> Callable[[dict[str, Any]], object]:
    return lambda data: put(data, path, value)


CALLS = ("required_action", "submit_tool_outputs", "tool_calls")
CALL_PATH = "$.required_action.submit_tool_outputs.tool_calls"


def duplicate_call(data: dict[str, Any]) -> None:
    calls = data["required_action"]["submit_tool_outputs"]["tool_calls"]
    calls.append(copy.deepcopy(calls[0]))
