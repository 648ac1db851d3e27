"""``benchmarks/serve.py`` runs and prints its tables, ratios against a named baseline too.

Its figures are read by people (docs/serve.md, the lead's notes), never asserted here: these
machines are too noisy for timed tests. The baseline here is this checkout itself.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parents[2]


def test_the_serve_benchmark_runs_against_a_baseline() -> None:
    done = subprocess.run(
        [
            *(sys.executable, str(ROOT / "benchmarks" / "serve.py")),
            *("--trips", "2", "--seconds", "0.3", "--workers", "1", "--repeats", "1"),
            *("--backends", "sqlite", "--against", str(ROOT)),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "| sqlite | 1 | baseline (" in out
    assert "| sqlite | 1 | this (" in out
    assert ") / baseline (" in out
    assert "| backend | workers | poll p50 | poll p99 |" in out
    assert "| raw stream p50 | raw stream p99 |" in out
    assert "store work per round trip" in out
