"""What a simulation found, as text for a terminal or as JSON, and how long it took."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any, Final

import attrs

from runlife import TRANSITIONS, RunStatus

from ._policy import Check, Policy, policy_text
from ._simulator import START
from ._stats import ENDS, Stats, percentile

__all__ = ["Report", "format_json", "format_text", "timing_text"]

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
