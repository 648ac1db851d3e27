"""Seeded simulations of many runs in virtual time: the engine behind ``runlife simulate``.

>>> from runlife.simulation import format_text, simulate
>>> report = simulate(runs=100, seed=1)
>>> report.stats.runs, report.stats.violations
(100, 0)
>>> format_text(report).splitlines()[0]
'runlife simulate: 100 runs, seed 1, default policy'

Each run is simulated on its own, start to end, by the real engine and its real triggers, on
its own virtual timeline (``Simulator``), as a ``Policy`` says. Runs come in blocks of
``BLOCK`` (2,000), each driven by a random generator seeded from ``(seed, block number)``
alone, so ``simulate`` gives the same ``Report`` whatever its number of processes. ``Stats``
are bounded and mergeable; ``format_text``, ``format_json`` and ``timing_text`` write the
report. See ``docs/simulate.md``.
"""

from __future__ import annotations

from ._policy import (
    CHECKS,
    DEFAULT_POLICY,
    FIELDS,
    Check,
    Policy,
    PolicyError,
    Range,
    policy_text,
    value_text,
)
from ._pool import Progress, simulate, spawn_failure, used_processes
from ._report import PROBLEMS, Report, StoreReport, format_json, format_text, timing_text
from ._simulator import BLOCK, START, Simulator, blocks
from ._stats import ENDS, Stats, percentile

__all__ = [
    "BLOCK",
    "CHECKS",
    "DEFAULT_POLICY",
    "ENDS",
    "FIELDS",
    "PROBLEMS",
    "START",
    "Check",
    "Policy",
    "PolicyError",
    "Progress",
    "Range",
    "Report",
    "Simulator",
    "Stats",
    "StoreReport",
    "blocks",
    "format_json",
    "format_text",
    "percentile",
    "policy_text",
    "simulate",
    "spawn_failure",
    "timing_text",
    "used_processes",
    "value_text",
]
