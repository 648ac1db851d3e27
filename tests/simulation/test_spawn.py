"""Worker processes are spawned: a script without the ``__main__`` guard gets a clear error.

Real script files, run by a fresh interpreter (spawn imports the script again in each worker).
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

STORE_DOC = Path(__file__).parents[2] / "docs" / "store.md"


def run_script(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(path)],
        capture_output=True,
        text=True,
        check=False,
        timeout=180,
        cwd=path.parent,
    )


@pytest.mark.parametrize(
    ("caller", "call"),
    [
        (
            "simulate",
            "from runlife.simulation import simulate\nsimulate(runs=4001, seed=1, processes=2)\n",
        ),
        (
            "simulate_on_store",
            (
                "from runlife.store import simulate_on_store\n"
                "simulate_on_store('sqlite:///sim.db', workers=2, runs=5)\n"
            ),
        ),
    ],
)
def test_unguarded_script_is_told_about_the_guard(tmp_path, caller, call):
    """No hang, no bare BrokenProcessPool: the error names the guard and the script."""
    script = tmp_path / "unguarded.py"
    script.write_text(call)
    done = run_script(script)
    assert done.returncode == 1
    # The pool's resource tracker may warn of leaked semaphores after the script has died
    # (two lines of its own, under load): the script's own last line is the one before.
    lines = [line for line in done.stderr.strip().splitlines() if "resource_tracker" not in line]
    last = lines[-1]
    assert last == (
        f"concurrent.futures.process.BrokenProcessPool: {caller}'s worker processes died. They "
        f"are started with spawn, which imports your main module ({script}) again in each of "
        f"them: a script that calls {caller} at its top level must do so under "
        '`if __name__ == "__main__":`. Otherwise a worker crashed: its traceback is above.'
    )


def test_the_store_docs_example_runs_as_a_script(tmp_path):
    """docs/store.md's simulate_on_store example, as written, in a script of its own."""
    (example,) = [
        b
        for b in re.findall(r"```python\n(.*?)```", STORE_DOC.read_text(), re.DOTALL)
        if "simulate_on_store" in b
    ]
    assert 'if __name__ == "__main__":' in example
    script = tmp_path / "simulate_store.py"
    script.write_text(example.replace("runs=1000", "runs=40"))
    done = run_script(script)
    assert done.returncode == 0, done.stderr
    statuses, _, problems = done.stdout.strip().rpartition(" ")
    assert problems == "[]"
    assert sum(eval(statuses).values()) == 40  # noqa: S307 - the dict the script printed
