"""The benchmark scripts run: a quick pass of each, so that none breaks unseen.

Only that they run and print their rows is checked here; their figures are read by people
(`docs/performance.md`), never asserted: these machines are too noisy for timed tests.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).parents[1] / "benchmarks"


def run(script: str, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, str(BENCHMARKS / script), *args],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.mark.parametrize(
    ("script", "args", "rows"),
    [
        (
            "engine.py",
            ["--quick"],
            [
                "runlife RunEngine.create",
                "runlife, one listener",
                "runlife from_dict + to_dict",
                "a move, steps on (the default)",
                "whole path + message step, steps on",
            ],
        ),
        (
            "simulate.py",
            ["--skip-cli", "--profile", "2000"],
            [
                "final check (the eight invariants)",
                "one simulated run, default policy",
                "one simulated run, steps off",
            ],
        ),
        ("expiry.py", ["--runs", "20000", "--sweeps", "3"], ["expire_due, one second's worth"]),
    ],
)
def test_a_benchmark_runs(script: str, args: list[str], rows: list[str]) -> None:
    out = run(script, *args)
    for row in rows:
        assert row in out
