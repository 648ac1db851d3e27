"""The ``Run`` record: every field of the ``thread.run`` wire object, as attrs classes.

Every class keeps the keys it does not know in ``extra``, in the order they came, and a
payload's own key order in ``key_order`` when it is not the API's (``runlife._order``), so
that a loaded payload is written back unchanged, byte for byte.
Keys that the API may leave out (``temperature``, ``top_p``, a tool's ``description`` ...)
hold ``UNSET`` when they were absent, and are then left out again on the wire.

The record is a read-only value (``attrs.frozen``): a run's status and stamps move only
through its trigger methods, which the engine writes in one commit (``runlife._commit``).
JSON it holds (``metadata``, every ``extra``, a function's ``parameters`` ...) is read-only
too (``runlife._json.FrozenDict`` and tuples), so no rule can be bypassed by writing into it.
The engine's state of a run (its engine, lock, version, history) is one private
``RunState``, never a wire field: ``copy.copy``, ``copy.deepcopy`` and ``pickle`` give an
independent run, detached from any engine, with its own copy of that state.
"""

from __future__ import annotations

import builtins
import enum
import inspect
from collections.abc import Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Final, TypeAlias

import attrs

from ._json import EMPTY
from ._makers import maker, refill
from ._state import Mover, RunState, default_engine, validate
from ._status import RunStatus
from ._table import TABLE, Table

if TYPE_CHECKING:
    from collections.abc import Sequence

    from ._history import Move

__all__ = [
    "KEY_ORDERS",
    "NOT_WIRE_KEYS",
    "POSITIONED_EXTRAS",
    "UNSET",
    "WIRE_FIELDS",
    "WIRE_ORDER",
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
    "extra_field",
    "key_order_field",
]


class Unset(enum.Enum):
    """The type of ``UNSET``: a key that was absent from the wire object."""

    UNSET = "UNSET"

    def __repr__(self) -> str:
        return "UNSET"

    def __bool__(self) -> bool:
        return False


#: The arguments of the triggers that take none.
NO_ARGS: Final[Mapping[str, Any]] = MappingProxyType({})

#: Marks a key that the wire object did not have; it stays absent when written back.
UNSET: Final = Unset.UNSET

JSON: TypeAlias = Any


def extra_field() -> Any:
    """The ``extra`` field of a record class: the keys it does not know, read-only."""
    return attrs.field(default=EMPTY, kw_only=True, repr=lambda d: repr(d) if d else "{}")


def key_order_field() -> Any:
    """The ``key_order`` field of a record class: a payload's own key order, or ``None``."""
    # Presentation, not value: two records that differ only in it are equal, as dicts are.
    return attrs.field(default=None, kw_only=True, eq=False, repr=False)


_extra = extra_field
_key_order = key_order_field


@attrs.frozen(kw_only=True, weakref_slot=False)
class FunctionCall:
    """The ``function`` of a tool call: its *name* and *arguments* (a string, meant to hold JSON)."""

    name: str
    arguments: str
    extra: Mapping[str, JSON] = _extra()
    key_order: tuple[str, ...] | None = _key_order()


@attrs.frozen(kw_only=True, weakref_slot=False)
class ToolCall:
    """One call the run asks the caller to make: ``{"id", "type": "function", "function"}``."""

    id: str
    function: FunctionCall
    type: str = "function"
    extra: Mapping[str, JSON] = _extra()
    key_order: tuple[str, ...] | None = _key_order()


@attrs.frozen(kw_only=True, weakref_slot=False)
class SubmitToolOutputs:
    """``required_action.submit_tool_outputs``: the pending *tool_calls*."""

    tool_calls: tuple[ToolCall, ...]
    extra: Mapping[str, JSON] = _extra()
    key_order: tuple[str, ...] | None = _key_order()


@attrs.frozen(kw_only=True, weakref_slot=False)
class RequiredAction:
    """What the run waits for while ``requires_action``."""

    submit_tool_outputs: SubmitToolOutputs
    type: str = "submit_tool_outputs"
    extra: Mapping[str, JSON] = _extra()
    key_order: tuple[str, ...] | None = _key_order()


@attrs.frozen(kw_only=True, weakref_slot=False)
class LastError:
    """Why a run failed: *code* (``server_error``, ``rate_limit_exceeded``, ``invalid_prompt``) and *message*."""

    code: str
    message: str
    extra: Mapping[str, JSON] = _extra()
    key_order: tuple[str, ...] | None = _key_order()


@attrs.frozen(kw_only=True, weakref_slot=False)
class IncompleteDetails:
    """Why a run is incomplete: *reason* ``max_prompt_tokens`` or ``max_completion_tokens``."""

    reason: str | Unset | None = UNSET
    extra: Mapping[str, JSON] = _extra()
    key_order: tuple[str, ...] | None = _key_order()


@attrs.frozen(kw_only=True, weakref_slot=False)
class Usage:
    """Token counts of a finished run; ``total_tokens == prompt_tokens + completion_tokens``."""

    prompt_tokens: int
    completion_tokens: int
    total_tokens: int
    extra: Mapping[str, JSON] = _extra()
    key_order: tuple[str, ...] | None = _key_order()


@attrs.frozen(kw_only=True, weakref_slot=False)
class TruncationStrategy:
    """How the thread is truncated for the model: ``auto`` or ``last_messages``."""

    type: str = "auto"
    last_messages: int | Unset | None = None
    extra: Mapping[str, JSON] = _extra()
    key_order: tuple[str, ...] | None = _key_order()


@attrs.frozen(kw_only=True, weakref_slot=False)
class CodeInterpreterTool:
    """``{"type": "code_interpreter"}``."""

    type: str = "code_interpreter"
    extra: Mapping[str, JSON] = _extra()
    key_order: tuple[str, ...] | None = _key_order()


@attrs.frozen(kw_only=True, weakref_slot=False)
class FileSearchTool:
    """``{"type": "file_search", "file_search"?: {...}}``; *file_search* is kept as given."""

    type: str = "file_search"
    file_search: Mapping[str, JSON] | Unset = UNSET
    extra: Mapping[str, JSON] = _extra()
    key_order: tuple[str, ...] | None = _key_order()


@attrs.frozen(kw_only=True, weakref_slot=False)
class FunctionDefinition:
    """A function the model may call: *name*, and optionally *description*, *parameters*, *strict*."""

    name: str
    description: str | Unset = UNSET
    parameters: Mapping[str, JSON] | Unset = UNSET
    strict: bool | Unset | None = UNSET
    extra: Mapping[str, JSON] = _extra()
    key_order: tuple[str, ...] | None = _key_order()


@attrs.frozen(kw_only=True, weakref_slot=False)
class FunctionTool:
    """``{"type": "function", "function": {...}}``."""

    function: FunctionDefinition
    type: str = "function"
    extra: Mapping[str, JSON] = _extra()
    key_order: tuple[str, ...] | None = _key_order()


@attrs.frozen(kw_only=True, weakref_slot=False)
class UnknownTool:
    """A tool the record does not type (another service's tool type, or a malformed one).

    *type* is its ``type``; every other key is kept in *extra*, in order.
    """

    type: str
    extra: Mapping[str, JSON] = _extra()
    key_order: tuple[str, ...] | None = _key_order()


#: Any entry of ``Run.tools``.
Tool: TypeAlias = CodeInterpreterTool | FileSearchTool | FunctionTool | UnknownTool


@attrs.frozen(kw_only=True, weakref_slot=False)
class ToolChoiceFunction:
    """``tool_choice.function``: the *name* of the function the model must call."""

    name: str
    extra: Mapping[str, JSON] = _extra()
    key_order: tuple[str, ...] | None = _key_order()


@attrs.frozen(kw_only=True, weakref_slot=False)
class ToolChoice:
    """An object ``tool_choice``: ``{"type": "function", "function": {"name"}}`` or a tool type."""

    type: str
    function: ToolChoiceFunction | Unset = UNSET
    extra: Mapping[str, JSON] = _extra()
    key_order: tuple[str, ...] | None = _key_order()


@attrs.frozen(kw_only=True, weakref_slot=False)
class ResponseFormat:
    """An object ``response_format``: ``{"type": "text" | "json_object" | "json_schema", ...}``."""

    type: str
    json_schema: Mapping[str, JSON] | Unset = UNSET
    extra: Mapping[str, JSON] = _extra()
    key_order: tuple[str, ...] | None = _key_order()


def _unclaimed() -> RunState:
    # The state attrs' __init__ gives a run built by hand: claimed by its post-init.
    state = RunState()
    state.claimed = False
    return state


def _default_truncation() -> TruncationStrategy:
    return TruncationStrategy()


@attrs.frozen(kw_only=True, eq=True, unsafe_hash=False, weakref_slot=False)
class Run:
    """A ``thread.run``: the wire object's fields (written in the API's order, ``WIRE_ORDER``).

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
    metadata: Mapping[str, JSON] | None = EMPTY
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
    #: Unknown top-level keys, kept in the order they came (``tool_resources`` and
    #: ``reasoning_effort`` are written at their API position, others after the known ones).
    extra: Mapping[str, JSON] = _extra()
    #: The payload's own key order when it was not the API's (``None``: the API's order).
    key_order: tuple[str, ...] | None = _key_order()
    #: The top-level fields a payload of an older shape lacked and ``from_dict(...,
    #: fill_missing=True)`` filled with the API's defaults; ``check(run)`` reports each.
    filled: tuple[str, ...] = attrs.field(default=(), kw_only=True, eq=False, repr=False)

    # The engine's state of the run, not part of the wire object: invisible to repr, ==, and
    # the converter. An init field only so that ``attrs.evolve`` hands it over and can be
    # refused (see ``__attrs_post_init__``); nobody passes it.
    _state: RunState = attrs.field(factory=_unclaimed, eq=False, repr=False, alias="_runlife_state")

    # --- a value ------------------------------------------------------------------------

    def __attrs_post_init__(self) -> None:
        # Only runs built by hand get here: the wire format and the engine use makers.
        state = self._state
        if state.claimed:
            raise TypeError(
                "attrs.evolve() cannot make a run from another: a run changes only through its "
                "engine (its triggers, RunEngine.update for metadata); copy.copy(run) gives an "
                "independent copy, RunEngine.create a new run"
            )
        state.claimed = True
        validate(self)

    def __copy__(self) -> Run:
        return _copy_run(self)

    def __deepcopy__(self, memo: builtins.object) -> Run:
        # Every value of the record is immutable (frozen records, read-only JSON, tuples):
        # a deep copy is the copy, with a state of its own.
        return _copy_run(self)

    def __reduce__(self) -> tuple[Any, ...]:
        with self._state.lock:
            values = {name: getattr(self, name) for name in WIRE_FIELDS}
            state = self._state
            saved = (
                state.version,
                tuple(state.history or ()),
                state.origin,
                state.steps,
                state.origin_steps,
            )
        return (_unpickle_run, (values, *saved))

    @property
    def engine(self) -> Mover:
        """The engine this run is bound to (the module's default engine unless bound to another)."""
        return self._state.engine or default_engine()

    @property
    def history(self) -> tuple[Move, ...]:
        """The moves this run made through its engine, oldest first (empty when not recorded).

        Append-only: a move is added by the commit that makes it. It survives storage through
        ``runlife.dump``/``runlife.restore`` (not through ``to_dict``, the API's object).
        """
        state = self._state
        with state.lock:
            return tuple(state.history) if state.history else ()

    @property
    def steps(self) -> tuple[Any, ...]:
        """The run's steps (``runlife.RunStep``), oldest first: empty until its first step.

        The run's moves move them as ``runlife.COUPLING`` says, in the same commit; the
        driver opens and completes ``message_creation`` steps with ``open_message_step``
        and ``complete_message_step``. Empty when the engine keeps no steps. Not part of
        ``to_dict`` (the API serves steps apart: ``runlife.step_to_dict``); kept by
        ``runlife.dump`` and by the store.
        """
        return self._state.steps

    def open_message_step(self, message_id: str) -> Any:
        """Open a ``message_creation`` step for the message *message_id*; returns the step.

        The run must be ``in_progress`` with no open step (``RunEngine.fire_step``).

        Raises:
            IllegalTransition: the run is not ``in_progress``.
            GuardRejected: a step is open, or *message_id* is not a non-empty string.
        """
        return self.engine.fire_step(self, "open_message_step", {"message_id": message_id})

    def complete_message_step(self, usage: Usage | Mapping[str, Any] | None = None) -> Any:
        """Complete the open ``message_creation`` step with its *usage*; returns the step.

        Raises:
            IllegalTransition: the run is not ``in_progress`` or ``cancelling``.
            GuardRejected: no ``message_creation`` step is open, or *usage* is malformed.
        """
        return self.engine.fire_step(self, "complete_message_step", {"usage": usage})

    @property
    def version(self) -> int:
        """How many moves (and metadata updates) the run has made: 0 when created.

        A run loaded from a plain wire dict starts at 0; one restored from a ``runlife.dump``
        document goes on from the version stored there. Databases use it for
        compare-and-set writes (``UPDATE ... WHERE id = ? AND version = <the version read>``).
        """
        return self._state.version

    # --- the lifecycle -------------------------------------------------------------------

    def start(self) -> None:
        """``queued -> in_progress``; stamps ``started_at`` (on every start).

        Raises:
            IllegalTransition: the run is not ``queued``.
        """
        (self._state.engine or default_engine()).fire(self, "start", NO_ARGS)

    def require_action(self, tool_calls: Sequence[ToolCall | Mapping[str, Any]]) -> None:
        """``in_progress -> requires_action``; sets ``required_action`` to *tool_calls*.

        Raises:
            IllegalTransition: the run is not ``in_progress``.
            GuardRejected: no calls, duplicate or empty ids, a call that is not a declared
                function, more than one call with ``parallel_tool_calls`` false, or
                ``tool_choice == "none"``.
        """
        (self._state.engine or default_engine()).fire(
            self, "require_action", {"tool_calls": tool_calls}
        )

    def submit_tool_outputs(self, tool_outputs: Sequence[Mapping[str, Any]]) -> None:
        """``requires_action -> queued``; clears ``required_action``.

        Raises:
            IllegalTransition: the run is not ``requires_action``.
            GuardRejected: the outputs' ``tool_call_id`` are not exactly the pending calls.
        """
        (self._state.engine or default_engine()).fire(
            self, "submit_tool_outputs", {"tool_outputs": tool_outputs}
        )

    def complete(self, usage: Usage | Mapping[str, Any] | None = None) -> None:
        """``in_progress | cancelling -> completed``; stamps ``completed_at``, sets *usage*.

        Raises:
            IllegalTransition: the run is in another status.
            GuardRejected: the run never started, or *usage* is malformed.
        """
        (self._state.engine or default_engine()).fire(self, "complete", {"usage": usage})

    def mark_incomplete(self, reason: str, usage: Usage | Mapping[str, Any] | None = None) -> None:
        """``in_progress | cancelling -> incomplete``; sets ``incomplete_details``, ``completed_at``.

        Raises:
            IllegalTransition: the run is in another status.
            GuardRejected: *reason* is not ``max_prompt_tokens``/``max_completion_tokens``,
                the run has no such limit, never started, or *usage* is malformed.
        """
        (self._state.engine or default_engine()).fire(
            self, "mark_incomplete", {"reason": reason, "usage": usage}
        )

    def fail(self, code: str, message: str, usage: Usage | Mapping[str, Any] | None = None) -> None:
        """``queued | in_progress | cancelling -> failed``; sets ``last_error``, ``failed_at``.

        Raises:
            IllegalTransition: the run is in another status.
            GuardRejected: *code* is not ``server_error``, ``rate_limit_exceeded`` or
                ``invalid_prompt``, *message* is not a string, or *usage* is malformed.
        """
        (self._state.engine or default_engine()).fire(
            self, "fail", {"code": code, "message": message, "usage": usage}
        )

    def cancel(self) -> None:
        """``queued | in_progress | requires_action -> cancelling``; clears ``required_action``.

        Raises:
            IllegalTransition: the run is in another status.
        """
        (self._state.engine or default_engine()).fire(self, "cancel", NO_ARGS)

    def finish_cancel(self) -> None:
        """``cancelling -> cancelled``; stamps ``cancelled_at``.

        Raises:
            IllegalTransition: the run is not ``cancelling``.
        """
        (self._state.engine or default_engine()).fire(self, "finish_cancel", NO_ARGS)

    def expire(self) -> None:
        """Any active status ``-> expired``, once the clock has reached ``expires_at``.

        Raises:
            IllegalTransition: the run is terminal.
            GuardRejected: ``expires_at`` has not passed yet.
        """
        (self._state.engine or default_engine()).fire(self, "expire", NO_ARGS)

    # --- may_<trigger>: the same call, answered without side effects ------------------

    def may_start(self) -> bool:
        """Whether ``start()`` would succeed now."""
        return self.engine.may(self, "start", NO_ARGS)

    def may_require_action(self, tool_calls: Sequence[ToolCall | Mapping[str, Any]]) -> bool:
        """Whether ``require_action(tool_calls)`` would succeed now."""
        return self.engine.may(self, "require_action", {"tool_calls": tool_calls})

    def may_submit_tool_outputs(self, tool_outputs: Sequence[Mapping[str, Any]]) -> bool:
        """Whether ``submit_tool_outputs(tool_outputs)`` would succeed now."""
        return self.engine.may(self, "submit_tool_outputs", {"tool_outputs": tool_outputs})

    def may_complete(self, usage: Usage | Mapping[str, Any] | None = None) -> bool:
        """Whether ``complete(usage)`` would succeed now."""
        return self.engine.may(self, "complete", {"usage": usage})

    def may_mark_incomplete(
        self, reason: str, usage: Usage | Mapping[str, Any] | None = None
    ) -> bool:
        """Whether ``mark_incomplete(reason, usage)`` would succeed now."""
        return self.engine.may(self, "mark_incomplete", {"reason": reason, "usage": usage})

    def may_fail(
        self, code: str, message: str, usage: Usage | Mapping[str, Any] | None = None
    ) -> bool:
        """Whether ``fail(code, message, usage)`` would succeed now."""
        return self.engine.may(self, "fail", {"code": code, "message": message, "usage": usage})

    def may_cancel(self) -> bool:
        """Whether ``cancel()`` would succeed now."""
        return self.engine.may(self, "cancel", NO_ARGS)

    def may_finish_cancel(self) -> bool:
        """Whether ``finish_cancel()`` would succeed now."""
        return self.engine.may(self, "finish_cancel", NO_ARGS)

    def may_expire(self) -> bool:
        """Whether ``expire()`` would succeed now."""
        return self.engine.may(self, "expire", NO_ARGS)

    @property
    def is_terminal(self) -> bool:
        """True once the run is in a status that nothing leaves."""
        return self.status.is_terminal


# --- copies and makers --------------------------------------------------------------------


#: The names of the record's value fields (its public init fields: the wire fields, ``extra``
#: and ``key_order``), in declaration order.
WIRE_FIELDS: Final = tuple(
    f.name for f in attrs.fields(Run) if f.init and not (f.alias or f.name).startswith("_")
)

#: The top-level keys of a ``thread.run`` in the order the API writes them: the record's wire
#: fields, and two keys the seed does not have (kept in ``extra`` when a payload or a caller
#: gives them, and written at these positions). Every recording shows this order.
WIRE_ORDER: Final[tuple[str, ...]] = (
    "id",
    "object",
    "created_at",
    "assistant_id",
    "thread_id",
    "status",
    "started_at",
    "expires_at",
    "cancelled_at",
    "failed_at",
    "completed_at",
    "required_action",
    "last_error",
    "model",
    "instructions",
    "tools",
    "tool_resources",
    "metadata",
    "temperature",
    "top_p",
    "reasoning_effort",
    "max_completion_tokens",
    "max_prompt_tokens",
    "truncation_strategy",
    "incomplete_details",
    "usage",
    "response_format",
    "tool_choice",
    "parallel_tool_calls",
)
#: The keys of each nested class's wire object in the order the API writes them (the
#: recordings in ``tests/data/payloads``): the encoders write them so, then unknown keys.
KEY_ORDERS: Final[Mapping[type, tuple[str, ...]]] = MappingProxyType(
    {
        FunctionCall: ("name", "arguments"),
        ToolCall: ("id", "type", "function"),
        SubmitToolOutputs: ("tool_calls",),
        RequiredAction: ("type", "submit_tool_outputs"),
        LastError: ("code", "message"),
        IncompleteDetails: ("reason",),
        Usage: ("prompt_tokens", "completion_tokens", "total_tokens"),
        TruncationStrategy: ("type", "last_messages"),
        CodeInterpreterTool: ("type",),
        FileSearchTool: ("type", "file_search"),
        FunctionDefinition: ("name", "description", "parameters", "strict"),
        FunctionTool: ("type", "function"),
        UnknownTool: ("type",),
        ToolChoiceFunction: ("name",),
        ToolChoice: ("type", "function"),
        ResponseFormat: ("type", "json_schema"),
        Run: WIRE_ORDER,
    }
)
#: The keys of ``WIRE_ORDER`` that are no field of the record (they live in ``extra``).
POSITIONED_EXTRAS: Final = tuple(k for k in WIRE_ORDER if k not in WIRE_FIELDS)
#: The record's value fields that are no wire key.
NOT_WIRE_KEYS: Final = frozenset({"extra", "key_order", "filled"})
if set(WIRE_ORDER) - set(POSITIONED_EXTRAS) != set(WIRE_FIELDS) - NOT_WIRE_KEYS:
    raise RuntimeError("WIRE_ORDER does not name the record's wire fields")  # pragma: no cover


def _copy_run(run: Run) -> Run:
    state = run._state
    with state.lock:
        values = {name: getattr(run, name) for name in WIRE_FIELDS}
        detached = state.detached()
    copy: Run = make_run(**values)
    refill(copy, "_state", detached)
    return copy


def _unpickle_run(  # noqa: PLR0917 - pickle's call: positional
    values: dict[str, Any],
    version: int,
    history: tuple[Move, ...],
    origin: tuple[Any, ...] | None,
    steps: tuple[Any, ...] = (),
    origin_steps: tuple[Any, ...] = (),
) -> Run:
    run: Run = make_run(**values)
    state = run._state
    state.version = version
    state.history = list(history) if history else None
    state.origin = origin
    state.steps = steps
    state.origin_steps = origin_steps
    return run


#: Keyword-only trusted constructors (see ``runlife._makers``): one per record class.
make_run: Any = maker(Run, private={"_state": RunState})
make_function_call: Any = maker(FunctionCall)
make_tool_call: Any = maker(ToolCall)
make_submit_tool_outputs: Any = maker(SubmitToolOutputs)
make_required_action: Any = maker(RequiredAction)
make_last_error: Any = maker(LastError)
make_incomplete_details: Any = maker(IncompleteDetails)
make_usage: Any = maker(Usage)
make_truncation_strategy: Any = maker(TruncationStrategy)
make_code_interpreter_tool: Any = maker(CodeInterpreterTool)
make_file_search_tool: Any = maker(FileSearchTool)
make_function_definition: Any = maker(FunctionDefinition)
make_function_tool: Any = maker(FunctionTool)
make_unknown_tool: Any = maker(UnknownTool)
make_tool_choice_function: Any = maker(ToolChoiceFunction)
make_tool_choice: Any = maker(ToolChoice)
make_response_format: Any = maker(ResponseFormat)


def method_problems(cls: type, table: Table) -> list[str]:
    """Where *cls*'s trigger methods do not follow *table*, one line each.

    A row needs a method and a ``may_`` twin whose parameters are the row's, in order.

    The record's methods are the lifecycle table's (``TABLE``), checked at import; a
    trigger of another table is fired with ``engine.fire(run, trigger, args)``.
    """
    problems: list[str] = []
    for row in table.rows:
        for name in (row.trigger, f"may_{row.trigger}"):
            method = getattr(cls, name, None)
            if method is None:
                problems.append(f"{cls.__name__} has no method {name}() for the row {row.trigger}")
                continue
            params = list(inspect.signature(method).parameters.values())[1:]
            got = [(p.name, p.default is not inspect.Parameter.empty) for p in params]
            want = [(p.name, p.optional) for p in row.params]
            if got != want:
                problems.append(f"{cls.__name__}.{name}() takes {got}, the row declares {want}")
    return problems


_METHOD_PROBLEMS: Final = method_problems(Run, TABLE)
if _METHOD_PROBLEMS:  # pragma: no cover - a fence: fails at import, tested on other tables
    raise RuntimeError("runlife's record does not follow its table: " + "; ".join(_METHOD_PROBLEMS))
