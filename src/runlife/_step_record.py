"""The ``RunStep`` record: every field of the ``thread.run.step`` wire object, as attrs classes.

A run does its work in steps: a ``message_creation`` step writes a message, a
``tool_calls`` step holds the calls the model made (each gaining its ``output`` when the
outputs are submitted). The engine keeps a run's steps with the run (``run.steps``) and
moves them with the run's own moves (``runlife._steps``), by the coupling table of
``runlife._step_table``.

Like the run's nested classes, every class keeps the keys it does not know in ``extra``
and a payload's own key order in ``key_order``, so a loaded step is written back byte for
byte (``runlife._step_wire``). Unlike a ``Run``, a step carries no engine state: it is a
plain frozen value, and a step move makes a new one.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any, Final, TypeAlias

import attrs

from ._makers import maker
from ._record import UNSET, LastError, Unset, Usage, extra_field, key_order_field
from ._status import StepStatus

__all__ = [
    "STEP_FIELDS",
    "STEP_KEY_ORDERS",
    "STEP_ORDER",
    "MessageCreation",
    "MessageCreationDetails",
    "RunStep",
    "StepDetails",
    "StepFunction",
    "StepToolCall",
    "ToolCallsDetails",
    "UnknownStepDetails",
    "bind_step_validator",
    "make_message_creation",
    "make_message_creation_details",
    "make_run_step",
    "make_step_function",
    "make_step_tool_call",
    "make_tool_calls_details",
]

JSON: TypeAlias = Any


_extra = extra_field
_key_order = key_order_field


@attrs.frozen(kw_only=True, weakref_slot=False)
class StepFunction:
    """The ``function`` of a step's tool call: *name*, *arguments*, and *output* once submitted.

    *output* is null until the outputs are submitted (``UNSET`` when a payload left it out).
    """

    name: str
    arguments: str
    output: str | Unset | None = None
    extra: Mapping[str, JSON] = _extra()
    key_order: tuple[str, ...] | None = _key_order()


@attrs.frozen(kw_only=True, weakref_slot=False)
class StepToolCall:
    """One call of a ``tool_calls`` step: ``{"id", "type", "function"}`` for a function call.

    Calls of the other types (``code_interpreter``, ``file_search``) keep their type's
    object in ``extra`` and have no ``function``.
    """

    id: str
    type: str = "function"
    function: StepFunction | Unset = UNSET
    extra: Mapping[str, JSON] = _extra()
    key_order: tuple[str, ...] | None = _key_order()


@attrs.frozen(kw_only=True, weakref_slot=False)
class ToolCallsDetails:
    """``step_details`` of a ``tool_calls`` step: the calls the model made."""

    tool_calls: tuple[StepToolCall, ...]
    type: str = "tool_calls"
    extra: Mapping[str, JSON] = _extra()
    key_order: tuple[str, ...] | None = _key_order()


@attrs.frozen(kw_only=True, weakref_slot=False)
class MessageCreation:
    """``message_creation``: the id of the message the step wrote."""

    message_id: str
    extra: Mapping[str, JSON] = _extra()
    key_order: tuple[str, ...] | None = _key_order()


@attrs.frozen(kw_only=True, weakref_slot=False)
class MessageCreationDetails:
    """``step_details`` of a ``message_creation`` step."""

    message_creation: MessageCreation
    type: str = "message_creation"
    extra: Mapping[str, JSON] = _extra()
    key_order: tuple[str, ...] | None = _key_order()


@attrs.frozen(kw_only=True, weakref_slot=False)
class UnknownStepDetails:
    """``step_details`` of a type runlife does not know: its *type*, the rest in ``extra``."""

    type: str
    extra: Mapping[str, JSON] = _extra()
    key_order: tuple[str, ...] | None = _key_order()


StepDetails: TypeAlias = ToolCallsDetails | MessageCreationDetails | UnknownStepDetails


@attrs.frozen(kw_only=True, weakref_slot=False)
class RunStep:
    """A run step, ``thread.run.step``: one unit of a run's work and its own small lifecycle.

    *status* is ``in_progress`` until the step ends ``completed``, ``cancelled``, ``failed``
    or ``expired``, each with its stamp (``completed_at``, ``cancelled_at``, ``failed_at``,
    ``expired_at``); a failed step has the run's *last_error*; *usage* is null while the
    step is in progress. *metadata* is absent (``UNSET``) unless a payload had it: the API
    writes none.

    Built by hand (or by ``attrs.evolve``), a step is checked as ``step_from_dict`` checks
    one (``InvalidRun``, every problem with its path); a status string becomes a
    ``StepStatus``.
    """

    id: str
    created_at: int
    run_id: str
    assistant_id: str
    thread_id: str
    type: str
    status: StepStatus
    step_details: StepDetails
    object: str = "thread.run.step"
    cancelled_at: int | None = None
    completed_at: int | None = None
    expired_at: int | Unset | None = None
    failed_at: int | None = None
    last_error: LastError | None = None
    usage: Usage | None = None
    metadata: Mapping[str, JSON] | Unset | None = UNSET
    extra: Mapping[str, JSON] = _extra()
    key_order: tuple[str, ...] | None = _key_order()

    def __attrs_post_init__(self) -> None:
        # A step built by hand (or by attrs.evolve) is checked as loading checks one: the
        # validator is the wire's (``runlife._step_wire`` binds it at import).
        if _validator is not None:
            _validator(self)

    @property
    def is_open(self) -> bool:
        """Whether the step is still ``in_progress``."""
        return self.status is StepStatus.IN_PROGRESS


_validator: Callable[[RunStep], None] | None = None


def bind_step_validator(validator: Callable[[RunStep], None]) -> None:
    """Set the structure check of steps built by hand (``runlife._step_wire`` does, at import)."""
    global _validator  # noqa: PLW0603 - bound once, at import
    _validator = validator


#: The keys of a step's wire object in the order the API writes them (its recorded step
#: payloads and the reference's example), ``metadata`` last: the API writes none.
STEP_ORDER: Final[tuple[str, ...]] = (
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
    "metadata",
)

#: The keys of each step class's wire object, in the API's order.
STEP_KEY_ORDERS: Final[Mapping[type, tuple[str, ...]]] = MappingProxyType(
    {
        StepFunction: ("name", "arguments", "output"),
        StepToolCall: ("id", "type", "function"),
        ToolCallsDetails: ("type", "tool_calls"),
        MessageCreation: ("message_id",),
        MessageCreationDetails: ("type", "message_creation"),
        UnknownStepDetails: ("type",),
        RunStep: STEP_ORDER,
    }
)

#: The record's init fields, in order (what a maker takes).
STEP_FIELDS: Final = tuple(f.name for f in attrs.fields(RunStep))

#: Keyword-only trusted constructors (``runlife._makers``, fenced at import): the engine's
#: step moves build steps from values it has checked, at a third of ``attrs``' init.
make_run_step: Any = maker(RunStep)
make_step_function: Any = maker(StepFunction)
make_step_tool_call: Any = maker(StepToolCall)
make_tool_calls_details: Any = maker(ToolCallsDetails)
make_message_creation: Any = maker(MessageCreation)
make_message_creation_details: Any = maker(MessageCreationDetails)
