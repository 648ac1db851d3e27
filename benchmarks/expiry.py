"""Expiry at scale: expire_due over many live runs, and the memory of the deadline index.

Run:  python benchmarks/expiry.py [--runs 1000000] [--span 3600] [--sweeps 20]

Loads --runs live runs (real ``Run`` objects, through ``RunEngine.load``, as an orchestrator
resuming from its database would) whose ``expires_at`` are spread evenly over the next --span
seconds, then advances the clock one second at a time and times ``engine.expire_due()``: each call finds the ~runs/span due runs and
really expires them (the table, the guard, the commit, the index's own forgetting). It
prints the median and worst time per sweep against a full scan of the live runs (what an
engine without an index would do), the cost of ten seconds' worth at once (time follows the
number expired), and the index's bytes per run, measured with tracemalloc on an index built
over the same runs (the runs themselves excluded).

Targets (issue 5): one second's worth (~280 runs of 1,000,000) under 5 ms; the index alone
under 200 bytes per run. The collector is kept out of the timings, as timeit does. These
machines are shared and noisy: "wall" is perf_counter, "cpu"
is this thread's CPU time (time.thread_time), which other processes do not inflate; the
load average is printed with the results.
"""

from __future__ import annotations

import argparse
import gc
import statistics
import sys
import time
import tracemalloc

from transitions import Machine

from runlife import TABLE, ManualClock, RunEngine, to_dict
from runlife._live import LiveRuns

T0 = 1_700_000_000


class _Plain:
    __slots__ = ("state",)

    def __init__(self) -> None:
        self.state = "queued"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1_000_000, help="live runs (1,000,000)")
    parser.add_argument("--span", type=int, default=3600, help="seconds the deadlines span")
    parser.add_argument("--sweeps", type=int, default=20, help="one-second sweeps to time")
    args = parser.parse_args()
    n, span = args.runs, args.span

    # An orchestrator resuming from its database: --runs live runs loaded (RunEngine.load,
    # each a full Run with its own nested values), created over the last --span seconds with
    # a ttl of --span, so their deadlines are spread over the next --span seconds.
    clock = ManualClock(T0 + span - 1)
    engine = RunEngine(clock=clock, ttl=span, record_history=False, index_deadlines=True)
    template = to_dict(
        RunEngine(clock=ManualClock(T0)).create(
            assistant_id="asst_1", thread_id="thread_0", model="gpt-4o", instructions="Be brief."
        )
    )
    t0 = time.perf_counter()
    runs = []
    for i in range(n):
        created = T0 + i * span // n
        wire = {
            **template,
            "id": f"run_{i:024d}",
            "thread_id": f"thread_{i}",
            "created_at": created,
            "expires_at": created + span,
        }
        runs.append(engine.load(wire))
        if i and i % 200_000 == 0:
            print(f"  loaded {i:,} runs ({time.perf_counter() - t0:.0f} s)", file=sys.stderr)
    made = time.perf_counter() - t0

    # The index alone: the same structure built over the same runs, under tracemalloc.
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    index = LiveRuns(deadlines=True, threads=False)
    for run in runs:
        index.adopt(run, "load")
    index_bytes = (tracemalloc.get_traced_memory()[0] - before) / n
    tracemalloc.stop()
    del index

    first = T0 + span  # the earliest deadline
    assert clock() == first - 1
    gc.collect()
    # Without an index: a scan of every live run for the due ones (not expiring them).
    scans = []
    for k in range(3):
        t = time.perf_counter()
        due = [r for r in runs if r.expires_at is not None and r.expires_at <= first + k]
        scans.append(time.perf_counter() - t)
    del due

    walls: list[float] = []
    cpus: list[float] = []
    counts: list[int] = []
    expired = []
    # As timeit does: collect once, then keep the collector out of the timings.
    gc.collect()
    gc.disable()
    for _ in range(args.sweeps):
        clock.advance(1)
        w, c = time.perf_counter(), time.thread_time()
        expired = engine.expire_due()
        cpus.append(time.thread_time() - c)
        walls.append(time.perf_counter() - w)
        counts.append(len(expired))
    assert all(r.status == "expired" for r in expired)

    clock.advance(10)
    w, c = time.perf_counter(), time.thread_time()
    ten = engine.expire_due()
    ten_cpu, ten_wall = time.thread_time() - c, time.perf_counter() - w
    live = n - sum(counts) - len(ten)
    assert live == sum(1 for r in runs if r.status == "queued")

    # Calibration: the same number of expire moves with bare transitions (a stock shared
    # Machine, plain models), the floor the engine is compared with in benchmarks/engine.py.
    bare = []
    event = Machine(model=None, **TABLE.machine_config()).events["expire"]
    for _ in range(args.sweeps):
        models = [_Plain() for _ in range(int(statistics.median(counts)))]
        w = time.perf_counter()
        for model in models:
            event.trigger(model)
        bare.append(time.perf_counter() - w)

    gc.enable()
    per = statistics.median(counts)
    wall, cpu = statistics.median(walls) * 1e3, statistics.median(cpus) * 1e3
    with open("/proc/loadavg") as f:  # noqa: PTH123 - Linux only, informative
        load = f.read().split()[0]
    print(
        f"runlife expiry benchmark (python {sys.version.split()[0]}, {n:,} live runs, "
        f"deadlines over {span} s, {made:.0f} s to load them, load average {load})"
    )
    print(f"{'what':<48} {'wall':>9} {'cpu':>9}  note")
    rows = [
        (
            "expire_due, one second's worth (median)",
            f"{wall:.2f} ms",
            f"{cpu:.2f} ms",
            f"{per:.0f} runs expired per sweep, {len(walls)} sweeps; target < 5 ms",
        ),
        (
            "expire_due, one second's worth (best)",
            f"{min(walls) * 1e3:.2f} ms",
            f"{min(cpus) * 1e3:.2f} ms",
            "",
        ),
        (
            "expire_due, one second's worth (worst)",
            f"{max(walls) * 1e3:.2f} ms",
            f"{max(cpus) * 1e3:.2f} ms",
            "",
        ),
        (
            "  per run expired (median sweep)",
            f"{wall / per * 1e3:.1f} us",
            f"{cpu / per * 1e3:.1f} us",
            "",
        ),
        (
            "expire_due, ten seconds' worth at once",
            f"{ten_wall * 1e3:.2f} ms",
            f"{ten_cpu * 1e3:.2f} ms",
            f"{len(ten)} runs expired: time follows the runs expired",
        ),
        (
            "  bare transitions, as many expire moves",
            f"{statistics.median(bare) * 1e3:.2f} ms",
            "",
            "calibration: a stock shared Machine on plain models",
        ),
        (
            "no index: scan every live run for the due ones",
            f"{statistics.median(scans) * 1e3:.1f} ms",
            "",
            "finds them only; expires nothing",
        ),
        (
            "deadline index memory per live run",
            f"{index_bytes:.0f} B",
            "",
            "tracemalloc, runs excluded; target < 200 B",
        ),
    ]
    for what, value, cpu_value, note in rows:
        print(f"{what:<48} {value:>9} {cpu_value:>9}  {note}")


if __name__ == "__main__":
    main()
