"""``simulate``: many runs, in this process or shared out over a pool of processes.

Processes share out whole blocks (see ``BLOCK``), so the result does not depend on their
number. Memory stays flat whatever the number of runs: the statistics are bounded.

Thread-safety: ``simulate`` uses its own engine; run as many at once as you like.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from ._policy import DEFAULT_POLICY, Check, Policy
from ._report import Report
from ._simulator import Simulator, blocks
from ._stats import Stats

__all__ = ["Progress", "simulate"]

_WORKER: Simulator | None = None


def _init_worker(policy: Policy, seed: int, check: Check) -> None:
    global _WORKER  # noqa: PLW0603 - one simulator per worker process
    _WORKER = Simulator(policy, seed, check)


def _work(bounds: tuple[int, int]) -> Stats:
    assert _WORKER is not None  # noqa: S101 - set by the pool's initializer
    return _WORKER.block(*bounds)


Progress = Callable[[int], object]


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
        simulator = Simulator(policy, seed, check)
        for start, stop in blocks(runs):
            total.merge(simulator.block(start, stop))
            done += stop - start
            if progress is not None:
                progress(done)
    else:
        import multiprocessing  # noqa: PLC0415 - only for --processes

        # spawn, not fork: a fresh interpreter per worker, whatever threads the caller runs.
        context = multiprocessing.get_context("spawn")
        with context.Pool(processes, _init_worker, (policy, seed, check)) as pool:
            for stats in pool.imap_unordered(_work, blocks(runs)):
                total.merge(stats)
                done += stats.runs
                if progress is not None:
                    progress(done)
    return Report(runs, seed, policy, check, total, time.perf_counter() - began, processes)
