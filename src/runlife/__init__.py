"""runlife: the lifecycle of an AI-assistant run (the Assistants API's ``thread.run``).

>>> from runlife import ManualClock, RunEngine
>>> engine = RunEngine(clock=ManualClock(1_700_000_000))
>>> run = engine.create(id="run_1", assistant_id="asst_1", thread_id="thread_1", model="gpt-4o")
>>> run.start()
>>> run.status
<RunStatus.IN_PROGRESS: 'in_progress'>
"""

from __future__ import annotations

import warnings
from typing import Any as _Any

from . import _errors
from ._check import inspect as _inspect
from ._clock import Clock, ManualClock, SystemClock
from ._constraints import ERROR_CODES, INCOMPLETE_REASONS, MAX_JSON_DEPTH, STEP_ERROR_CODES
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
from ._events import RunEvent, StepEvent
from ._events import sse_encode as _sse_encode
from ._extras import EXTRAS, Extra, install_command, missing_extra
from ._findings import Finding
from ._history import Move, chain_problems
from ._invariants import invariant_problems
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
from ._snapshot import dump, expect_version, initial_wire, rebuild, restore
from ._status import ACTIVE, HELD, STEP_TERMINAL, TERMINAL, WAITING, RunStatus, StepStatus
from ._step_check import step_problems as _step_problems
from ._step_check import steps_problems as _steps_problems
from ._step_record import (
    MessageCreation,
    MessageCreationDetails,
    RunStep,
    StepDetails,
    StepFunction,
    StepToolCall,
    ToolCallsDetails,
    UnknownStepDetails,
)
from ._step_table import (
    COUPLING,
    STEP_OPS,
    STEP_TABLE,
    STEP_TYPES,
    Coupling,
    StepOp,
    StepRow,
    StepTable,
)
from ._step_wire import step_from_dict, step_from_json, step_to_dict, step_to_json
from ._steps import step_usage_sum
from ._table import TABLE, TRANSITIONS, TRIGGERS, Param, Table, TableRow
from ._wire import configure_converter, from_dict, from_json, make_converter, to_dict, to_json
from ._wire import with_missing_filled as _with_missing_filled

__all__ = [
    "ACTIVE",
    "COUPLING",
    "ERROR_CODES",
    "EXTRAS",
    "HELD",
    "INCOMPLETE_REASONS",
    "MAX_JSON_DEPTH",
    "STEP_ERROR_CODES",
    "STEP_OPS",
    "STEP_TABLE",
    "STEP_TERMINAL",
    "STEP_TYPES",
    "TABLE",
    "TERMINAL",
    "TRANSITIONS",
    "TRIGGERS",
    "UNSET",
    "WAITING",
    "Clock",
    "CodeInterpreterTool",
    "Conflict",
    "Coupling",
    "Extra",
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
    "MessageCreation",
    "MessageCreationDetails",
    "Move",
    "Param",
    "RequiredAction",
    "ResponseFormat",
    "Run",
    "RunEngine",
    "RunEvent",
    "RunNotFound",
    "RunStatus",
    "RunStep",
    "RunlifeError",
    "StepDetails",
    "StepEvent",
    "StepFunction",
    "StepOp",
    "StepRow",
    "StepStatus",
    "StepTable",
    "StepToolCall",
    "SubmitToolOutputs",
    "SystemClock",
    "Table",
    "TableRow",
    "ThreadBusy",
    "Tool",
    "ToolCall",
    "ToolCallsDetails",
    "ToolChoice",
    "ToolChoiceFunction",
    "TruncationStrategy",
    "UnknownStepDetails",
    "UnknownTool",
    "Unset",
    "Usage",
    "chain_problems",
    "check",
    "configure_converter",
    "dump",
    "expect_version",
    "from_dict",
    "from_json",
    "initial_wire",
    "install_command",
    "invariant_problems",
    "make_converter",
    "missing_extra",
    "rebuild",
    "restore",
    "step_from_dict",
    "step_from_json",
    "step_to_dict",
    "step_to_json",
    "step_usage_sum",
    "to_dict",
    "to_json",
]


def check(run_or_dict: _Any, *, fill_missing: bool = False, steps: _Any = None) -> list[Finding]:
    """Every problem with a run or any JSON value, as ``Finding``s; empty when sound.

    Never raises: structure problems (what would make loading fail), broken invariants
    (the spec's eight), and documented rules that a loaded payload breaks, each with a
    ``kind``, a stable ``code``, a ``path`` (``$.usage``) and a ``message``. Structure
    problems do not hide the others on the fields that are sound.

    A run loaded with ``from_dict(..., fill_missing=True)`` has a ``filled-missing-field``
    rule finding for each field it was given; *fill_missing* judges a dict the same way
    (what ``from_dict(d, fill_missing=True)`` would load).

    The run's steps are checked with it: a ``Run``'s own (``run.steps``), or for a dict
    the *steps* given (a list of step wire dicts or ``RunStep``s, as the API lists them).
    Their findings come after the run's, with paths under ``$.steps[i]``: each step's
    structure, stamps and error, and the run with its steps (at most one open step, none
    on a terminal run, the usage sum, an output for every call of a completed
    ``tool_calls`` step).

    A step on its own (a ``RunStep``, or a dict whose ``object`` is ``"thread.run.step"``)
    is checked as a step: its structure, stamps, error and rules, paths from ``$``.
    """
    if isinstance(run_or_dict, RunStep):
        return _step_problems(step_to_dict(run_or_dict))
    if isinstance(run_or_dict, dict) and run_or_dict.get("object") == "thread.run.step":
        return _step_problems(run_or_dict)
    if isinstance(run_or_dict, Run):
        data = to_dict(run_or_dict)
        found = _inspect(data, filled=run_or_dict.filled)
        held = run_or_dict.steps if steps is None else steps
    elif fill_missing:
        data, filled = _with_missing_filled(run_or_dict)
        found = _inspect(data, filled=filled)
        held = steps
    else:
        data = run_or_dict
        found = _inspect(data)
        held = steps
    if held is not None and (not isinstance(held, (list, tuple)) or held):
        wire = (
            [step_to_dict(s) if isinstance(s, RunStep) else s for s in held]
            if isinstance(held, (list, tuple))
            else held
        )
        found.extend(_steps_problems(data, wire))
    return found


# Errors show under the name users import them by (``runlife.InvalidRun: ...`` in a
# traceback, not the private module that defines them); pickling finds them there too.
for _name in _errors.__all__:
    getattr(_errors, _name).__module__ = __name__
# `from __future__ import annotations` binds `annotations` here; it is no public name.
del _name, annotations

#: Deprecated names, kept for one release: name -> (what to use instead, the object).
_DEPRECATED: dict[str, tuple[str, _Any]] = {
    "replay": ("runlife.rebuild", rebuild),
    "Transition": ("runlife.TableRow", TableRow),
    "sse_encode": ("runlife.serve.sse.encode", _sse_encode),
}


def __getattr__(name: str) -> _Any:
    if name == "__version__":
        from importlib.metadata import version  # noqa: PLC0415

        return version("runlife")
    if name in _DEPRECATED:
        instead, value = _DEPRECATED[name]
        warnings.warn(
            f"runlife.{name} is deprecated and goes in the next release: use {instead}",
            DeprecationWarning,
            stacklevel=2,
        )
        return value
    raise AttributeError(f"module 'runlife' has no attribute {name!r}")
