"""What a simulation found, as text for a terminal or as JSON, and how long it took.

``Report`` is an in-memory simulation's (``simulate``), ``StoreReport`` one on a store
(``runlife simulate --store``); both print the same status table, moves and tool calls,
with their seed, and keep wall-clock figures apart (``timing_text``, the ``timing`` key).
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any, Final

import attrs

from runlife import STEP_TABLE, TRANSITIONS, RunStatus, StepStatus
from runlife import STEP_TYPES as _STEP_TYPES

from ._policy import Check, Policy, policy_text
from ._simulator import START
from ._stats import ENDS, Stats, percentile

__all__ = ["PROBLEMS", "Report", "StoreReport", "format_json", "format_text", "timing_text"]

#: The percentiles of the report.
PERCENTILES: Final = (50, 95, 99)


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
    #: Whether the runs kept their steps (``simulate(steps=...)``).
    steps: bool = True


#: The step types, in the report's order (a type not named here comes after them).
STEP_TYPES: Final = _STEP_TYPES
#: The step statuses, in the report's order: the step table's ends, then any still open.
STEP_STATUSES: Final = (*(r.dest.value for r in STEP_TABLE.rows), StepStatus.IN_PROGRESS.value)


def _step_counts(stats: Stats) -> dict[str, dict[str, int]]:
    """Steps by type, then by status, in the report's order; only the counts that are not 0."""
    found = {kind for kind, _ in stats.steps}
    kinds = [k for k in STEP_TYPES if k in found] + sorted(found - set(STEP_TYPES))
    return {
        kind: {s: stats.steps[kind, s] for s in STEP_STATUSES if stats.steps[kind, s]}
        for kind in kinds
    }


def _steps_lines(report: Report) -> list[str]:
    """The steps the runs ended with: by type, and by status."""
    if not report.steps:
        return [f"{'steps':<20}{'off':>8}   (steps=False: runs kept no steps)"]
    counts = _step_counts(report.stats)
    total = sum(report.stats.steps.values())
    runs = report.stats.runs
    per_run = f"{total / runs:.2f} a run" if runs else ""
    lines = [f"{'steps':<20}{total:>8,}   {per_run}".rstrip()]
    for kind, by_status in counts.items():
        where = ", ".join(f"{s} {n:,}" for s, n in by_status.items())
        lines.append(f"  {kind:<18}{sum(by_status.values()):>8,}   {where}")
    return lines


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


def format_text(report: Report | StoreReport) -> str:
    """The report for a terminal: deterministic for a seed and options (no timing).

    A ``StoreReport``'s durations are wall-clock seconds, which vary from run to run.
    """
    if isinstance(report, StoreReport):
        return _store_text(report)
    stats = report.stats
    lines = [
        f"runlife simulate: {stats.runs:,} runs, seed {report.seed}, {policy_text(report.policy)}",
        "",
        *_table(stats, "virtual s"),
        *_steps_lines(report),
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


def _table(stats: Stats, unit: str) -> list[str]:
    """The status table (durations in *unit*), the moves and the tool calls."""
    runs = stats.runs
    lines = [
        f"{'':<24}{f'duration from creation ({unit})':>36}",
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
    lines.append(f"{'tool calls':<20}{stats.tool_calls:>8,}   in {rounds:,} rounds")
    return lines


def _span(report: Report) -> int:
    """Virtual seconds from the first arrival to the last."""
    return int((report.runs - 1) / report.policy.arrival_rate) if report.runs else 0


def timing_text(report: Report | StoreReport) -> str:
    """Wall-clock figures for standard error: they differ from one run to the next."""
    moves = sum(report.stats.moves.values())
    rate = moves / report.elapsed if report.elapsed > 0 else 0.0
    runs_rate = report.stats.runs / report.elapsed if report.elapsed > 0 else 0.0
    if isinstance(report, StoreReport):
        s = "" if report.workers == 1 else "s"
        return (
            f"runlife simulate: {report.elapsed:.2f} s of real time, {runs_rate:,.0f} runs/s, "
            f"{rate:,.0f} moves/s, {report.workers} worker{s}, {report.conflicts:,} conflicts "
            f"(compare-and-set races lost and retried), {report.lease_lost:,} leases lost\n"
        )
    s = "" if report.processes == 1 else "es"
    return (
        f"runlife simulate: {report.elapsed:.2f} s of real time, {runs_rate:,.0f} runs/s, "
        f"{rate:,.0f} moves/s, {report.processes} process{s}\n"
    )


def _json_counts(stats: Stats) -> dict[str, Any]:
    """The figures both reports share: statuses with durations, moves, tool calls."""
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
    return {"statuses": statuses, "moves": moves, "tool_calls": stats.tool_calls}


def format_json(report: Report | StoreReport) -> str:
    """The report as one JSON object; everything but ``timing`` is deterministic.

    A ``StoreReport`` has the same keys but ``virtual_time`` (its durations are wall-clock
    seconds, so they vary too) and one more, ``store``.
    """
    if isinstance(report, StoreReport):
        return _store_json(report)
    stats = report.stats
    runs = stats.runs
    first = stats.first_violation
    data = {
        "runs": runs,
        "seed": report.seed,
        "policy": report.policy.to_json(),
        **_json_counts(stats),
        "steps": _step_counts(stats) if report.steps else None,
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


#: What the store report's ``problems`` and ``illegal`` count (printed with them).
PROBLEMS: Final = (
    "stored runs still active, failing runlife.check, or whose history does not chain; "
    "there must be none"
)
_ILLEGAL: Final = (
    "moves the lifecycle refused because the run changed under its worker, "
    "e.g. a lapsed lease; none in a healthy run"
)


@attrs.frozen(kw_only=True)
class StoreReport:
    """What a simulation on a store found (``runlife simulate --store``).

    *stats* holds the runs' statuses, durations (whole wall-clock seconds from creation to
    the end), moves and tool calls, read from the stored histories; *policy* the store
    simulation's settings; *claims* the runs workers took from the queue; *illegal* and
    *problems* see ``PROBLEMS``. *elapsed*, *workers*, *conflicts* and *lease_lost* are of
    this run alone: they vary, and are printed by ``timing_text``.
    """

    url: str
    seed: int
    policy: dict[str, Any]
    stats: Stats
    claims: int
    illegal: int
    problems: tuple[str, ...]
    workers: int
    elapsed: float
    conflicts: int
    lease_lost: int


def _store_text(report: StoreReport) -> str:
    stats = report.stats
    settings = ", ".join(f"{k} {v}" for k, v in report.policy.items())
    lines = [
        f"runlife simulate: {stats.runs:,} runs, seed {report.seed}, on a store ({settings})",
        "",
        *_table(stats, "wall-clock s"),
        f"{'claims':<20}{report.claims:>8,}   a worker took a queued run",
        "",
        f"illegal: {report.illegal:,} ({_ILLEGAL})",
        f"problems: {len(report.problems):,} ({PROBLEMS})",
    ]
    lines += [f"  {problem}" for problem in report.problems[:10]]
    if len(report.problems) > 10:
        lines.append(f"  ... and {len(report.problems) - 10:,} more (--json lists them all)")
    return "\n".join(lines) + "\n"


def _store_json(report: StoreReport) -> str:
    stats = report.stats
    moves = sum(stats.moves.values())
    data = {
        "runs": stats.runs,
        "seed": report.seed,
        "policy": report.policy,
        **_json_counts(stats),
        "steps": None,  # not counted on a store
        "violations": {
            "count": len(report.problems),
            "checked": "store",
            "first": report.problems[0] if report.problems else None,
        },
        "store": {
            "url": report.url,
            "claims": report.claims,
            "illegal": report.illegal,
            "problems": list(report.problems),
        },
        "timing": {
            "elapsed_s": round(report.elapsed, 3),
            "runs_per_s": round(stats.runs / report.elapsed, 1) if report.elapsed > 0 else None,
            "moves_per_s": round(moves / report.elapsed, 1) if report.elapsed > 0 else None,
            "workers": report.workers,
            "conflicts": report.conflicts,
            "lease_lost": report.lease_lost,
        },
    }
    return json.dumps(data, indent=2) + "\n"
