"""Benchmark of ``runlife simulate``: wall time, throughput and peak RSS, then where time goes.

Run:  python benchmarks/simulate.py [--runs 1000000] [--seed 1] [--processes 1 2]
                                    [--steps-repeats 3] [--profile 20000] [--skip-cli]

1. Runs ``runlife simulate --runs N --seed S [--processes P]`` as a child process for each P
   (through a small wrapper process, so that ``resource.getrusage(RUSAGE_CHILDREN)`` sees that
   command's process tree only) and prints a table: wall seconds, CPU seconds of the whole
   tree (less sensitive than wall time to other load on a shared machine), runs/s, peak RSS
   of the largest process of the tree, and the speed-up over one process. It also checks
   that every P printed the same report.
   Then, in one process, steps on against ``--no-steps``, interleaved, ``--steps-repeats``
   times each: the median wall and CPU seconds of each and their ratio, and a check that
   the two reports differ in their steps lines only (the same runs, the same fates).
2. Profiles ``--profile`` runs in this process with cProfile, and splits the time between the
   engine (create; moves: transitions' Event.trigger, guards and stamps, the commit), the
   final check of the invariants and the simulator itself (random draws, statistics).
3. Times the same pieces without the profiler (µs each, median of 5).

These machines are noisy: read the ratios, not the last digit.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import pstats
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from runlife import ManualClock, RunEngine, check
from runlife.simulation import BLOCK, DEFAULT_POLICY, Simulator, Stats

WRAPPER = """
import resource, subprocess, sys, time
t0 = time.perf_counter()
done = subprocess.run(sys.argv[1:], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, check=False)
elapsed = time.perf_counter() - t0
usage = resource.getrusage(resource.RUSAGE_CHILDREN)
cpu = usage.ru_utime + usage.ru_stime
sys.stdout.write(f"{elapsed} {cpu} {usage.ru_maxrss} {done.returncode}\\n")
sys.stdout.buffer.write(done.stdout)
"""


def cli(runs: int, seed: int, processes: int, *more: str) -> tuple[float, float, float, int, bytes]:
    """(wall s, CPU s, peak RSS MB, exit code, stdout) of one ``runlife simulate`` tree."""
    command = [sys.executable, "-m", "runlife", "simulate", "--runs", str(runs)]
    command += ["--seed", str(seed), "--processes", str(processes), *more]
    out = subprocess.run(
        [sys.executable, "-c", WRAPPER, *command], capture_output=True, check=True
    ).stdout
    head, _, report = out.partition(b"\n")
    elapsed, cpu, peak_kb, code = head.split()
    return float(elapsed), float(cpu), int(peak_kb) / 1024, int(code), report


def cli_table(runs: int, seed: int, processes: list[int]) -> None:
    print(f"runlife simulate --runs {runs:,} --seed {seed}  ({sys.version.split()[0]})")
    print(
        f"{'processes':>9} {'wall s':>8} {'CPU s':>8} {'runs/s':>9} {'peak RSS MB':>12} "
        f"{'speed-up':>9}"
    )
    reports = set()
    base = None
    for n in processes:
        elapsed, cpu, peak, code, report = cli(runs, seed, n)
        reports.add(report)
        base = base or elapsed
        print(
            f"{n:>9} {elapsed:>8.1f} {cpu:>8.1f} {runs / elapsed:>9,.0f} {peak:>12.1f} "
            f"{base / elapsed:>8.2f}x"
        )
        if code != 0:
            print(f"  exit status {code}!")
    same = "identical" if len(reports) == 1 else "DIFFERENT"
    print(f"reports of every process count: {same}")
    print()


def _without_steps(report: bytes) -> bytes:
    """The report but its steps lines: what steps on and off must print alike."""
    lines = report.splitlines(keepends=True)
    return b"".join(
        line
        for line in lines
        if not line.startswith((b"steps ", b"  message_creation", b"  tool_calls"))
    )


def steps_table(runs: int, seed: int, repeats: int) -> None:
    """Steps on against --no-steps, one process, interleaved: medians and their ratio."""
    print(f"runlife simulate --runs {runs:,} --seed {seed}, steps on vs --no-steps, one process")
    print(f"(interleaved, {repeats} of each; medians)")
    samples: dict[str, list[tuple[float, float, float]]] = {"on": [], "off": []}
    reports: dict[str, set[bytes]] = {"on": set(), "off": set()}
    for _ in range(repeats):
        for name, more in (("on", ()), ("off", ("--no-steps",))):
            elapsed, cpu, peak, code, report = cli(runs, seed, 1, *more)
            samples[name].append((elapsed, cpu, peak))
            reports[name].add(report)
            if code != 0:
                print(f"  {name}: exit status {code}!")
    print(
        f"{'steps':>9} {'wall s':>8} {'CPU s':>8} {'runs/s':>9} {'peak RSS MB':>12} {'all wall s'}"
    )
    medians = {}
    for name, rows in samples.items():
        wall = statistics.median(r[0] for r in rows)
        cpu = statistics.median(r[1] for r in rows)
        peak = max(r[2] for r in rows)
        medians[name] = (wall, cpu)
        every = ", ".join(f"{r[0]:.1f}" for r in rows)
        print(f"{name:>9} {wall:>8.1f} {cpu:>8.1f} {runs / wall:>9,.0f} {peak:>12.1f} {every}")
    on, off = medians["on"], medians["off"]
    print(f"steps on / off: wall {on[0] / off[0]:.2f}x, CPU {on[1] / off[1]:.2f}x")
    fates = {_without_steps(r) for rs in reports.values() for r in rs}
    same = "identical" if len(fates) == 1 else "DIFFERENT"
    print(f"reports but their steps lines, on and off: {same}")
    print()


# --- where the time goes ---------------------------------------------------------------------

PIECES: dict[str, tuple[str, str]] = {
    # name: (file suffix, function name); cumulative time
    "create": ("_engine.py", "create"),
    "moves": ("_engine.py", "fire"),
    "  transitions' Event.trigger": ("_machine.py", "trigger"),
    "  _plan (guards, stamps)": ("_engine.py", "_plan"),
    "    of which guards": ("_guards.py", "*"),
    "  the steps a move moves (_steps, own time)": ("_steps.py", "*"),
    "  commit": ("_commit.py", "commit"),
    "driver's step moves (fire_step)": ("_engine.py", "fire_step"),
    "final check (the eight invariants)": ("_simulator.py", "check_run"),
}


def profile(runs: int, seed: int) -> None:
    simulator = Simulator(DEFAULT_POLICY, seed, "final")
    simulator.block(0, 200)  # warm up
    profiler = cProfile.Profile()
    profiler.enable()
    for start in range(0, runs, BLOCK):
        simulator.block(start, min(start + BLOCK, runs))
    profiler.disable()
    stats: dict[Any, Any] = pstats.Stats(profiler).stats  # type: ignore[attr-defined]
    total = sum(v[2] for v in stats.values())  # every function's own time

    def cumulative(suffix: str, name: str) -> float:
        if name == "*":  # every function of the file, by own time
            return sum(v[2] for k, v in stats.items() if k[0].endswith(suffix))
        return sum(v[3] for k, v in stats.items() if k[0].endswith(suffix) and k[2] == name)

    print(f"cProfile of {runs:,} runs in one process: {total:.2f} s (profiled; cProfile slows")
    print("calls down, short functions most, so the shares matter, not the seconds)")
    print(f"{'piece':<40} {'s':>7} {'share':>7} {'µs/run':>8}")
    rows = {name: cumulative(*where) for name, where in PIECES.items()}
    for name, seconds in rows.items():
        print(f"{name:<40} {seconds:>7.2f} {seconds / total:>7.1%} {seconds / runs * 1e6:>8.1f}")
    own = (
        total
        - rows["create"]
        - rows["moves"]
        - rows["driver's step moves (fire_step)"]
        - rows["final check (the eight invariants)"]
    )
    print(
        f"{'simulator (draws, statistics, loop)':<40} {own:>7.2f} {own / total:>7.1%} "
        f"{own / runs * 1e6:>8.1f}"
    )
    print(f"{'events':<40} {'0':>7} {'0%':>7}   (no listeners: the engine builds no event)")
    print()
    print("top functions by own time:")
    top = sorted(stats.items(), key=lambda kv: kv[1][2], reverse=True)[:12]
    for (path, line, name), (_, calls, own_s, cum_s, _) in top:
        where = "/".join(Path(path).parts[-2:])
        print(f"  {own_s:6.2f} s own {cum_s:6.2f} s cum {calls:>9,} calls  {where}:{line}({name})")
    print()


def median_us(fn: Callable[[], Any], *, number: int, repeat: int = 5) -> float:
    samples = []
    for _ in range(repeat):
        gc.collect()
        t0 = time.perf_counter()
        for _ in range(number):
            fn()
        samples.append((time.perf_counter() - t0) / number * 1e6)
    return statistics.median(samples)


def pieces(seed: int) -> None:
    """The same pieces, timed without a profiler."""
    clock = ManualClock(1_700_000_000)
    engine = RunEngine(clock=clock, record_history=False)
    tools = [{"type": "function", "function": {"name": "lookup"}}]
    calls = [
        {"id": "call_1", "type": "function", "function": {"name": "lookup", "arguments": "{}"}}
    ]
    outputs = [{"tool_call_id": "call_1", "output": "ok"}]
    usage = {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15}

    def create() -> Any:
        return engine.create(
            id="run_1", assistant_id="asst_sim", thread_id="thread_1", model="gpt-4o", tools=tools
        )

    def path() -> Any:
        run = create()
        run.start()
        run.require_action(calls)
        run.submit_tool_outputs(outputs)
        run.start()
        run.complete(usage)
        return run

    done = path()
    simulator = Simulator(DEFAULT_POLICY, seed, "final")
    n = 2_000
    per_run = median_us(lambda: simulator.block(0, 200), number=5, repeat=3) / 200
    stepless = Simulator(DEFAULT_POLICY, seed, "final", steps=False)
    per_run_off = median_us(lambda: stepless.block(0, 200), number=5, repeat=3) / 200
    create_us = median_us(create, number=n)
    path_us = median_us(path, number=n)
    found = Stats()
    check_us = median_us(lambda: simulator.check_run(done, 0, found), number=n)
    full_us = median_us(lambda: check(done), number=n)
    print("without the profiler (median of repeats):")
    print(f"  one simulated run, default policy (3.5 moves)  {per_run:7.1f} µs")
    print(f"  one simulated run, steps off (--no-steps)      {per_run_off:7.1f} µs")
    print(f"  RunEngine.create (one function tool)           {create_us:7.1f} µs")
    print(f"  one move (5-move path, create excluded)        {(path_us - create_us) / 5:7.1f} µs")
    print(f"  invariants of a completed run (--check final)  {check_us:7.1f} µs")
    print(f"  runlife.check of it (--check full)             {full_us:7.1f} µs")
    print()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--processes", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--steps-repeats", type=int, default=3, metavar="N")
    parser.add_argument("--profile", type=int, default=20_000, metavar="RUNS")
    parser.add_argument("--skip-cli", action="store_true", help="only profile and time pieces")
    args = parser.parse_args()
    if not args.skip_cli:
        cli_table(args.runs, args.seed, args.processes)
        if args.steps_repeats:
            steps_table(args.runs, args.seed, args.steps_repeats)
    if args.profile:
        profile(args.profile, args.seed)
    pieces(args.seed)


if __name__ == "__main__":
    main()
