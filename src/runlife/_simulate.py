"""Seeded simulations of many runs in virtual time: the engine behind ``runlife simulate``.

Each run is simulated on its own, start to end, by the real engine and its real triggers.
Runs come in blocks of ``BLOCK`` (2,000), each driven by a random generator seeded from
``(seed, block number)`` alone: so a run does the same whatever the number of processes or
the order the blocks are simulated in (processes share out whole blocks). Runs share nothing
(no queue, no rate limit): the arrival rate sets when each run is created, and so the
virtual span of the simulation, not its outcome.

Memory stays flat whatever the number of runs: a run is dropped once it ends, and the
statistics are bounded. Durations are whole virtual seconds, at most ``ttl`` (a run expires
at ``expires_at``), so they are kept as exact counts per second (a ``Counter`` per terminal
status), from which the percentiles are exact too; shards are merged by adding the counts.

Thread-safety: ``simulate`` uses its own engine; run as many at once as you like.
"""

from __future__ import annotations

import bisect
import json
import math
import random
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from typing import Any, Final, Literal, TypeAlias

import attrs

from ._check import inspect
from ._constraints import ERROR_CODES
from ._engine import RunEngine
from ._invariants import invariant_problems
from ._record import Run
from ._status import RunStatus
from ._table import TRANSITIONS
from ._wire import to_dict

__all__ = [
    "CHECKS",
    "DEFAULT_POLICY",
    "FIELDS",
    "Policy",
    "PolicyError",
    "Report",
    "Stats",
    "format_json",
    "format_text",
    "policy_text",
    "simulate",
    "timing_text",
]

#: Virtual time (Unix seconds) at which the first run arrives.
START: Final = 1_700_000_000
#: Runs per unit of work: what a process simulates between two progress reports.
BLOCK: Final = 2_000
#: ``--check``: what is checked, when (see ``simulate``).
CHECKS: Final = ("final", "moves", "full", "none")
Check: TypeAlias = Literal["final", "moves", "full", "none"]
#: Terminal statuses, in the order of the report.
ENDS: Final = (
    RunStatus.COMPLETED,
    RunStatus.INCOMPLETE,
    RunStatus.FAILED,
    RunStatus.CANCELLED,
    RunStatus.EXPIRED,
)
#: The percentiles of the report.
PERCENTILES: Final = (50, 95, 99)

Range: TypeAlias = tuple[int, int]


class PolicyError(ValueError):
    """Policy values that are not acceptable: *problems* holds ``(key, problem)`` pairs.

    The message has one line per problem: ``key: problem``.
    """

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        self.problems = problems
        super().__init__("\n".join(f"{key}: {problem}" for key, problem in problems))


# --- the policy -------------------------------------------------------------------------------


def _field(default: Any, kind: str, help: str) -> Any:  # noqa: A002 - argparse's word
    return attrs.field(default=default, metadata={"kind": kind, "help": help})


@attrs.frozen(kw_only=True)
class Policy:
    """What happens to simulated runs: rates, probabilities and durations (virtual seconds).

    A range ``(lo, hi)`` draws an int uniformly from ``lo`` to ``hi`` inclusive. Every
    probability is per run unless it says otherwise.
    """

    arrival_rate: float = _field(10.0, "rate", "runs created per virtual second")
    ttl: int = _field(600, "seconds", "seconds from creation to expires_at")
    parallel: float = _field(0.8, "probability", "share of runs that allow parallel tool calls")
    limited: float = _field(
        0.5, "probability", "share of runs with a max_completion_tokens limit (token_limit)"
    )
    token_limit: int = _field(4096, "limit", "the max_completion_tokens of limited runs")
    queue_wait: Range = _field((0, 4), "range", "seconds queued before each start")
    step: Range = _field((1, 20), "range", "seconds in_progress before the next event")
    tool_round: float = _field(
        0.35, "probability", "chance that a step ends by asking for tool calls"
    )
    max_tool_rounds: int = _field(4, "count", "at most this many tool-call rounds a run")
    tool_calls: Range = _field((1, 3), "range", "calls a round (1 without parallel tool calls)")
    output_delay: Range = _field((1, 20), "range", "seconds the client takes to submit outputs")
    late: float = _field(
        0.02, "probability", "chance that a round's outputs come too late: the run expires"
    )
    cancel: float = _field(
        0.03, "probability", "share of runs the client cancels (if still active by then)"
    )
    cancel_after: Range = _field((0, 60), "range", "seconds after creation the client cancels")
    cancel_delay: Range = _field((1, 5), "range", "seconds a run spends cancelling")
    cancel_ignored: float = _field(
        0.1,
        "probability",
        "chance that a started run completes anyway once cancelling (cancelling is not a promise)",
    )
    fail: float = _field(0.02, "probability", "chance that a step (or a cancellation) fails")
    fail_codes: tuple[tuple[str, float], ...] = _field(
        (("server_error", 6.0), ("rate_limit_exceeded", 3.0), ("invalid_prompt", 1.0)),
        "weights",
        "relative weights of the failures' last_error.code",
    )
    incomplete: float = _field(
        0.1, "probability", "chance that a limited run runs out of tokens at its last step"
    )
    prompt_tokens: Range = _field((200, 4000), "range", "prompt tokens of a run that ends")
    completion_tokens: Range = _field(
        (20, 800), "range", "completion tokens (at most token_limit when limited)"
    )

    def __attrs_post_init__(self) -> None:
        problems = [
            (f.name, p) for f in attrs.fields(Policy) if (p := _problem(f, getattr(self, f.name)))
        ]
        if problems:
            raise PolicyError(problems)

    def changes(self) -> dict[str, Any]:
        """The fields that differ from the defaults, in field order, as JSON values."""
        mine, default = self.to_json(), DEFAULT_POLICY.to_json()
        return {k: v for k, v in mine.items() if v != default[k]}

    def to_json(self) -> dict[str, Any]:
        """Every field as a JSON value (ranges as ``[lo, hi]``, weights as an object)."""
        return {f.name: _to_json(getattr(self, f.name)) for f in attrs.fields(Policy)}

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any], *, base: Policy | None = None) -> Policy:
        """*base* (the defaults) with the fields *values* gives, as JSON/TOML values.

        Raises:
            PolicyError: an unknown key (with a did-you-mean) or a bad value, one line each.
        """
        problems: list[tuple[str, str]] = []
        changes: dict[str, Any] = {}
        for key, raw in values.items():
            field = FIELDS.get(key)
            if field is None:
                problems.append((key, _unknown_key(key)))
                continue
            try:
                changes[key] = _from_json(field.metadata["kind"], raw)
            except ValueError as exc:
                problems.append((key, str(exc)))
        if problems:
            raise PolicyError(problems)
        return attrs.evolve(base or DEFAULT_POLICY, **changes)


FIELDS: Final[dict[str, attrs.Attribute[Any]]] = {f.name: f for f in attrs.fields(Policy)}


def _unknown_key(key: str) -> str:
    import difflib  # noqa: PLC0415 - only on errors

    close = difflib.get_close_matches(key, list(FIELDS), n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    return f"unknown policy key{hint} (keys: {', '.join(FIELDS)})"


def _to_json(value: Any) -> Any:
    if isinstance(value, tuple) and value and isinstance(value[0], tuple):
        return dict(value)
    if isinstance(value, tuple):
        return list(value)
    return value


def _number(raw: Any) -> float:
    if isinstance(raw, bool) or not isinstance(raw, int | float) or not math.isfinite(raw):
        raise ValueError(f"expected a number, got {raw!r}")
    return float(raw)


def _int(raw: Any) -> int:
    if isinstance(raw, float) and raw.is_integer():
        raw = int(raw)
    if isinstance(raw, bool) or not isinstance(raw, int):
        raise ValueError(f"expected an int, got {raw!r}")  # noqa: TRY004 - a value problem
    return raw


def _from_json(kind: str, raw: Any) -> Any:
    """Convert a JSON/TOML value to the field's type; ranges and weights are checked later."""
    if kind in {"probability", "rate"}:
        return _number(raw)
    if kind in {"seconds", "count", "limit"}:
        return _int(raw)
    if kind == "range":
        if isinstance(raw, int | float) and not isinstance(raw, bool):
            value = _int(raw)
            return (value, value)
        if isinstance(raw, list | tuple) and len(raw) == 2:
            return (_int(raw[0]), _int(raw[1]))
        raise ValueError(f"expected [lo, hi] (two ints) or one int, got {raw!r}")
    if kind == "weights":
        if not isinstance(raw, Mapping):
            raise ValueError(f"expected a table of code = weight, got {raw!r}")
        return tuple((str(k), _number(v)) for k, v in raw.items())
    raise AssertionError(kind)  # pragma: no cover


def _problem(field: attrs.Attribute[Any], value: Any) -> str | None:
    """Why *value* is not acceptable for *field*, or ``None``."""
    kind, name = field.metadata["kind"], field.name
    if kind == "probability" and not 0 <= value <= 1:
        return f"expected a probability from 0 to 1, got {_num(value)}"
    if kind == "rate" and not value > 0:
        return f"expected a number > 0, got {_num(value)}"
    if kind == "seconds" and value < 1:
        return f"expected an int of seconds >= 1, got {value}"
    if kind == "count" and value < 0:
        return f"expected an int >= 0, got {value}"
    if kind == "limit" and value < 256:
        return f"expected an int >= 256 (the API's minimum), got {value}"
    if kind == "range":
        lo, hi = value
        least = 1 if name == "tool_calls" else 0
        if not least <= lo <= hi:
            return f"expected {least} <= LO <= HI, got {_range(value)}"
    if kind == "weights":
        unknown = [code for code, _ in value if code not in ERROR_CODES]
        if unknown:
            return f"unknown code {', '.join(map(repr, unknown))}; codes: {', '.join(ERROR_CODES)}"
        if any(w < 0 for _, w in value) or sum(w for _, w in value) <= 0:
            return f"expected weights >= 0 with a sum > 0, got {_show(value)}"
    return None


def _range(value: Range) -> str:
    return f"{value[0]}..{value[1]}"


DEFAULT_POLICY: Final = Policy()


def policy_text(policy: Policy) -> str:
    """The policy for the report's header: ``defaults``, or the fields changed from them."""
    changes = policy.changes()
    if not changes:
        return "default policy"
    parts = [f"{k}={_show(getattr(policy, k))}" for k in changes]
    return "policy: defaults with " + ", ".join(parts)


def _show(value: Any) -> str:
    if isinstance(value, tuple) and value and isinstance(value[0], tuple):
        return ",".join(f"{k}={_num(w)}" for k, w in value)
    if isinstance(value, tuple):
        return _range(value)
    return _num(value)


def _num(value: float) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


# --- statistics -------------------------------------------------------------------------------


@attrs.define
class Stats:
    """Bounded, mergeable statistics of simulated runs."""

    runs: int = 0
    #: Per terminal status: duration (virtual seconds, end minus creation) -> runs.
    durations: dict[str, Counter[int]] = attrs.field(
        factory=lambda: {s.value: Counter() for s in ENDS}
    )
    #: ``(source status, trigger)`` -> moves made.
    moves: Counter[tuple[str, str]] = attrs.field(factory=Counter)
    tool_calls: int = 0
    #: Findings of ``runlife.check`` (all must be zero).
    violations: int = 0
    #: The run with the lowest index that had findings: ``(index, status, findings)``.
    first_violation: tuple[int, str, list[str]] | None = None
    #: The virtual time the last run ended.
    last_end: int = 0

    def merge(self, other: Stats) -> None:
        """Add *other*'s counts to these (exactly; the order of merging does not matter)."""
        self.runs += other.runs
        for status, counts in other.durations.items():
            self.durations[status].update(counts)
        self.moves.update(other.moves)
        self.tool_calls += other.tool_calls
        self.violations += other.violations
        mine, theirs = self.first_violation, other.first_violation
        if theirs is not None and (mine is None or theirs[0] < mine[0]):
            self.first_violation = theirs
        self.last_end = max(self.last_end, other.last_end)


def percentile(counts: Counter[int], p: int) -> int | None:
    """The nearest-rank *p*-th percentile of the values counted in *counts*."""
    n = sum(counts.values())
    if n == 0:
        return None
    rank = -(-p * n // 100)  # ceil(p * n / 100), at least 1 for p > 0
    seen = 0
    for value in sorted(counts):
        seen += counts[value]
        if seen >= rank:
            return value
    raise AssertionError(counts)  # pragma: no cover


# --- one run ----------------------------------------------------------------------------------


class _Clock:
    """A clock the simulator sets: each run lives on its own virtual timeline."""

    __slots__ = ("now",)

    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> int:
        return self.now


_TOOLS: Final = [{"type": "function", "function": {"name": "lookup"}}]
_FAIL_MESSAGES: Final = {
    "server_error": "The server had an error while processing your request.",
    "rate_limit_exceeded": "Rate limit reached.",
    "invalid_prompt": "Your prompt was flagged as potentially violating our usage policy.",
}
_NEVER: Final = 2**62


class _Simulator:
    """Simulates runs one at a time with one engine, keeping only ``Stats``."""

    def __init__(self, policy: Policy, seed: int, check: Check) -> None:
        self.policy = policy
        self.seed = seed
        self.check = check
        self.clock = _Clock()
        self.engine = RunEngine(clock=self.clock, ttl=policy.ttl, record_history=False)
        self.rng = random.Random()
        codes = [c for c, w in policy.fail_codes if w > 0]
        weights = [w for c, w in policy.fail_codes if w > 0]
        total = sum(weights)
        self.codes = codes
        self.code_cuts = [sum(weights[: i + 1]) / total for i in range(len(weights))]
        self.calls: dict[int, tuple[list[dict[str, Any]], list[dict[str, str]]]] = {}

    def _calls(self, n: int) -> tuple[list[dict[str, Any]], list[dict[str, str]]]:
        found = self.calls.get(n)
        if found is None:
            ids = [f"call_{i + 1}" for i in range(n)]
            calls = [
                {"id": i, "type": "function", "function": {"name": "lookup", "arguments": "{}"}}
                for i in ids
            ]
            found = self.calls[n] = (calls, [{"tool_call_id": i, "output": "ok"} for i in ids])
        return found

    def block(self, start: int, stop: int) -> Stats:
        """Simulate runs ``start`` to ``stop - 1`` (one block: *start* on the grid of BLOCK).

        The generator is seeded from ``(seed, block number)``: seeding costs 7 % of a whole
        run, so it is done once a block, not once a run.
        """
        if start % BLOCK or not start < stop <= start + BLOCK:
            raise ValueError(f"not a block: {start}..{stop} (blocks start on multiples of {BLOCK})")
        self.rng.seed(self.seed * 2**64 + start // BLOCK)
        stats = Stats()
        for index in range(start, stop):
            self.run(index, stats)
        return stats

    def run(self, index: int, stats: Stats) -> None:  # noqa: PLR0915 - one run's story
        """Simulate run *index* from arrival to its end, adding to *stats*."""
        p = self.policy
        rand = self.rng.random

        def uniform(bounds: Range) -> int:
            lo, hi = bounds
            return lo + int(rand() * (hi - lo + 1)) if hi > lo else lo

        clock = self.clock
        created = START + int(index / p.arrival_rate)
        clock.now = created
        limited = rand() < p.limited
        parallel = rand() < p.parallel
        run = self.engine.create(
            id=f"run_{index}",
            assistant_id="asst_sim",
            thread_id=f"thread_{index}",
            model="gpt-4o",
            tools=_TOOLS,
            parallel_tool_calls=parallel,
            max_completion_tokens=p.token_limit if limited else None,
        )
        moves = stats.moves
        check_moves = self.check == "moves"

        def fire(trigger: str, at: int, *args: Any) -> None:
            clock.now = at
            moves[run.status._value_, trigger] += 1
            getattr(run, trigger)(*args)
            if check_moves:
                self._check(run, index, stats)

        def usage() -> dict[str, int]:
            prompt = uniform(p.prompt_tokens)
            completion = uniform(p.completion_tokens)
            if limited:
                completion = min(completion, p.token_limit)
            return {
                "prompt_tokens": prompt,
                "completion_tokens": completion,
                "total_tokens": prompt + completion,
            }

        def fail(at: int) -> None:
            code = self.codes[bisect.bisect_left(self.code_cuts, rand())]
            fire("fail", at, code, _FAIL_MESSAGES[code])

        expires_at = created + p.ttl
        cancel_at = created + uniform(p.cancel_after) if rand() < p.cancel else _NEVER
        t = created
        rounds = 0
        started = False
        end: int | None = None

        def interrupted(nxt: int) -> bool:
            """Wait until *nxt*, unless the client cancels or the run expires first."""
            nonlocal t, end
            if cancel_at < nxt and cancel_at < expires_at:
                t = max(t, cancel_at)
                return True
            if nxt >= expires_at:
                fire("expire", expires_at)
                end = expires_at
                return True
            t = nxt
            return False

        while end is None:
            # queued -> in_progress, unless cancelled or expired first
            if interrupted(t + uniform(p.queue_wait)):
                break
            fire("start", t)
            started = True
            # in_progress: one step of work
            if interrupted(t + uniform(p.step)):
                break
            if rand() < p.fail:
                fail(t)
                end = t
            elif rounds < p.max_tool_rounds and rand() < p.tool_round:
                rounds += 1
                calls, outputs = self._calls(uniform(p.tool_calls) if parallel else 1)
                fire("require_action", t, calls)
                stats.tool_calls += len(calls)
                # requires_action: the client answers, perhaps too late
                late = rand() < p.late
                if interrupted(expires_at + 1 if late else t + uniform(p.output_delay)):
                    break
                fire("submit_tool_outputs", t, outputs)
            elif limited and rand() < p.incomplete:
                spent = usage()
                spent["completion_tokens"] = p.token_limit
                spent["total_tokens"] = spent["prompt_tokens"] + p.token_limit
                fire("mark_incomplete", t, "max_completion_tokens", spent)
                end = t
            else:
                fire("complete", t, usage())
                end = t
        if end is None:  # the client cancelled at t
            fire("cancel", t)
            nxt = t + uniform(p.cancel_delay)
            if nxt >= expires_at:
                fire("expire", expires_at)
                end = expires_at
            elif rand() < p.fail:
                fail(nxt)
                end = nxt
            elif started and rand() < p.cancel_ignored:
                fire("complete", nxt, usage())
                end = nxt
            else:
                fire("finish_cancel", nxt)
                end = nxt
        stats.runs += 1
        stats.durations[run.status._value_][end - created] += 1
        stats.last_end = max(stats.last_end, end)
        if self.check in {"final", "full"}:
            self._check(run, index, stats)

    def _check(self, run: Run, index: int, stats: Stats) -> None:
        if self.check == "full":
            findings = inspect(to_dict(run))
        else:
            findings = invariant_problems(_invariant_view(run))
        if findings:
            stats.violations += len(findings)
            if stats.first_violation is None or index < stats.first_violation[0]:
                lines = [f"{f.path}: {f.message} [{f.kind} {f.code}]" for f in findings]
                stats.first_violation = (index, run.status.value, lines)


def _invariant_view(run: Run) -> dict[str, Any]:
    """What ``invariant_problems`` reads of a run's wire dict, straight from the record."""
    return {
        "status": run.status,
        "created_at": run.created_at,
        "started_at": run.started_at,
        "expires_at": run.expires_at,
        "cancelled_at": run.cancelled_at,
        "failed_at": run.failed_at,
        "completed_at": run.completed_at,
        "required_action": run.required_action,
        "last_error": run.last_error,
        "incomplete_details": run.incomplete_details,
        "usage": run.usage,
    }


# --- many runs --------------------------------------------------------------------------------

_WORKER: _Simulator | None = None


def _init_worker(policy: Policy, seed: int, check: Check) -> None:
    global _WORKER  # noqa: PLW0603 - one simulator per worker process
    _WORKER = _Simulator(policy, seed, check)


def _work(bounds: tuple[int, int]) -> Stats:
    assert _WORKER is not None  # noqa: S101 - set by the pool's initializer
    return _WORKER.block(*bounds)


@attrs.frozen
class Report:
    """What a simulation found, and how long it took (the only part that varies)."""

    runs: int
    seed: int
    policy: Policy
    check: Check
    stats: Stats
    elapsed: float
    processes: int


Progress = Callable[[int], object]


def _blocks(runs: int) -> Iterator[tuple[int, int]]:
    for start in range(0, runs, BLOCK):
        yield start, min(start + BLOCK, runs)


def simulate(
    *,
    runs: int,
    seed: int,
    policy: Policy = DEFAULT_POLICY,
    check: Check = "final",
    processes: int = 1,
    progress: Progress | None = None,
) -> Report:
    """Simulate *runs* runs with *policy*, seeded from ``(seed, block number)`` a block.

    *check* says what is checked when: ``"final"`` (the default) the eight invariants of the
    contract on every run's final state, ``"moves"`` the invariants after every move,
    ``"full"`` all of ``runlife.check`` (structure, invariants and rules) on every run's
    final wire dict, ``"none"`` nothing. *processes* > 1 shards the runs
    over that many processes, with the same result. *progress* is called with the number of
    runs done after each block of runs.
    """
    began = time.perf_counter()
    total = Stats()
    done = 0
    if processes == 1:
        simulator = _Simulator(policy, seed, check)
        for start, stop in _blocks(runs):
            total.merge(simulator.block(start, stop))
            done += stop - start
            if progress is not None:
                progress(done)
    else:
        import multiprocessing  # noqa: PLC0415 - only for --processes

        # spawn, not fork: a fresh interpreter per worker, whatever threads the caller runs.
        context = multiprocessing.get_context("spawn")
        with context.Pool(processes, _init_worker, (policy, seed, check)) as pool:
            for stats in pool.imap_unordered(_work, _blocks(runs)):
                total.merge(stats)
                done += stats.runs
                if progress is not None:
                    progress(done)
    return Report(runs, seed, policy, check, total, time.perf_counter() - began, processes)


# --- output -----------------------------------------------------------------------------------

_CHECKED = {
    "final": "the eight invariants on every run's final state",
    "moves": "the eight invariants after every move of every run",
    "full": "runlife.check, structure, invariants and rules, on every run's final state",
    "none": "not checked: --check none",
}


def _statuses(stats: Stats) -> list[tuple[str, int, list[int | None]]]:
    rows = []
    for status in ENDS:
        counts = stats.durations[status.value]
        n = sum(counts.values())
        figures = [percentile(counts, q) for q in PERCENTILES]
        figures.append(max(counts) if counts else None)
        rows.append((status.value, n, figures))
    return rows


def _share(n: int, total: int) -> str:
    return f"{100 * n / total:.1f}%" if total else "-"


def format_text(report: Report) -> str:
    """The report for a terminal: deterministic for a seed and options (no timing)."""
    stats = report.stats
    runs = stats.runs
    lines = [
        f"runlife simulate: {runs:,} runs, seed {report.seed}, {policy_text(report.policy)}",
        "",
        f"{'':<24}{'duration from creation (virtual s)':>36}",
        f"{'status':<12}{'runs':>8}{'share':>8}{'p50':>8}{'p95':>8}{'p99':>8}{'max':>8}",
    ]
    everything: Counter[int] = Counter()
    for counts in stats.durations.values():
        everything.update(counts)
    rows = _statuses(stats)
    all_figures = [percentile(everything, q) for q in PERCENTILES]
    all_figures.append(max(everything) if everything else None)
    rows.append(("all", runs, all_figures))
    for name, n, figures in rows:
        shown = "".join(f"{'-' if v is None else f'{v:,}':>8}" for v in figures)
        lines.append(f"{name:<12}{n:>8,}{_share(n, runs):>8}{shown}")
    total_moves = sum(stats.moves.values())
    per_run = f"{total_moves / runs:.2f} a run" if runs else ""
    lines += ["", f"{'moves':<20}{total_moves:>8,}   {per_run}"]
    for t in TRANSITIONS:
        sources = [(s.value, stats.moves[s.value, t.trigger]) for s in t.sources]
        n = sum(c for _, c in sources)
        where = ", ".join(f"from {s} {c:,}" for s, c in sources if c) if len(sources) > 1 else ""
        lines.append(f"  {t.trigger:<18}{n:>8,}   {where}".rstrip())
    rounds = sum(stats.moves[s.value, "require_action"] for s in RunStatus)
    lines += [
        f"{'tool calls':<20}{stats.tool_calls:>8,}   in {rounds:,} rounds",
        "",
        (
            f"virtual time: {report.runs:,} runs arrived over {_span(report):,} s; "
            f"the last ended {max(0, stats.last_end - START):,} s after the first arrived"
        ),
        f"invariant violations: {stats.violations:,} ({_CHECKED[report.check]})",
    ]
    first = stats.first_violation
    if first is not None:
        lines.append(f"first violation: run_{first[0]} ({first[1]}):")
        lines += [f"  {line}" for line in first[2]]
    return "\n".join(lines) + "\n"


def _span(report: Report) -> int:
    """Virtual seconds from the first arrival to the last."""
    return int((report.runs - 1) / report.policy.arrival_rate) if report.runs else 0


def timing_text(report: Report) -> str:
    """Wall-clock figures for standard error: they differ from one run to the next."""
    moves = sum(report.stats.moves.values())
    rate = moves / report.elapsed if report.elapsed > 0 else 0.0
    runs_rate = report.stats.runs / report.elapsed if report.elapsed > 0 else 0.0
    s = "" if report.processes == 1 else "es"
    return (
        f"runlife simulate: {report.elapsed:.2f} s of real time, {runs_rate:,.0f} runs/s, "
        f"{rate:,.0f} moves/s, {report.processes} process{s}\n"
    )


def format_json(report: Report) -> str:
    """The report as one JSON object; everything but ``timing`` is deterministic."""
    stats = report.stats
    runs = stats.runs
    statuses: dict[str, Any] = {}
    for name, n, figures in _statuses(stats):
        statuses[name] = {
            "count": n,
            "share": n / runs if runs else None,
            "duration": dict(zip(("p50", "p95", "p99", "max"), figures, strict=True)),
        }
    moves: dict[str, dict[str, int]] = {}
    for t in TRANSITIONS:
        for source in t.sources:
            n = stats.moves[source.value, t.trigger]
            if n:
                moves.setdefault(t.trigger, {})[source.value] = n
    first = stats.first_violation
    data = {
        "runs": runs,
        "seed": report.seed,
        "policy": report.policy.to_json(),
        "statuses": statuses,
        "moves": moves,
        "tool_calls": stats.tool_calls,
        "virtual_time": {"arrival_span": _span(report), "last_end": max(0, stats.last_end - START)},
        "violations": {
            "count": stats.violations,
            "checked": report.check,
            "first": None
            if first is None
            else {"run": f"run_{first[0]}", "status": first[1], "findings": first[2]},
        },
        "timing": {
            "elapsed_s": round(report.elapsed, 3),
            "runs_per_s": round(runs / report.elapsed, 1) if report.elapsed > 0 else None,
            "moves_per_s": round(sum(stats.moves.values()) / report.elapsed, 1)
            if report.elapsed > 0
            else None,
            "processes": report.processes,
        },
    }
    return json.dumps(data, indent=2) + "\n"
