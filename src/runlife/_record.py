"""The ``Run`` record: every field of the ``thread.run`` wire object, as attrs classes.

Every class keeps the keys it does not know in ``extra`` (written back after the known
ones, in the order they came), so that a loaded payload is written back unchanged.
Keys that the API may leave out (``temperature``, ``top_p``, a tool's ``description`` ...)
hold ``UNSET`` when they were absent, and are then left out again on the wire.

The record is read-only to its users (``attrs.frozen``): a run's status and stamps move
only through its trigger methods, which the engine writes in one commit.
"""

from __future__ import annotations

import enum
import threading
from collections.abc import Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Final, TypeAlias

import attrs

from ._status import RunStatus

if TYPE_CHECKING:
    from collections.abc import Sequence

    from ._engine import RunEngine
    from ._history import Move

__all__ = [
    "UNSET",
    "CodeInterpreterTool",
    "FileSearchTool",
    "FunctionCall",
    "FunctionDefinition",
    "FunctionTool",
    "IncompleteDetails",
    "LastError",
    "RequiredAction",
    "ResponseFormat",
    "Run",
    "SubmitToolOutputs",
    "Tool",
    "ToolCall",
    "ToolChoice",
    "ToolChoiceFunction",
    "TruncationStrategy",
    "UnknownTool",
    "Unset",
    "Usage",
]


class Unset(enum.Enum):
    """The type of ``UNSET``: a key that was absent from the wire object."""

    UNSET = "UNSET"

    def __repr__(self) -> str:
        return "UNSET"

    def __bool__(self) -> bool:
        return False


#: The arguments of the triggers that take none.
_NO_ARGS: Final[Mapping[str, Any]] = MappingProxyType({})

#: Marks a key that the wire object did not have; it stays absent when written back.
UNSET: Final = Unset.UNSET

JSON: TypeAlias = Any


def _extra() -> Any:
    return attrs.field(factory=dict, kw_only=True, repr=lambda d: repr(d) if d else "{}")


@attrs.frozen(kw_only=True, weakref_slot=False)
class FunctionCall:
    """The ``function`` of a tool call: its *name* and *arguments* (a string, meant to hold JSON)."""

    name: str
    arguments: str
    extra: dict[str, JSON] = _extra()


@attrs.frozen(kw_only=True, weakref_slot=False)
class ToolCall:
    """One call the run asks the caller to make: ``{"id", "type": "function", "function"}``."""

    id: str
    function: FunctionCall
    type: str = "function"
    extra: dict[str, JSON] = _extra()


@attrs.frozen(kw_only=True, weakref_slot=False)
class SubmitToolOutputs:
    """``required_action.submit_tool_outputs``: the pending *tool_calls*."""

    tool_calls: tuple[ToolCall, ...]
    extra: dict[str, JSON] = _extra()


@attrs.frozen(kw_only=True, weakref_slot=False)
class RequiredAction:
    """What the run waits for while ``requires_action``."""

    submit_tool_outputs: SubmitToolOutputs
    type: str = "submit_tool_outputs"
    extra: dict[str, JSON] = _extra()


@attrs.frozen(kw_only=True, weakref_slot=False)
class LastError:
    """Why a run failed: *code* (``server_error``, ``rate_limit_exceeded``, ``invalid_prompt``) and *message*."""

    code: str
    message: str
    extra: dict[str, JSON] = _extra()


@attrs.frozen(kw_only=True, weakref_slot=False)
class IncompleteDetails:
    """Why a run is incomplete: *reason* ``max_prompt_tokens`` or ``max_completion_tokens``."""

    reason: str | Unset | None = UNSET
    extra: dict[str, JSON] = _extra()


@attrs.frozen(kw_only=True, weakref_slot=False)
class Usage:
    """Token counts of a finished run; ``total_tokens == prompt_tokens + completion_tokens``."""

    prompt_tokens: int
    completion_tokens: int
    total_tokens: int
    extra: dict[str, JSON] = _extra()


@attrs.frozen(kw_only=True, weakref_slot=False)
class TruncationStrategy:
    """How the thread is truncated for the model: ``auto`` or ``last_messages``."""

    type: str = "auto"
    last_messages: int | Unset | None = None
    extra: dict[str, JSON] = _extra()


@attrs.frozen(kw_only=True, weakref_slot=False)
class CodeInterpreterTool:
    """``{"type": "code_interpreter"}``."""

    type: str = "code_interpreter"
    extra: dict[str, JSON] = _extra()


@attrs.frozen(kw_only=True, weakref_slot=False)
class FileSearchTool:
    """``{"type": "file_search", "file_search"?: {...}}``; *file_search* is kept as given."""

    type: str = "file_search"
    file_search: dict[str, JSON] | Unset = UNSET
    extra: dict[str, JSON] = _extra()


@attrs.frozen(kw_only=True, weakref_slot=False)
class FunctionDefinition:
    """A function the model may call: *name*, and optionally *description*, *parameters*, *strict*."""

    name: str
    description: str | Unset = UNSET
    parameters: dict[str, JSON] | Unset = UNSET
    strict: bool | Unset | None = UNSET
    extra: dict[str, JSON] = _extra()


@attrs.frozen(kw_only=True, weakref_slot=False)
class FunctionTool:
    """``{"type": "function", "function": {...}}``."""

    function: FunctionDefinition
    type: str = "function"
    extra: dict[str, JSON] = _extra()


@attrs.frozen(kw_only=True, weakref_slot=False)
class UnknownTool:
    """A tool the record does not type (another service's tool type, or a malformed one).

    *type* is its ``type``; every other key is kept in *extra*, in order.
    """

    type: str
    extra: dict[str, JSON] = _extra()


#: Any entry of ``Run.tools``.
Tool: TypeAlias = CodeInterpreterTool | FileSearchTool | FunctionTool | UnknownTool


@attrs.frozen(kw_only=True, weakref_slot=False)
class ToolChoiceFunction:
    """``tool_choice.function``: the *name* of the function the model must call."""

    name: str
    extra: dict[str, JSON] = _extra()


@attrs.frozen(kw_only=True, weakref_slot=False)
class ToolChoice:
    """An object ``tool_choice``: ``{"type": "function", "function": {"name"}}`` or a tool type."""

    type: str
    function: ToolChoiceFunction | Unset = UNSET
    extra: dict[str, JSON] = _extra()


@attrs.frozen(kw_only=True, weakref_slot=False)
class ResponseFormat:
    """An object ``response_format``: ``{"type": "text" | "json_object" | "json_schema", ...}``."""

    type: str
    json_schema: dict[str, JSON] | Unset = UNSET
    extra: dict[str, JSON] = _extra()


def _default_truncation() -> TruncationStrategy:
    return TruncationStrategy()


@attrs.frozen(kw_only=True, eq=True, unsafe_hash=False, weakref_slot=False)
class Run:
    """A ``thread.run``: the wire object's fields, in the order of the API's reference.

    Build runs with ``RunEngine.create`` (or load them with ``from_dict``/``RunEngine.load``);
    the record is read-only and moves only through its trigger methods (``start``,
    ``require_action``, ...), each of which either completes the whole move or raises and
    leaves the run exactly as it was.

    Thread-safety: triggers on one run are serialised by the run's lock; read a consistent
    snapshot of a run that other threads move with ``to_dict``.
    """

    assistant_id: str
    cancelled_at: int | None = None
    completed_at: int | None = None
    created_at: int
    expires_at: int | None = None
    failed_at: int | None = None
    id: str
    incomplete_details: IncompleteDetails | None = None
    instructions: str | None = ""
    last_error: LastError | None = None
    max_completion_tokens: int | None = None
    max_prompt_tokens: int | None = None
    metadata: dict[str, JSON] | None = attrs.field(factory=dict)
    model: str
    object: str = "thread.run"
    parallel_tool_calls: bool = True
    required_action: RequiredAction | None = None
    response_format: str | ResponseFormat | None = "auto"
    started_at: int | None = None
    status: RunStatus = RunStatus.QUEUED
    temperature: float | Unset | None = None
    thread_id: str
    tool_choice: str | ToolChoice | None = "auto"
    tools: tuple[Tool, ...] = ()
    top_p: float | Unset | None = None
    truncation_strategy: TruncationStrategy | None = attrs.field(factory=_default_truncation)
    usage: Usage | None = None
    #: Unknown top-level keys, kept in the order they came and written after the known ones.
    extra: dict[str, JSON] = _extra()

    # Not part of the wire object: invisible to repr, ==, and the converter.
    _engine: RunEngine | None = attrs.field(default=None, init=False, eq=False, repr=False)
    _lock: threading.Lock = attrs.field(factory=threading.Lock, init=False, eq=False, repr=False)
    _history: list[Move] | None = attrs.field(default=None, init=False, eq=False, repr=False)
    #: How many moves the run has made (counted on from a restored document's version).
    _version: int = attrs.field(default=0, init=False, eq=False, repr=False)
    #: The lifecycle fields (``_engine.LIFECYCLE``) as they were before the first recorded move.
    _origin: tuple[Any, ...] | None = attrs.field(default=None, init=False, eq=False, repr=False)

    # --- the lifecycle -------------------------------------------------------------------

    def __attrs_post_init__(self) -> None:
        # Only runs built by hand get here: the converter and the engine use ``make_run``.
        from ._wire import validate_record  # noqa: PLC0415 - circular by nature

        validate_record(self)

    @property
    def engine(self) -> RunEngine:
        """The engine this run is bound to (the module's default engine unless loaded by another)."""
        engine = self._engine
        if engine is None:
            from ._engine import default_engine  # noqa: PLC0415 - circular by nature

            engine = default_engine()
            object.__setattr__(self, "_engine", engine)
        return engine

    @property
    def history(self) -> tuple[Move, ...]:
        """The moves this run made through its engine, oldest first (empty when not recorded).

        Append-only: a move is added by the commit that makes it. It survives storage through
        ``runlife.dump``/``runlife.restore`` (not through ``to_dict``, the API's object).
        """
        with self._lock:
            return tuple(self._history) if self._history else ()

    @property
    def version(self) -> int:
        """How many moves the run has made: 0 when created, one more after each move.

        A run loaded from a plain wire dict starts at 0; one restored from a ``runlife.dump``
        document goes on from the version stored there. Databases use it for
        compare-and-set writes (``UPDATE ... WHERE id = ? AND version = <the version read>``).
        """
        return self._version

    def start(self) -> None:
        """``queued -> in_progress``; stamps ``started_at`` (on every start).

        Raises:
            IllegalTransition: the run is not ``queued``.
        """
        (self._engine or self.engine)._fire(self, "start", _NO_ARGS)

    def require_action(self, tool_calls: Sequence[ToolCall | Mapping[str, Any]]) -> None:
        """``in_progress -> requires_action``; sets ``required_action`` to *tool_calls*.

        Raises:
            IllegalTransition: the run is not ``in_progress``.
            GuardRejected: no calls, duplicate or empty ids, a call that is not a declared
                function, more than one call with ``parallel_tool_calls`` false, or
                ``tool_choice == "none"``.
        """
        (self._engine or self.engine)._fire(self, "require_action", {"tool_calls": tool_calls})

    def submit_tool_outputs(self, tool_outputs: Sequence[Mapping[str, Any]]) -> None:
        """``requires_action -> queued``; clears ``required_action``.

        Raises:
            IllegalTransition: the run is not ``requires_action``.
            GuardRejected: the outputs' ``tool_call_id`` are not exactly the pending calls.
        """
        (self._engine or self.engine)._fire(
            self, "submit_tool_outputs", {"tool_outputs": tool_outputs}
        )

    def complete(self, usage: Usage | Mapping[str, Any] | None = None) -> None:
        """``in_progress | cancelling -> completed``; stamps ``completed_at``, sets *usage*.

        Raises:
            IllegalTransition: the run is in another status.
            GuardRejected: the run never started, or *usage* is malformed.
        """
        (self._engine or self.engine)._fire(self, "complete", {"usage": usage})

    def mark_incomplete(self, reason: str, usage: Usage | Mapping[str, Any] | None = None) -> None:
        """``in_progress | cancelling -> incomplete``; sets ``incomplete_details``, ``completed_at``.

        Raises:
            IllegalTransition: the run is in another status.
            GuardRejected: *reason* is not ``max_prompt_tokens``/``max_completion_tokens``,
                the run has no such limit, never started, or *usage* is malformed.
        """
        (self._engine or self.engine)._fire(
            self, "mark_incomplete", {"reason": reason, "usage": usage}
        )

    def fail(self, code: str, message: str, usage: Usage | Mapping[str, Any] | None = None) -> None:
        """``queued | in_progress | cancelling -> failed``; sets ``last_error``, ``failed_at``.

        Raises:
            IllegalTransition: the run is in another status.
            GuardRejected: *code* is not ``server_error``, ``rate_limit_exceeded`` or
                ``invalid_prompt``, *message* is not a string, or *usage* is malformed.
        """
        (self._engine or self.engine)._fire(
            self, "fail", {"code": code, "message": message, "usage": usage}
        )

    def cancel(self) -> None:
        """``queued | in_progress | requires_action -> cancelling``; clears ``required_action``.

        Raises:
            IllegalTransition: the run is in another status.
        """
        (self._engine or self.engine)._fire(self, "cancel", _NO_ARGS)

    def finish_cancel(self) -> None:
        """``cancelling -> cancelled``; stamps ``cancelled_at``.

        Raises:
            IllegalTransition: the run is not ``cancelling``.
        """
        (self._engine or self.engine)._fire(self, "finish_cancel", _NO_ARGS)

    def expire(self) -> None:
        """Any active status ``-> expired``, once the clock has reached ``expires_at``.

        Raises:
            IllegalTransition: the run is terminal.
            GuardRejected: ``expires_at`` has not passed yet.
        """
        (self._engine or self.engine)._fire(self, "expire", _NO_ARGS)

    # --- may_<trigger>: the same call, answered without side effects ------------------

    def may_start(self) -> bool:
        """Whether ``start()`` would succeed now."""
        return self.engine._may(self, "start", {})

    def may_require_action(self, tool_calls: Sequence[ToolCall | Mapping[str, Any]]) -> bool:
        """Whether ``require_action(tool_calls)`` would succeed now."""
        return self.engine._may(self, "require_action", {"tool_calls": tool_calls})

    def may_submit_tool_outputs(self, tool_outputs: Sequence[Mapping[str, Any]]) -> bool:
        """Whether ``submit_tool_outputs(tool_outputs)`` would succeed now."""
        return self.engine._may(self, "submit_tool_outputs", {"tool_outputs": tool_outputs})

    def may_complete(self, usage: Usage | Mapping[str, Any] | None = None) -> bool:
        """Whether ``complete(usage)`` would succeed now."""
        return self.engine._may(self, "complete", {"usage": usage})

    def may_mark_incomplete(
        self, reason: str, usage: Usage | Mapping[str, Any] | None = None
    ) -> bool:
        """Whether ``mark_incomplete(reason, usage)`` would succeed now."""
        return self.engine._may(self, "mark_incomplete", {"reason": reason, "usage": usage})

    def may_fail(
        self, code: str, message: str, usage: Usage | Mapping[str, Any] | None = None
    ) -> bool:
        """Whether ``fail(code, message, usage)`` would succeed now."""
        return self.engine._may(self, "fail", {"code": code, "message": message, "usage": usage})

    def may_cancel(self) -> bool:
        """Whether ``cancel()`` would succeed now."""
        return self.engine._may(self, "cancel", {})

    def may_finish_cancel(self) -> bool:
        """Whether ``finish_cancel()`` would succeed now."""
        return self.engine._may(self, "finish_cancel", {})

    def may_expire(self) -> bool:
        """Whether ``expire()`` would succeed now."""
        return self.engine._may(self, "expire", {})

    @property
    def is_terminal(self) -> bool:
        """True once the run is in a status that nothing leaves."""
        return self.status.is_terminal


# --- trusted makers: the converter's and the engine's constructors ------------------------------


def _maker(cls: type) -> Any:
    """A positional constructor of *cls* for values already checked: it sets every slot.

    The converter and the engine build every record from values they have checked as a
    whole, so they skip attrs' keyword ``__init__`` and ``Run``'s own check. And they skip
    the frozen ``__setattr__``: the new object is born a *builder*, a plain class with the
    very same ``__slots__``, whose slots are filled by plain attribute stores (the cheapest
    there are), and then becomes a *cls* by ``__class__`` assignment, which Python allows
    between classes of the same layout. A quarter of what filling a frozen class costs; the
    object is nobody else's until it is returned. The parameters are the init fields in
    declaration order; fields without init get their default (or a fresh value of their
    factory).
    """
    slots: tuple[str, ...] = cls.__dict__["__slots__"]
    if "__weakref__" in slots:  # pragma: no cover - the record's classes have none
        # Python refuses __class__ assignment for these (CPython's same_slots_added).
        raise TypeError(f"{cls.__name__}: a maker needs a class without a __weakref__ slot")
    builder = type(f"_{cls.__name__}Builder", (), {"__slots__": slots})
    names = {"_new": object.__new__, "_cls": cls, "_builder": builder}
    params: list[str] = []
    body: list[str] = []
    for i, field in enumerate(attrs.fields(cls)):
        if field.init:
            params.append(field.name)
            body.append(f"    o.{field.name} = {field.name}")
        elif isinstance(field.default, attrs.Factory):  # type: ignore[arg-type]
            names[f"_factory{i}"] = field.default.factory
            body.append(f"    o.{field.name} = _factory{i}()")
        else:
            names[f"_default{i}"] = field.default
            body.append(f"    o.{field.name} = _default{i}")
    source = "\n".join(
        [
            f"def make_{cls.__name__}({', '.join(params)}):",
            "    o = _new(_builder)",
            *body,
            "    o.__class__ = _cls",
            "    return o",
        ]
    )
    exec(compile(source, f"<runlife maker {cls.__name__}>", "exec"), names)  # noqa: S102
    return names[f"make_{cls.__name__}"]


#: ``(assistant_id, cancelled_at, ..., usage, extra)``: every wire field in ``Run``'s order.
make_run: Any = _maker(Run)
make_function_call: Any = _maker(FunctionCall)
make_tool_call: Any = _maker(ToolCall)
make_submit_tool_outputs: Any = _maker(SubmitToolOutputs)
make_required_action: Any = _maker(RequiredAction)
make_last_error: Any = _maker(LastError)
make_incomplete_details: Any = _maker(IncompleteDetails)
make_usage: Any = _maker(Usage)
make_truncation_strategy: Any = _maker(TruncationStrategy)
make_code_interpreter_tool: Any = _maker(CodeInterpreterTool)
make_file_search_tool: Any = _maker(FileSearchTool)
make_function_definition: Any = _maker(FunctionDefinition)
make_function_tool: Any = _maker(FunctionTool)
make_unknown_tool: Any = _maker(UnknownTool)
make_tool_choice_function: Any = _maker(ToolChoiceFunction)
make_tool_choice: Any = _maker(ToolChoice)
make_response_format: Any = _maker(ResponseFormat)
