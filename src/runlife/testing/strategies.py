"""Hypothesis strategies for runs, their arguments and their triggers.

Every function here needs hypothesis (``pip install ".[testing]"``) and returns a
``SearchStrategy``; options are keyword-only. The runs come from a real ``RunEngine`` and
reach their status through legal moves with valid arguments, so every invariant holds and
``runlife.check`` finds nothing; a run keeps its engine, whose clock is a ``ManualClock``
(``run.engine.clock``), so a test can go on moving it.

>>> from hypothesis import given, settings
>>> from runlife.testing.strategies import runs
>>> @settings(max_examples=10)
... @given(runs(status="requires_action"))
... def test_waits_for_outputs(run):
...     assert run.required_action is not None
>>> test_waits_for_outputs()

Runs carry their steps (``run.steps``): a ``tool_calls`` step each tool round, and the
``message_creation`` steps of the messages the walk has the model write (``runs(messages=
True)``, the default: the driver's step moves ``open_message_step`` and
``complete_message_step``). :func:`run_steps` draws step wire dicts on their own.

Shrinking goes towards short paths (the shortest path to the status first), few tools and
plain values, so a failing example is small.
"""

from __future__ import annotations

import string
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Final

from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

from runlife import (
    COUPLING,
    ERROR_CODES,
    INCOMPLETE_REASONS,
    STEP_OPS,
    STEP_TABLE,
    TABLE,
    TERMINAL,
    FunctionTool,
    ManualClock,
    Run,
    RunEngine,
    RunStatus,
    StepStatus,
    Table,
    step_usage_sum,
)
from runlife import STEP_ERROR_CODES as _STEP_ERROR_CODES
from runlife import STEP_TYPES as _STEP_TYPES
from runlife.paths import Node as _Node
from runlife.paths import graph as _graph

__all__ = [
    "arguments",
    "create_kwargs",
    "message_ids",
    "run_steps",
    "runs",
    "step_arguments",
    "step_moves",
    "step_usage_for",
    "tool_calls",
    "tool_outputs_for",
    "triggers",
    "usages",
]

_NAME_CHARS: Final = string.ascii_letters + string.digits + "_-"
_ID_CHARS: Final = string.ascii_letters + string.digits
#: Function names: the API allows 1 to 64 of a-z, A-Z, 0-9, _ and -.
_names = st.text(_NAME_CHARS, min_size=1, max_size=24)
_ids = st.text(_ID_CHARS, min_size=1, max_size=24)
_short_text = st.text(max_size=40)
#: At most this many moves are chosen freely; then the walk takes the shortest way on.
_FREE_MOVES: Final = 12
_DEFAULT_NAMES: Final = ("get_weather", "search_docs", "lookup_order")


def usages() -> st.SearchStrategy[dict[str, int]]:
    """Wire-shaped token usages: ``total_tokens == prompt_tokens + completion_tokens``.

    Needs hypothesis.
    """
    return _usages


# Built once: building strategies is the slow part of drawing from them.
_usages = st.builds(
    lambda p, c: {"prompt_tokens": p, "completion_tokens": c, "total_tokens": p + c},
    st.integers(0, 200_000),
    st.integers(0, 100_000),
)
# Arguments are kept as given: models do emit invalid JSON, and the API passes it on.
_json_arguments = st.sampled_from(
    ["{}", '{"city": "Paris"}', '{"q": "runs", "limit": 3}', '{"ids": [1, 2]}', "{", ""]
) | st.text(max_size=20)
_call_ids = st.integers(0, 10**9).map("call_{}".format)
_function_extras = st.fixed_dictionaries(
    {},
    optional={
        "description": _short_text,
        "parameters": st.sampled_from(
            [
                {"type": "object", "properties": {}},
                {"type": "object", "properties": {"q": {"type": "string"}}, "required": ["q"]},
            ]
        ),
        "strict": st.booleans(),
    },
)
_function_names = st.lists(_names, unique=True, max_size=4)
_callable_names = st.lists(_names, unique=True, min_size=1, max_size=4)
_other_tools = st.lists(st.sampled_from(["code_interpreter", "file_search"]), unique=True)
_file_search = st.none() | st.builds(lambda n: {"max_num_results": n}, st.integers(1, 50))
_limits = st.none() | st.integers(256, 128_000)
_static_fields = st.fixed_dictionaries(
    {
        "id": st.integers(0, 16**24 - 1).map("run_{:024x}".format),
        "assistant_id": _ids.map("asst_".__add__),
        "thread_id": _ids.map("thread_".__add__),
        "model": st.sampled_from(["gpt-4o", "gpt-4o-mini", "gpt-4.1", "o3-mini"]),
        "instructions": _short_text | st.none(),
        "metadata": st.dictionaries(st.text(min_size=1, max_size=64), _short_text, max_size=3),
        "parallel_tool_calls": st.booleans(),
        "truncation_strategy": st.just({"type": "auto", "last_messages": None})
        | st.builds(lambda n: {"type": "last_messages", "last_messages": n}, st.integers(1, 100)),
        "response_format": st.sampled_from(["auto", {"type": "text"}, {"type": "json_object"}])
        | st.builds(
            lambda name: {
                "type": "json_schema",
                "json_schema": {"name": name, "schema": {"type": "object"}},
            },
            _names,
        ),
        "temperature": st.none() | st.floats(0, 2),
        "top_p": st.none() | st.floats(0, 1),
    }
)


@st.composite
def _create_kwargs(draw: st.DrawFn, callable_tools: bool, limited: bool) -> dict[str, Any]:
    fields: dict[str, Any] = dict(draw(_static_fields))
    names = draw(_callable_names if callable_tools else _function_names)
    tools: list[dict[str, Any]] = [
        {"type": "function", "function": {"name": name, **draw(_function_extras)}} for name in names
    ]
    kinds = draw(_other_tools)
    for kind in kinds:
        tool: dict[str, Any] = {"type": kind}
        search = draw(_file_search) if kind == "file_search" else None
        if search is not None:
            tool["file_search"] = search
        tools.append(tool)
    fields["tools"] = list(draw(st.permutations(tools))) if len(tools) > 1 else tools
    # "required" needs a tool (the list keeps its length, so draws stay where they were)
    choices: list[Any] = ["auto", "required" if tools else "auto"]
    choices += [{"type": "function", "function": {"name": n}} for n in names]
    choices += [{"type": k} for k in kinds]
    if not callable_tools:
        choices.append("none")
    fields["tool_choice"] = draw(st.sampled_from(choices))
    max_prompt, max_completion = draw(_limits), draw(_limits)
    if limited and max_prompt is None and max_completion is None:
        max_completion = draw(st.integers(256, 128_000))
    fields["max_prompt_tokens"] = max_prompt
    fields["max_completion_tokens"] = max_completion
    return fields


_machine_names = st.lists(
    st.sampled_from(["get_weather", "search_docs", "lookup_order"]), unique=True, max_size=3
)


@st.composite
def _machine_fields(draw: st.DrawFn) -> dict[str, Any]:
    """Light fields for the state machine: the variety that matters to the lifecycle."""
    names = draw(_machine_names)
    tools: list[dict[str, Any]] = [{"type": "function", "function": {"name": n}} for n in names]
    if draw(st.booleans()):
        tools.append({"type": "code_interpreter"})
    choices: list[Any] = ["auto", "required" if tools else "auto", "none"]  # as above
    choices += [{"type": "function", "function": {"name": n}} for n in names]
    return {
        "assistant_id": "asst_1",
        "thread_id": draw(st.sampled_from(["thread_1", "thread_2", "thread_3"])),
        "model": "gpt-4o",
        "instructions": "",
        "tools": tools,
        "tool_choice": draw(st.sampled_from(choices)),
        "parallel_tool_calls": draw(st.booleans()),
        "max_prompt_tokens": draw(st.sampled_from([None, 256, 100_000])),
        "max_completion_tokens": draw(st.sampled_from([None, 256, 4096])),
    }


def create_kwargs(
    *, callable_tools: bool = False, limited: bool = False
) -> st.SearchStrategy[dict[str, Any]]:
    """Keyword arguments for ``RunEngine.create`` that every documented rule accepts.

    Tools (function tools with unique names, ``code_interpreter``, ``file_search``),
    ``tool_choice``, token limits, ``metadata``, sampling and format options all vary;
    ``instructions`` is sometimes ``None`` (as the API returns when none were given).

    Args:
        callable_tools: every drawn run declares a function tool and does not have
            ``tool_choice`` ``"none"``, so it can ask for tool calls.
        limited: every drawn run has a token limit, so it can end ``incomplete``.

    Needs hypothesis.
    """
    return _create_kwargs(callable_tools, limited)


def _can_call_tools(run: Run) -> bool:
    return run.tool_choice != "none" and any(isinstance(t, FunctionTool) for t in run.tools)


def _declared(run: Run) -> list[str]:
    return [t.function.name for t in run.tools if isinstance(t, FunctionTool)]


@st.composite
def _tool_calls(
    draw: st.DrawFn, names: tuple[str, ...], min_size: int, max_size: int
) -> list[dict[str, Any]]:
    ids = draw(st.lists(_call_ids, unique=True, min_size=min_size, max_size=max_size))
    return [
        {
            "id": call_id,
            "type": "function",
            "function": {
                "name": draw(st.sampled_from(names)),
                "arguments": draw(_json_arguments),
            },
        }
        for call_id in ids
    ]


def tool_calls(
    *,
    run: Run | None = None,
    names: Sequence[str] | None = None,
    min_size: int = 1,
    max_size: int = 3,
) -> st.SearchStrategy[list[dict[str, Any]]]:
    """Lists of wire-shaped tool calls with unique ids, as ``require_action`` takes them.

    ``arguments`` is usually a JSON object and sometimes invalid JSON, as models emit.

    Args:
        run: draw calls that *run* accepts: names from its function tools, and at most one
            call when its ``parallel_tool_calls`` is false.
        names: the function names to call (default: *run*'s, else ``get_weather``,
            ``search_docs`` and ``lookup_order``).
        min_size: at least this many calls (>= 1: the guard refuses an empty list).
        max_size: at most this many calls.

    Raises:
        InvalidArgument: sizes out of range, no names, or a *run* that cannot ask for tool
            calls (no function tools, or ``tool_choice`` ``"none"``).

    Needs hypothesis.
    """
    if run is not None:
        if not _can_call_tools(run):
            why = "declares no function tool" if not _declared(run) else "has tool_choice 'none'"
            msg = f"tool_calls(run=...): run {run.id} {why}, so it cannot ask for tool calls"
            raise InvalidArgument(msg)
        if names is None:
            names = _declared(run)
        if run.parallel_tool_calls is False:
            max_size = min(max_size, 1)
    chosen = tuple(names) if names is not None else _DEFAULT_NAMES
    if not chosen:
        msg = "tool_calls(names=...): expected at least one function name, got none"
        raise InvalidArgument(msg)
    if type(min_size) is not int or min_size < 1:
        msg = f"tool_calls(min_size=...): expected an int >= 1 (the guard refuses no calls), got {min_size!r}"
        raise InvalidArgument(msg)
    if type(max_size) is not int or max_size < min_size:
        msg = (
            f"tool_calls(max_size=...): expected an int >= min_size ({min_size}), got {max_size!r}"
        )
        raise InvalidArgument(msg)
    return _tool_calls(chosen, min_size, max_size)


def tool_outputs_for(run: Run) -> st.SearchStrategy[list[dict[str, str]]]:
    """Lists of outputs for exactly the calls *run* waits for, in any order.

    The pending calls are read when the strategy is made: make it right before use.

    Raises:
        InvalidArgument: *run* is not ``requires_action``.

    Needs hypothesis.
    """
    ra = run.required_action
    if run.status is not RunStatus.REQUIRES_ACTION or ra is None:
        msg = (
            f"tool_outputs_for(run): run {run.id} is {run.status.value}, not requires_action: "
            "it waits for no tool outputs"
        )
        raise InvalidArgument(msg)
    ids = [c.id for c in ra.submit_tool_outputs.tool_calls]
    outputs = st.lists(_short_text, min_size=len(ids), max_size=len(ids)).map(
        lambda texts: [{"tool_call_id": i, "output": o} for i, o in zip(ids, texts, strict=True)]
    )
    return outputs.flatmap(st.permutations).map(list)


def _status(value: object, where: str) -> RunStatus:
    if isinstance(value, RunStatus):
        return value
    if isinstance(value, str):
        try:
            return RunStatus(value)
        except ValueError:
            msg = f"{where}: {RunStatus.explain(value)}"
            raise InvalidArgument(msg) from None
    msg = f"{where}: expected a status (a RunStatus or its string), got {type(value).__name__} {value!r}"
    raise InvalidArgument(msg)


def triggers(
    *, allowed_from: RunStatus | str | None = None, table: Table = TABLE
) -> st.SearchStrategy[str]:
    """Trigger names, in *table*'s order: all of them, or those *allowed_from* a status.

    Raises:
        InvalidArgument: *allowed_from* is not a status, or is terminal (nothing leaves it).

    Needs hypothesis.
    """
    if allowed_from is None:
        return st.sampled_from(table.triggers)
    status = _status(allowed_from, "triggers(allowed_from=...)")
    names = table.triggers_from(status)
    if not names:
        msg = f"triggers(allowed_from=...): {status.value} is terminal: no trigger leaves it"
        raise InvalidArgument(msg)
    return st.sampled_from(names)


# --- steps ----------------------------------------------------------------------------------

#: The codes a step's ``last_error`` may have (the API's step error codes).
STEP_ERROR_CODES: Final = _STEP_ERROR_CODES
#: The step types runlife knows, and the statuses a step may be in.
STEP_TYPES: Final = _STEP_TYPES
_STEP_STATUSES: Final = tuple(s.value for s in StepStatus)
#: Each end status of a step and its stamp, from the step's table.
_STEP_STAMPS: Final = {r.dest.value: r.stamp for r in STEP_TABLE.rows}

_message_ids = st.integers(0, 16**24 - 1).map("msg_{:024x}".format)


def message_ids() -> st.SearchStrategy[str]:
    """Message ids for ``open_message_step``: ``msg_`` and 24 hex digits. Needs hypothesis."""
    return _message_ids


def _ends_open_step(trigger: str, table: Table) -> bool:
    """Whether *trigger* ends *run*'s open step (``COUPLING``; else: it ends the run)."""
    coupling = COUPLING.get(trigger)
    if coupling is not None:
        return coupling.ends is not None
    return table.row(trigger).dest in TERMINAL


def _plus(base: Any, extra: dict[str, int]) -> dict[str, int]:
    p = base.prompt_tokens + extra["prompt_tokens"]
    c = base.completion_tokens + extra["completion_tokens"]
    return {"prompt_tokens": p, "completion_tokens": c, "total_tokens": p + c}


def _exact(total: Any) -> dict[str, int]:
    return {
        "prompt_tokens": total.prompt_tokens,
        "completion_tokens": total.completion_tokens,
        "total_tokens": total.total_tokens,
    }


def step_usage_for(
    run: Run, trigger: str, *, table: Table = TABLE
) -> st.SearchStrategy[dict[str, int]]:
    """Usages that *trigger* (one that takes a ``usage``) accepts on *run*, given its steps.

    A run's usage is the sum of its steps' when each carries one: a move that ends the open
    step gives it the part of the usage the other steps do not account for (so at least
    their sum), and a move with no open step must give exactly the steps' sum. Where a step
    carries no usage, any usage will do (:func:`usages`).

    Needs hypothesis.
    """
    held = run.steps
    if held and held[-1].is_open:
        if not _ends_open_step(trigger, table):
            return _usages
        done = step_usage_sum(held[:-1])
        if done is None:
            return _usages  # no other step, or one without usage: the open step takes any
        return _usages.map(lambda extra: _plus(done, extra))
    total = step_usage_sum(held)
    return _usages if total is None else st.just(_exact(total))


@st.composite
def _run_steps(
    draw: st.DrawFn, statuses: tuple[str, ...], kinds: tuple[str, ...], run_id: str | None
) -> dict[str, Any]:
    kind = draw(st.sampled_from(kinds))
    status = draw(st.sampled_from(statuses))
    created = draw(st.integers(1_600_000_000, 1_900_000_000))
    details: dict[str, Any]
    if kind == "message_creation":
        details = {"type": kind, "message_creation": {"message_id": draw(_message_ids)}}
    else:
        ids = draw(
            st.lists(_call_ids, unique=True, min_size=0 if status != "completed" else 1, max_size=3)
        )
        answered = status == "completed" or draw(st.booleans())
        details = {
            "type": kind,
            "tool_calls": [
                {
                    "id": call_id,
                    "type": "function",
                    "function": {
                        "name": draw(st.sampled_from(_DEFAULT_NAMES)),
                        "arguments": draw(_json_arguments),
                        "output": draw(_short_text) if answered else None,
                    },
                }
                for call_id in ids
            ],
        }
    stamps = dict.fromkeys(("cancelled_at", "completed_at", "expired_at", "failed_at"))
    if status in _STEP_STAMPS:
        stamps[_STEP_STAMPS[status]] = created + draw(st.integers(0, 600))
    last_error = None
    if status == "failed":
        last_error = {"code": draw(st.sampled_from(STEP_ERROR_CODES)), "message": draw(_short_text)}
    usage = None if status == "in_progress" else draw(st.none() | _usages)
    return {
        "id": draw(st.integers(0, 16**24 - 1).map("step_{:024x}".format)),
        "object": "thread.run.step",
        "created_at": created,
        "run_id": run_id
        if run_id is not None
        else draw(st.integers(0, 16**24 - 1).map("run_{:024x}".format)),
        "assistant_id": draw(_ids.map("asst_".__add__)),
        "thread_id": draw(_ids.map("thread_".__add__)),
        "type": kind,
        "status": status,
        **stamps,
        "last_error": last_error,
        "step_details": details,
        "usage": usage,
    }


def _choices(
    value: str | Iterable[str] | None, known: tuple[str, ...], where: str
) -> tuple[str, ...]:
    if value is None:
        return known
    given = (value,) if isinstance(value, str) else tuple(dict.fromkeys(value))
    unknown = [v for v in given if v not in known]
    if unknown or not given:
        what = f"unknown {', '.join(map(repr, unknown))}" if unknown else "none given"
        msg = f"{where}: {what}; expected one or more of {', '.join(known)}"
        raise InvalidArgument(msg)
    return given


def run_steps(
    *,
    status: str | Iterable[str] | None = None,
    type: str | Iterable[str] | None = None,  # noqa: A002 - the wire field's name
    run_id: str | None = None,
) -> st.SearchStrategy[dict[str, Any]]:
    """Step wire dicts (``thread.run.step``, as the API lists them), valid by construction.

    Each has the API's keys in its order (``runlife.step_to_dict`` of ``step_from_dict`` of
    it gives it back), the stamp of its status and no other, ``last_error`` iff it failed
    (a step's codes: ``server_error``, ``rate_limit_exceeded``), no ``usage`` while
    ``in_progress`` (``None`` or a usage after), ``step_details`` of its *type*, and, for a
    completed ``tool_calls`` step, an output for every call. ``runlife.check(run, steps=[it])``
    finds nothing for an active run of *run_id*. The steps of a real run come with it:
    ``runs()``' ``run.steps``.

    Args:
        status: a step status or several (default: any).
        type: ``message_creation``, ``tool_calls``, or both (the default).
        run_id: the ``run_id`` of every step (default: drawn).

    Raises:
        InvalidArgument: an unknown status or type, or an empty collection.

    Needs hypothesis.
    """
    statuses = _choices(status, _STEP_STATUSES, "run_steps(status=...)")
    kinds = _choices(type, STEP_TYPES, "run_steps(type=...)")
    return _run_steps(statuses, kinds, run_id)


def _reasons(run: Run) -> st.SearchStrategy[str]:
    return st.sampled_from([r for r in INCOMPLETE_REASONS if getattr(run, r) is not None])


#: A strategy of passing values of each argument a table row may declare, by its name.
_ARGUMENTS: Final[Mapping[str, Callable[[Run], st.SearchStrategy[Any]]]] = {
    "tool_calls": lambda run: tool_calls(run=run),
    "tool_outputs": tool_outputs_for,
    "reason": _reasons,
    "code": lambda _run: st.sampled_from(ERROR_CODES),
    "message": lambda _run: _short_text,
    "usage": lambda _run: usages(),
}


def arguments(run: Run, trigger: str, *, table: Table = TABLE) -> st.SearchStrategy[dict[str, Any]]:
    """Keyword arguments with which *trigger* passes its guards on *run* now.

    One value per argument the trigger's row of *table* declares; an optional one is
    ``None`` or a value; a ``usage`` fits the run's steps (:func:`step_usage_for`). The
    row's sources are not consulted.

    Raises:
        InvalidArgument: *trigger* is not a trigger of *table*, or its row declares an
            argument with no known strategy.

    Needs hypothesis.
    """
    if trigger not in table.triggers:
        msg = f"arguments(): {trigger!r} is not a trigger; triggers: {', '.join(table.triggers)}"
        raise InvalidArgument(msg)
    fields: dict[str, st.SearchStrategy[Any]] = {}
    for param in table.row(trigger).params:
        make = _ARGUMENTS.get(param.name)
        if make is None:
            msg = f"arguments(): {trigger}'s argument {param.name!r} has no known strategy"
            raise InvalidArgument(msg)
        value = step_usage_for(run, trigger, table=table) if param.name == "usage" else make(run)
        fields[param.name] = st.none() | value if param.optional else value
    return st.fixed_dictionaries(fields)


def step_arguments(op: str) -> st.SearchStrategy[dict[str, Any]]:
    """Keyword arguments with which the driver's step move *op* (``STEP_OPS``) passes its guards.

    ``open_message_step``: a ``message_id`` (:func:`message_ids`); ``complete_message_step``:
    a ``usage``, ``None`` or one (:func:`usages`). Whether a run allows the move now (its
    status and steps) is :func:`step_moves`'.

    Raises:
        InvalidArgument: *op* is not a step move.

    Needs hypothesis.
    """
    if op == "open_message_step":
        return st.fixed_dictionaries({"message_id": _message_ids})
    if op == "complete_message_step":
        return st.fixed_dictionaries({"usage": st.none() | _usages})
    msg = f"step_arguments(): {op!r} is not a step move; the step moves: {', '.join(STEP_OPS)}"
    raise InvalidArgument(msg)


def step_moves(run: Run) -> list[str]:
    """The driver's step moves (``STEP_OPS``) *run* allows now, given its status and steps."""
    engine = run.engine
    if not isinstance(engine, RunEngine) or not engine.steps:
        return []
    out: list[str] = []
    held = run.steps
    open_step = held[-1] if held and held[-1].is_open else None
    for name, op in STEP_OPS.items():
        if run.status not in op.sources:
            continue
        if open_step is None:
            allowed = name == "open_message_step"
        else:
            allowed = name == "complete_message_step" and open_step.type == "message_creation"
        if allowed:
            out.append(name)
    return out


# --- runs -----------------------------------------------------------------------------------

_Edges = tuple[tuple[_Node, str, _Node], ...]
_WALKS: dict[tuple[RunStatus, bool, bool, Table], tuple[_Edges, dict[_Node, int]]] = {}


def _walk_graph(
    target: RunStatus, can_call: bool, limited: bool, table: Table
) -> tuple[_Edges, dict[_Node, int]]:
    """The feasible edges for such a run, and each node's distance to *target*.

    A trigger that takes ``tool_calls`` needs a run that can call tools; one that takes a
    ``reason`` (to run out of tokens) needs a token limit.
    """
    key = (target, can_call, limited, table)
    found = _WALKS.get(key)
    if found is None:
        explored = _graph(table=table)
        needs = {row.trigger: set(row.param_names) for row in table.rows}
        edges = tuple(
            e
            for e in explored.edges
            if (can_call or "tool_calls" not in needs[e[1]])
            and (limited or "reason" not in needs[e[1]])
        )
        dist = {node: 0 for node in explored.prefix if node[0] is target}
        queue = deque(dist)
        while queue:
            node = queue.popleft()
            for source, _, dest in edges:
                if dest == node and source not in dist:
                    dist[source] = dist[node] + 1
                    queue.append(source)
        found = _WALKS[key] = (edges, dist)
    return found


@st.composite
def _runs(draw: st.DrawFn, statuses: tuple[RunStatus, ...], table: Table, messages: bool) -> Run:
    target = draw(st.sampled_from(statuses))
    fields = draw(
        create_kwargs(
            callable_tools=target is RunStatus.REQUIRES_ACTION,
            limited=target is RunStatus.INCOMPLETE,
        )
    )
    clock = ManualClock(draw(st.integers(1_600_000_000, 1_900_000_000)))
    engine = RunEngine(clock=clock, ttl=draw(st.just(600) | st.integers(1, 86_400)), table=table)
    run = engine.create(**fields)
    edges, dist = _walk_graph(
        target, _can_call_tools(run), any(getattr(run, r) for r in INCOMPLETE_REASONS), table
    )
    order = {t: i for i, t in enumerate(table.triggers)}
    node: _Node = (run.status, False)
    moves = 0
    while True:
        options: list[tuple[int, int, str]] = sorted(
            (dist[dest], order[trigger], trigger)
            for source, trigger, dest in edges
            if source == node and dest in dist
        )
        if moves >= _FREE_MOVES:  # from here on, only moves that get closer
            options = [o for o in options if o[0] < dist[node]]
        choices: list[str | None] = [o[2] for o in options]
        if node[0] is target:
            choices.insert(0, None)  # stop here: first, so that shrinking stops early
        ops = step_moves(run) if messages and moves < _FREE_MOVES else []
        writes: bool = bool(ops) and draw(st.booleans())
        if writes:  # the model writes: a step move of the driver's
            op = ops[0] if len(ops) == 1 else draw(st.sampled_from(ops))
            expires_at = run.expires_at
            assert expires_at is not None  # noqa: S101 - the run is active
            clock.advance(draw(st.integers(0, max(0, min(60, expires_at - 1 - clock())))))
            # A message completes without usage of its own, so that the plain arguments of
            # runlife.paths (a fixed usage) still fit the run; the run's end gives an open
            # step its share of the run's usage.
            args = {"usage": None} if op == "complete_message_step" else draw(step_arguments(op))
            engine.fire_step(run, op, args)
            moves += 1
            continue
        choice = choices[0] if len(choices) == 1 else draw(st.sampled_from(choices))
        if choice is None:
            return run
        expires_at = run.expires_at
        assert expires_at is not None  # noqa: S101 - the run is active
        if choice == "expire":
            clock.set(max(clock(), expires_at) + draw(st.integers(0, 5)))
        else:  # move on before the run is due to expire
            clock.advance(draw(st.integers(0, max(0, min(60, expires_at - 1 - clock())))))
        engine.fire(run, choice, draw(arguments(run, choice, table=table)))
        node = (run.status, run.started_at is not None)
        moves += 1


def runs(
    *,
    status: RunStatus | str | Iterable[RunStatus | str] | None = None,
    table: Table = TABLE,
    messages: bool = True,
) -> st.SearchStrategy[Run]:
    """Runs in *status* (any status when ``None``; one of several when given a collection).

    Each run is created by a ``RunEngine`` of its own (moving runs by *table*, the
    lifecycle's by default), whose clock is a ``ManualClock``
    (``run.engine.clock``), with fields from :func:`create_kwargs`; it then reaches its
    status through legal moves with valid arguments (:func:`tool_calls`,
    :func:`tool_outputs_for`, :func:`usages`, ...), sometimes looping through tool calls,
    with time passing between moves. With *messages* (the default), the model also writes
    messages on the way: the driver's step moves (``open_message_step``,
    ``complete_message_step``, without a usage of its own, so that ``runlife.paths``' fixed
    usage still fits) while the run is ``in_progress`` (or ``cancelling``, to complete one);
    the move that ends the run gives its open step the run's usage. The run carries its steps (``run.steps``: ``tool_calls`` and
    ``message_creation``). Every invariant holds, ``runlife.check`` finds nothing (with the
    steps), and ``run.history`` holds the moves.

    Raises:
        InvalidArgument: a status is unknown (with a did-you-mean) or the collection is empty.

    Needs hypothesis.
    """
    if status is None:
        statuses = tuple(RunStatus)
    elif isinstance(status, str) or not isinstance(status, Iterable):
        statuses = (_status(status, "runs(status=...)"),)
    else:
        statuses = tuple(dict.fromkeys(_status(s, "runs(status=...)") for s in status))
        if not statuses:
            msg = "runs(status=...): expected a status or a non-empty collection of them, got none"
            raise InvalidArgument(msg)
    return _runs(statuses, table, messages)
