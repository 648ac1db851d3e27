"""Machine instructions per operation, counted by valgrind: ratios that noise cannot move.

Run:  python benchmarks/instructions.py        (needs valgrind; about two minutes)

The timing benchmarks (engine.py, simulate.py) are medians of wall-clock samples, and these
shared machines move them by 2x from one minute to the next. ``valgrind --tool=callgrind``
counts the instructions a piece of Python executes instead: the same count on every run, on
a quiet machine or a busy one. Each figure is the count of a script that does the operation
N + 10 times, minus the count of the same script doing it 10 times, divided by N: the
interpreter's start and the set-up cancel out. Instructions are not time (a cache miss costs
more than an add), but for the same interpreter running the same kind of code they are
close to proportional, and they make a ratio stable enough to quote.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

SETUP = """
from transitions import Machine
from runlife import ManualClock, RunEngine
from runlife._table import machine_config
from runlife.simulation import DEFAULT_POLICY, Simulator, Stats
config = machine_config()
shared = Machine(model=None, **config)
events = shared.events
class Plain:
    __slots__ = ("state",)
    def __init__(self):
        self.state = "queued"
class Usual:
    pass
PATH = ("start", "require_action", "submit_tool_outputs", "start", "complete")
TOOL = {"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}
CALLS = [{"id": "c1", "type": "function", "function": {"name": "get_weather", "arguments": "{}"}}]
OUTPUTS = [{"tool_call_id": "c1", "output": "sunny"}]
USAGE = {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15}
engine = RunEngine(clock=ManualClock(1_700_000_000), record_history=False)
stepless = RunEngine(clock=ManualClock(1_700_000_000), record_history=False, steps=False)
listened = RunEngine(clock=ManualClock(1_700_000_000), record_history=False)
listened.subscribe(lambda event: None)
FIELDS = {"assistant_id": "asst", "thread_id": "thread", "model": "gpt-4o", "tools": [TOOL]}
runs = iter([engine.create(**FIELDS) for _ in range({k})])
bare_runs = iter([stepless.create(**FIELDS) for _ in range({k})])
heard = iter([listened.create(**FIELDS) for _ in range({k})])
plains = iter([Plain() for _ in range({k})])
simulator = Simulator(DEFAULT_POLICY, 1, "final")
simulator.seed_block(1)
simulator_off = Simulator(DEFAULT_POLICY, 1, "final", steps=False)
simulator_off.seed_block(1)
stats = Stats()
"""

#: name -> (statement, N): each is one operation; the path ones are five moves.
_PATH = "r.start(); r.require_action(CALLS); r.submit_tool_outputs(OUTPUTS); r.start(); r.complete(USAGE)"
OPERATIONS = {
    "Machine per object (create)": ("Machine(model=Usual(), **config)", 200),
    "RunEngine.create (one function tool)": ("engine.create(**FIELDS)", 2000),
    "bare transitions, 5-move path": (
        "p = next(plains)\nfor n in PATH: events[n].trigger(p)",
        2000,
    ),
    "runlife, 5-move path, no listener": ("r = next(runs); " + _PATH, 2000),
    "runlife, 5-move path, one listener": ("r = next(heard); " + _PATH, 2000),
    "runlife, 5-move path, steps off": ("r = next(bare_runs); " + _PATH, 2000),
    "one simulated run (default policy)": ("simulator.run(_i, stats)", 2000),
    "one simulated run, steps off": ("simulator_off.run(_i, stats)", 2000),
}


def count(statement: str, times: int, k: int) -> int:
    code = SETUP.replace("{k}", str(k + 20)) + f"for _i in range({times}):\n"
    code += "".join(f"    {line}\n" for line in statement.splitlines())
    out = subprocess.run(
        [
            "valgrind",
            "--tool=callgrind",
            "--callgrind-out-file=/dev/null",
            sys.executable,
            "-c",
            code,
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stderr
    found = re.search(r"Collected : (\d+)", out)
    if found is None:
        raise RuntimeError(f"no instruction count in valgrind's output:\n{out[-2000:]}")
    return int(found.group(1))


def per_operation(statement: str, n: int) -> float:
    return (count(statement, n + 10, n) - count(statement, 10, n)) / n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.parse_args()
    if shutil.which("valgrind") is None:
        sys.exit("valgrind is not installed (Debian: apt-get install valgrind)")
    with ThreadPoolExecutor(max_workers=2) as pool:
        results = dict(
            zip(
                OPERATIONS,
                pool.map(lambda op: per_operation(*op), OPERATIONS.values()),
                strict=True,
            )
        )
    print(f"instructions per operation (valgrind callgrind, python {sys.version.split()[0]})")
    for name, value in results.items():
        print(f"  {name:<40} {value:>12,.0f}")
    usual, create = (
        results["Machine per object (create)"],
        results["RunEngine.create (one function tool)"],
    )
    bare = results["bare transitions, 5-move path"]
    print()
    print(f"  create: {usual / create:.1f}x fewer than a Machine per object (target >= 30x)")
    for name in ("runlife, 5-move path, no listener", "runlife, 5-move path, one listener"):
        print(
            f"  {name.removeprefix('runlife, 5-move path, ')}: {results[name] / bare:.2f}x bare transitions (target <= 1.5x)"
        )
    on, off = (
        results["runlife, 5-move path, no listener"],
        results["runlife, 5-move path, steps off"],
    )
    sim_on, sim_off = (
        results["one simulated run (default policy)"],
        results["one simulated run, steps off"],
    )
    print(f"  steps on / off: 5-move path {on / off:.2f}x, simulated run {sim_on / sim_off:.2f}x")


if __name__ == "__main__":
    main()
