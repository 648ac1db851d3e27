"""Paths through the lifecycle, computed from the transition table: model-based testing.

A *path* is a tuple of trigger names fired one after the other on a new (``queued``) run,
for example ``("start", "require_action", "submit_tool_outputs", "start", "complete")``.
Because each trigger has one destination, a path also names every status the run goes
through (:func:`steps`). The functions here give the paths a test suite wants, in the
spirit of the graph tools XState offers JavaScript users:

- :func:`shortest_paths`: the shortest path to every status;
- :func:`transition_cover`: as few paths as possible that, between them, make every
  transition of the table (every *(status, trigger)* pair it allows);
- :func:`simple_paths`: every path that visits no status twice, up to a length;

and :func:`follow` fires a path on a real run, with valid arguments
(:func:`arguments_for`), advancing the run's ``ManualClock`` where a guard needs time.

>>> from runlife.paths import follow, shortest_paths
>>> shortest_paths()["cancelled"]
('cancel', 'finish_cancel')
>>> follow(("start", "require_action", "submit_tool_outputs")).status
<RunStatus.QUEUED: 'queued'>

The candidates come from the table (``runlife.TABLE.rows``), so the paths follow it when it
changes. Guards decide the rest: every path returned here replays on a real run, because the
graph is explored by firing triggers on real runs. Only one guard looks at a run's past, the
one that refuses ``complete()`` and ``mark_incomplete()`` to a run that never started (a run
cancelled while still queued), so the explored graph's nodes are a status plus whether the
run has started. The exploration runs once per process, on first use (well under 50 ms).

Every function here is pure and thread-safe; none of them needs hypothesis.
"""

from __future__ import annotations

import functools
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Final, NamedTuple, TypeAlias

from . import (
    INCOMPLETE_REASONS,
    TABLE,
    FunctionTool,
    GuardRejected,
    ManualClock,
    Run,
    RunEngine,
    RunStatus,
    Table,
)

__all__ = [
    "ARGUMENTS",
    "REPLAY_START",
    "Graph",
    "Node",
    "Step",
    "TriggerPath",
    "arguments_for",
    "follow",
    "graph",
    "new_replay_run",
    "shortest_paths",
    "simple_paths",
    "steps",
    "transition_cover",
]

#: A path: trigger names fired one after the other on a ``queued`` run.
TriggerPath: TypeAlias = tuple[str, ...]

#: The time (Unix seconds) at which :func:`new_replay_run` creates its runs.
REPLAY_START = 1_700_000_000


class Step(NamedTuple):
    """One move of a path: *trigger* takes a run from *source* to *dest*."""

    source: RunStatus
    trigger: str
    dest: RunStatus


def steps(path: Iterable[str], *, table: Table = TABLE) -> tuple[Step, ...]:
    """The moves *path* makes from ``queued``, by *table* alone (guards are not consulted).

    >>> [f"{s.source}-{s.trigger}->{s.dest}" for s in steps(("start", "complete"))]
    ['queued-start->in_progress', 'in_progress-complete->completed']

    Raises:
        ValueError: a name is not a trigger, or the table does not allow it from the status
            the path has reached; the message names the position, the status and the
            triggers allowed there.
    """
    status = RunStatus.QUEUED
    out: list[Step] = []
    for i, trigger in enumerate(path):
        if trigger not in table.triggers:
            msg = f"path[{i}]: {trigger!r} is not a trigger; triggers: {', '.join(table.triggers)}"
            raise ValueError(msg)
        row = table.row(trigger)
        if status not in row.sources:
            allowed = ", ".join(table.triggers_from(status)) or "nothing (it is terminal)"
            msg = f"path[{i}]: {trigger} is not allowed from {status.value}; it allows {allowed}"
            raise ValueError(msg)
        out.append(Step(status, trigger, row.dest))
        status = row.dest
    return tuple(out)


# --- arguments and replay -------------------------------------------------------------------

_USAGE: dict[str, int] = {"prompt_tokens": 100, "completion_tokens": 20, "total_tokens": 120}


def _tool_calls(run: Run) -> list[dict[str, Any]]:
    names = [t.function.name for t in run.tools if isinstance(t, FunctionTool)]
    if not names or run.tool_choice == "none":
        why = "declares no function tool" if not names else "has tool_choice 'none'"
        msg = f"run {run.id} {why}, so it cannot ask for tool calls"
        raise ValueError(msg)
    return [{"id": "call_1", "type": "function", "function": {"name": names[0], "arguments": "{}"}}]


def _tool_outputs(run: Run) -> list[dict[str, str]]:
    ra = run.required_action
    pending = ra.submit_tool_outputs.tool_calls if ra is not None else ()
    return [{"tool_call_id": c.id, "output": "ok"} for c in pending]


def _reason(run: Run) -> str:
    for reason in INCOMPLETE_REASONS:
        if getattr(run, reason) is not None:
            return reason
    msg = f"run {run.id} has no token limit set, so it cannot run out of tokens"
    raise ValueError(msg)


#: A passing value of each argument a table row may declare, by its name (``Param.name``).
ARGUMENTS: Final[Mapping[str, Callable[[Run], Any]]] = {
    "tool_calls": _tool_calls,
    "tool_outputs": _tool_outputs,
    "reason": _reason,
    "code": lambda _run: "server_error",
    "message": lambda _run: "The server had an error.",
    "usage": lambda _run: dict(_USAGE),
}
#: Optional arguments given anyway, by trigger: a completed or incomplete run reports usage.
_GIVEN_OPTIONAL: Final = frozenset({("complete", "usage"), ("mark_incomplete", "usage")})


def arguments_for(run: Run, trigger: str, *, table: Table | None = None) -> dict[str, Any]:
    """Keyword arguments with which *trigger* passes its guards on *run* now.

    Built from the trigger's row of *table* (by default the table of the run's engine), one value per declared argument
    (:data:`ARGUMENTS`): plain and fixed, so that replays are reproducible: one call of the
    run's first function tool (``{"id": "call_1", ..., "arguments": "{}"}``), an output
    ``"ok"`` for every pending call, a usage of 100 + 20 tokens for ``complete`` and
    ``mark_incomplete`` (other optional arguments are left out), ``server_error`` for
    ``fail``, and for ``mark_incomplete`` the first token limit the run has set. The
    row's sources are not consulted: an illegal trigger still fails when it is fired.

    Raises:
        ValueError: *trigger* is not a trigger of *table*, a row declares an argument
            :data:`ARGUMENTS` has no value for, or *run* cannot take it with any arguments
            (``require_action`` on a run without function tools or with ``tool_choice``
            ``"none"``; ``mark_incomplete`` on a run without token limits).
    """
    if table is None:
        table = run.engine.table
    if trigger not in table.triggers:
        msg = f"{trigger!r} is not a trigger; triggers: {', '.join(table.triggers)}"
        raise ValueError(msg)
    kwargs: dict[str, Any] = {}
    for param in table.row(trigger).params:
        if param.optional and (trigger, param.name) not in _GIVEN_OPTIONAL:
            continue
        make = ARGUMENTS.get(param.name)
        if make is None:
            msg = f"{trigger}: no value known for its argument {param.name!r}"
            raise ValueError(msg)
        kwargs[param.name] = make(run)
    return kwargs


#: The fields of the runs :func:`new_replay_run` makes: one that every path can move.
_REPLAY_FIELDS: Mapping[str, Any] = {
    "id": "run_replay",
    "assistant_id": "asst_replay",
    "thread_id": "thread_replay",
    "model": "gpt-4o",
    "instructions": "Replay a path.",
    "tools": [{"type": "function", "function": {"name": "lookup"}}],
    "max_prompt_tokens": 1000,
    "max_completion_tokens": 1000,
}


def new_replay_run(*, table: Table = TABLE, **fields: Any) -> Run:
    """A new ``queued`` run that every path can move, on its own engine and ``ManualClock``.

    It declares a function tool ``lookup``, has both token limits set (1000), and is
    created at :data:`REPLAY_START` with ``id`` ``"run_replay"``; *fields* override any of
    these (they are passed to ``RunEngine.create``). ``run.engine.clock`` is its clock; its
    engine moves it by *table*.
    """
    engine = RunEngine(clock=ManualClock(REPLAY_START), record_history=True, table=table)
    return engine.create(**{**_REPLAY_FIELDS, **fields})


def follow(path: Iterable[str], run: Run | None = None, *, step: int = 1) -> Run:
    """Fire the triggers of *path* on *run* (a :func:`new_replay_run` when omitted); return it.

    Before each move the run's clock advances by *step* seconds (so that stamps differ),
    and before ``expire`` it also moves to ``expires_at`` when that is still ahead.
    Arguments come from :func:`arguments_for`, by the table of the run's engine, and each
    trigger is fired through that engine (``engine.fire``).

    Args:
        path: trigger names, fired in order.
        run: a run in any status, whose engine's clock is a ``ManualClock``.
        step: seconds (an int >= 0) to advance before each move.

    Raises:
        IllegalTransition: the table does not allow a trigger where the path has reached.
        GuardRejected: a guard refuses a move (a note names the position in the path).
        ValueError: *run* cannot take a trigger with any arguments (see
            :func:`arguments_for`), or a trigger name is unknown.
        TypeError: *run*'s engine does not have a ``ManualClock``.
    """
    if run is None:
        run = new_replay_run()
    engine = run.engine
    clock = engine.clock
    if not isinstance(clock, ManualClock):
        msg = (
            f"follow() needs a run whose engine has a ManualClock (it moves time), "
            f"got an engine with {clock!r}"
        )
        raise TypeError(msg)
    for i, trigger in enumerate(path):
        if step:
            clock.advance(step)
        expires_at = run.expires_at
        if trigger == "expire" and expires_at is not None and clock() < expires_at:
            clock.set(expires_at)
        kwargs = arguments_for(run, trigger, table=engine.table)
        try:
            engine.fire(run, trigger, kwargs)
        except GuardRejected as exc:
            exc.add_note(f"while following path[{i}] of {tuple(path)!r}")
            raise
    return run


# --- the explored graph ---------------------------------------------------------------------

#: A node of the explored graph (``graph()``): a status, and whether the run has started.
Node: TypeAlias = tuple[RunStatus, bool]
_ROOT: Node = (RunStatus.QUEUED, False)


class Graph(NamedTuple):
    """The lifecycle explored on real runs: every reachable node and every feasible edge."""

    #: Every reachable node, in breadth-first order, with the first shortest path to it.
    prefix: dict[Node, TriggerPath]
    #: Feasible edges ``(source node, trigger, dest node)``, in breadth-first then table order.
    edges: tuple[tuple[Node, str, Node], ...]


def _node(run: Run) -> Node:
    return (run.status, run.started_at is not None)


@functools.cache
def graph(*, table: Table = TABLE) -> Graph:
    """The lifecycle explored breadth-first by firing *table*'s triggers on real runs.

    Guards decide which edges exist: a run cancelled while queued never started, so it
    cannot complete. Computed once per table, then cached.
    """
    prefix: dict[Node, TriggerPath] = {_ROOT: ()}
    edges: list[tuple[Node, str, Node]] = []
    queue = deque([_ROOT])
    while queue:
        node = queue.popleft()
        for trigger in table.triggers_from(node[0]):
            path = (*prefix[node], trigger)
            try:
                dest = _node(follow(path, new_replay_run(table=table)))
            except GuardRejected:
                continue  # a guard refuses this move from this node, whatever the arguments
            edges.append((node, trigger, dest))
            if dest not in prefix:
                prefix[dest] = path
                queue.append(dest)
    return Graph(prefix, tuple(edges))


@functools.cache
def shortest_paths(*, table: Table = TABLE) -> dict[RunStatus, TriggerPath]:
    """The shortest path from ``queued`` to each of the nine statuses (``()`` for ``queued``).

    Among paths of equal length, the one whose triggers come first in the table wins.
    The dict is in the order of ``RunStatus``; treat it as read-only (it is cached).

    >>> shortest_paths()["requires_action"]
    ('start', 'require_action')
    """
    explored = graph(table=table)
    found: dict[RunStatus, TriggerPath] = {}
    for (status, _), path in explored.prefix.items():
        found.setdefault(status, path)
    missing = [s.value for s in RunStatus if s not in found]
    if missing:  # pragma: no cover - the table reaches every status (tested)
        msg = f"no path reaches {', '.join(missing)}"
        raise RuntimeError(msg)
    return {status: found[status] for status in RunStatus}


def simple_paths(*, max_length: int | None = None, table: Table = TABLE) -> tuple[TriggerPath, ...]:
    """Every path from ``queued`` that visits no status twice, of at most *max_length* moves.

    The empty path (the run stays ``queued``) comes first; then the paths by length, and
    paths of one length in the table's order of triggers. A simple path never loops back to
    ``queued``, so ``submit_tool_outputs`` is on none of them (see :func:`transition_cover`).

    >>> simple_paths(max_length=1)
    ((), ('start',), ('fail',), ('cancel',), ('expire',))

    Raises:
        ValueError: *max_length* is not None or an int >= 0.
    """
    if max_length is not None and (type(max_length) is not int or max_length < 0):
        msg = f"max_length: expected None or an int >= 0, got {max_length!r}"
        raise ValueError(msg)
    out = [p for p in _simple_paths(table) if max_length is None or len(p) <= max_length]
    return tuple(out)


@functools.cache
def _simple_paths(table: Table) -> tuple[TriggerPath, ...]:
    explored = graph(table=table)
    out: list[TriggerPath] = []

    def walk(node: Node, path: TriggerPath, seen: frozenset[RunStatus]) -> None:
        out.append(path)
        for source, trigger, dest in explored.edges:
            if source == node and dest[0] not in seen:
                walk(dest, (*path, trigger), seen | {dest[0]})

    walk(_ROOT, (), frozenset({_ROOT[0]}))
    order = {t: i for i, t in enumerate(table.triggers)}
    return tuple(sorted(out, key=lambda p: (len(p), [order[t] for t in p])))


@functools.cache
def transition_cover(*, table: Table = TABLE) -> tuple[TriggerPath, ...]:
    """As few paths as possible that, between them, make every transition of the table.

    A transition is a *(status, trigger)* pair the table allows (``expire`` from each of the
    four active statuses is four of them). A run makes at most one move into a terminal
    status, so a cover needs at least one path per transition into a terminal status; this
    one has exactly that many (12 for the spec's table), each ending in a terminal status,
    with the fewest moves that a minimum-cost flow finds. The loop through
    ``requires_action`` is folded into paths that end elsewhere.

    Paths are ordered by length, then by the table's order of triggers.

    >>> len(transition_cover())
    12
    """
    explored = graph(table=table)
    # The cheapest feasible edge for each transition: the one whose source is reached first.
    rank = {node: i for i, node in enumerate(explored.prefix)}
    required: dict[tuple[RunStatus, str], tuple[Node, str, Node]] = {}
    for edge in sorted(explored.edges, key=lambda e: rank[e[0]]):
        required.setdefault((edge[0][0], edge[1]), edge)
    allowed = {(s, t.trigger) for t in table.rows for s in t.sources}
    unreachable = sorted(f"{s.value}-{t}" for s, t in allowed - set(required))
    if unreachable:  # pragma: no cover - every transition is feasible (tested)
        msg = f"no path makes {', '.join(unreachable)}"
        raise RuntimeError(msg)
    walk = _euler_walk(list(explored.prefix), list(explored.edges), list(required.values()))
    paths: list[TriggerPath] = []
    current: list[str] = []
    for trigger in walk:
        if trigger is None:
            paths.append(tuple(current))
            current = []
        else:
            current.append(trigger)
    if current:
        paths.append(tuple(current))
    order = {t: i for i, t in enumerate(table.triggers)}
    return tuple(sorted(paths, key=lambda p: (len(p), [order[t] for t in p])))


_Edge: TypeAlias = tuple[Node, str, Node]


def _euler_walk(nodes: list[Node], edges: list[_Edge], required: list[_Edge]) -> list[str | None]:
    """One closed walk from the root that makes every *required* edge, as triggers.

    ``None`` marks a restart (the walk goes back to the root: a new path begins). Each
    restart costs more than any number of moves, so a minimum-cost flow over the feasible
    edges (cost 1 a move) first minimises the number of paths, then their total length.
    """
    index = {node: i for i, node in enumerate(nodes)}
    root = index[_ROOT]
    n = len(nodes)
    restart_cost = 1 + 1000 * (len(edges) + 1)
    # Balance of the required edges: what the extra flow must carry away from each node.
    surplus = [0] * n
    for u, _, v in required:
        surplus[index[v]] += 1
        surplus[index[u]] -= 1
    # Arcs: (tail, head, cost, label); label is an edge index, or -1 for a restart.
    arcs: list[tuple[int, int, int, int]] = [
        (index[u], index[v], 1, i) for i, (u, _, v) in enumerate(edges)
    ]
    arcs += [(i, root, restart_cost, -1) for i in range(n) if i != root]
    flow = _min_cost_flow(n, arcs, surplus)
    # The multigraph of the walk: required edges once, extra flow and restarts as computed.
    adjacency: list[list[tuple[int, str | None]]] = [[] for _ in range(n)]
    for u, name, v in required:
        adjacency[index[u]].append((index[v], name))
    for (tail, head, _, label), amount in zip(arcs, flow, strict=True):
        via = edges[label][1] if label >= 0 else None
        adjacency[tail].extend([(head, via)] * amount)
    # Hierholzer's algorithm; edges popped from the end, so reverse for the table's order.
    for out in adjacency:
        out.reverse()
    stack: list[tuple[int, str | None]] = [(root, None)]
    circuit: list[str | None] = []
    while stack:
        node, via = stack[-1]
        if adjacency[node]:
            stack.append(adjacency[node].pop())
        else:
            stack.pop()
            circuit.append(via)
    circuit.reverse()
    circuit = circuit[1:]  # the first entry is the start marker, not a move
    # Rotate so that the walk begins just after a restart, at the root.
    if None in circuit and circuit[-1] is not None:
        last = len(circuit) - 1 - circuit[::-1].index(None)
        circuit = circuit[last + 1 :] + circuit[: last + 1]
    return circuit


def _min_cost_flow(n: int, arcs: list[tuple[int, int, int, int]], surplus: list[int]) -> list[int]:
    """Uncapacitated min-cost transshipment: send each node's surplus to the deficits.

    Successive shortest paths with Bellman-Ford over the residual graph; the graphs here
    have about 20 nodes, so simplicity wins over speed.
    """
    source, sink = n, n + 1
    big = sum(abs(s) for s in surplus) + 1
    # Residual graph as parallel lists: to, capacity, cost, reverse index.
    to: list[int] = []
    cap: list[int] = []
    cost: list[int] = []
    out: list[list[int]] = [[] for _ in range(n + 2)]

    def add(u: int, v: int, c: int, w: int) -> int:
        out[u].append(len(to))
        to.append(v)
        cap.append(c)
        cost.append(w)
        out[v].append(len(to))
        to.append(u)
        cap.append(0)
        cost.append(-w)
        return len(to) - 2

    ids = [add(u, v, big, w) for u, v, w, _ in arcs]
    for node, amount in enumerate(surplus):
        if amount > 0:
            add(source, node, amount, 0)
        elif amount < 0:
            add(node, sink, -amount, 0)
    inf = float("inf")
    while True:
        dist: list[float] = [inf] * (n + 2)
        via: list[int] = [-1] * (n + 2)
        dist[source] = 0
        changed = True
        while changed:
            changed = False
            for u in range(n + 2):
                if dist[u] == inf:
                    continue
                for e in out[u]:
                    if cap[e] > 0 and dist[u] + cost[e] < dist[to[e]]:
                        dist[to[e]] = dist[u] + cost[e]
                        via[to[e]] = e
                        changed = True
        if dist[sink] == inf:
            break
        push = big
        v = sink
        while v != source:
            e = via[v]
            push = min(push, cap[e])
            v = to[e ^ 1]
        v = sink
        while v != source:
            e = via[v]
            cap[e] -= push
            cap[e ^ 1] += push
            v = to[e ^ 1]
    return [cap[e ^ 1] for e in ids]


def __getattr__(name: str) -> Any:
    if name == "replay":
        import warnings  # noqa: PLC0415 - only for the deprecated name

        warnings.warn(
            "runlife.paths.replay is deprecated and goes in the next release: use "
            "runlife.paths.follow (runlife.rebuild replays a run's history)",
            DeprecationWarning,
            stacklevel=2,
        )
        return follow
    raise AttributeError(f"module 'runlife.paths' has no attribute {name!r}")
