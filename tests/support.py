"""Shared helpers of the test suite: a standard engine, and runs brought to any status."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

from runlife import ManualClock, Run, RunEngine, RunStatus

T0 = 1_700_000_000

WEATHER_TOOL: dict[str, Any] = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "The weather in a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
    },
}

CALL: dict[str, Any] = {
    "id": "call_1",
    "type": "function",
    "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
}

#: A ``thread.run.step``'s keys in the order the API writes them (the reference's example;
#: ``metadata``, which the API writes none of, left out), written out independently of
#: ``runlife``'s own ``STEP_ORDER``.
STEP_KEYS: tuple[str, ...] = (
    "id",
    "object",
    "created_at",
    "run_id",
    "assistant_id",
    "thread_id",
    "type",
    "status",
    "cancelled_at",
    "completed_at",
    "expired_at",
    "failed_at",
    "last_error",
    "step_details",
    "usage",
)

USAGE: dict[str, int] = {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15}

# The spec's table, written out independently of runlife's own.
SPEC: dict[str, tuple[set[str], str]] = {
    "start": ({"queued"}, "in_progress"),
    "require_action": ({"in_progress"}, "requires_action"),
    "submit_tool_outputs": ({"requires_action"}, "queued"),
    "complete": ({"in_progress", "cancelling"}, "completed"),
    "mark_incomplete": ({"in_progress", "cancelling"}, "incomplete"),
    "fail": ({"queued", "in_progress", "cancelling"}, "failed"),
    "cancel": ({"queued", "in_progress", "requires_action"}, "cancelling"),
    "finish_cancel": ({"cancelling"}, "cancelled"),
    "expire": ({"queued", "in_progress", "requires_action", "cancelling"}, "expired"),
}

#: Valid arguments for each trigger, for a run made by ``new_run``.
VALID_ARGS: dict[str, dict[str, Any]] = {
    "start": {},
    "require_action": {"tool_calls": [CALL]},
    "submit_tool_outputs": {"tool_outputs": [{"tool_call_id": "call_1", "output": "sunny"}]},
    "complete": {"usage": USAGE},
    "mark_incomplete": {"reason": "max_completion_tokens", "usage": USAGE},
    "fail": {"code": "server_error", "message": "boom"},
    "cancel": {},
    "finish_cancel": {},
    "expire": {},
}

#: A shortest legal path to each status, for a run made by ``new_run``.
PATHS: dict[RunStatus, tuple[str, ...]] = {
    RunStatus.QUEUED: (),
    RunStatus.IN_PROGRESS: ("start",),
    RunStatus.REQUIRES_ACTION: ("start", "require_action"),
    RunStatus.CANCELLING: ("start", "cancel"),
    RunStatus.CANCELLED: ("start", "cancel", "finish_cancel"),
    RunStatus.FAILED: ("fail",),
    RunStatus.COMPLETED: ("start", "complete"),
    RunStatus.INCOMPLETE: ("start", "mark_incomplete"),
    RunStatus.EXPIRED: ("expire",),
}


def step_ids() -> Callable[[], str]:
    """Step ids ``step_1``, ``step_2``, ...: what two engines make the same of."""
    count = itertools.count(1)
    return lambda: f"step_{next(count)}"


def new_engine(start: int = T0, ttl: int = 600) -> tuple[RunEngine, ManualClock]:
    clock = ManualClock(start)
    return RunEngine(clock=clock, ttl=ttl, step_id_factory=step_ids()), clock


def new_run(engine: RunEngine, **fields: Any) -> Run:
    defaults: dict[str, Any] = {
        "id": "run_abc",
        "assistant_id": "asst_1",
        "thread_id": "thread_1",
        "model": "gpt-4o",
        "instructions": "Be brief.",
        "tools": [WEATHER_TOOL],
        "max_completion_tokens": 256,
    }
    defaults.update(fields)
    return engine.create(**defaults)


def fire(run: Run, trigger: str, args: dict[str, Any] | None = None) -> None:
    getattr(run, trigger)(**(VALID_ARGS[trigger] if args is None else args))


def may(run: Run, trigger: str, args: dict[str, Any] | None = None) -> bool:
    result: bool = getattr(run, f"may_{trigger}")(**(VALID_ARGS[trigger] if args is None else args))
    return result


def run_in(status: RunStatus, engine: RunEngine, clock: ManualClock, **fields: Any) -> Run:
    run = new_run(engine, **fields)
    for trigger in PATHS[status]:
        clock.advance(1 if trigger != "expire" else engine.ttl)
        fire(run, trigger)
    return run
