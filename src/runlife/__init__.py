"""runlife: the lifecycle of an AI-assistant run (the Assistants API's ``thread.run``).

>>> from runlife import ManualClock, RunEngine
>>> engine = RunEngine(clock=ManualClock(1_700_000_000))
>>> run = engine.create(id="run_1", assistant_id="asst_1", thread_id="thread_1", model="gpt-4o")
>>> run.start()
>>> run.status
<RunStatus.IN_PROGRESS: 'in_progress'>
"""

from __future__ import annotations

from typing import Any as _Any

from ._check import Finding
from ._check import inspect as _inspect
from ._clock import Clock, ManualClock, SystemClock
from ._engine import RunEngine
from ._errors import (
    Conflict,
    GuardRejected,
    IllegalTransition,
    InvalidRun,
    RunlifeError,
    RunNotFound,
    ThreadBusy,
)
from ._events import RunEvent, sse_encode
from ._history import Move
from ._record import (
    UNSET,
    CodeInterpreterTool,
    FileSearchTool,
    FunctionCall,
    FunctionDefinition,
    FunctionTool,
    IncompleteDetails,
    LastError,
    RequiredAction,
    ResponseFormat,
    Run,
    SubmitToolOutputs,
    Tool,
    ToolCall,
    ToolChoice,
    ToolChoiceFunction,
    TruncationStrategy,
    UnknownTool,
    Unset,
    Usage,
)
from ._replay import replay
from ._status import ACTIVE, HELD, TERMINAL, WAITING, RunStatus
from ._stored import dump, expect_version, initial_wire, restore
from ._table import TRANSITIONS, TRIGGERS, Transition
from ._wire import configure_converter, from_dict, from_json, make_converter, to_dict, to_json

__all__ = [
    "ACTIVE",
    "HELD",
    "TERMINAL",
    "TRANSITIONS",
    "TRIGGERS",
    "UNSET",
    "WAITING",
    "Clock",
    "CodeInterpreterTool",
    "Conflict",
    "FileSearchTool",
    "Finding",
    "FunctionCall",
    "FunctionDefinition",
    "FunctionTool",
    "GuardRejected",
    "IllegalTransition",
    "IncompleteDetails",
    "InvalidRun",
    "LastError",
    "ManualClock",
    "Move",
    "RequiredAction",
    "ResponseFormat",
    "Run",
    "RunEngine",
    "RunEvent",
    "RunNotFound",
    "RunStatus",
    "RunlifeError",
    "SubmitToolOutputs",
    "SystemClock",
    "ThreadBusy",
    "Tool",
    "ToolCall",
    "ToolChoice",
    "ToolChoiceFunction",
    "Transition",
    "TruncationStrategy",
    "UnknownTool",
    "Unset",
    "Usage",
    "check",
    "configure_converter",
    "dump",
    "expect_version",
    "from_dict",
    "from_json",
    "initial_wire",
    "make_converter",
    "replay",
    "restore",
    "sse_encode",
    "to_dict",
    "to_json",
]


def check(run_or_dict: _Any) -> list[Finding]:
    """Every problem with a run or any JSON value, as ``Finding``s; empty when sound.

    Never raises: structure problems (what would make loading fail), broken invariants
    (the spec's eight), and documented rules that a loaded payload breaks, each with a
    ``kind``, a stable ``code``, a ``path`` (``$.usage``) and a ``message``.
    """
    if isinstance(run_or_dict, Run):
        run_or_dict = to_dict(run_or_dict)
    return _inspect(run_or_dict)


def __getattr__(name: str) -> str:
    if name == "__version__":
        from importlib.metadata import version  # noqa: PLC0415

        return version("runlife")
    raise AttributeError(f"module 'runlife' has no attribute {name!r}")
