"""``simulate``: many runs, in this process or shared out over a pool of processes.

Processes share out whole blocks (see ``BLOCK``), so the result does not depend on their
number; there are never more processes than blocks. Memory stays flat whatever the number
of runs: the statistics are bounded.

Processes are started with spawn, which imports the caller's main module again in each:
a script must call ``simulate(processes=N)`` under ``if __name__ == "__main__":``, and
without it gets ``spawn_failure``'s error (not a hang).

Thread-safety: ``simulate`` uses its own engine; run as many at once as you like.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from ._policy import DEFAULT_POLICY, Check, Policy
from ._report import Report
from ._simulator import BLOCK, Simulator, blocks
from ._stats import Stats

if TYPE_CHECKING:  # concurrent.futures.process imports multiprocessing: only with processes
    from concurrent.futures.process import BrokenProcessPool

__all__ = ["Progress", "simulate", "spawn_failure", "used_processes"]

_WORKER: Simulator | None = None


def _init_worker(policy: Policy, seed: int, check: Check, steps: bool) -> None:
    global _WORKER  # noqa: PLW0603 - one simulator per worker process
    _WORKER = Simulator(policy, seed, check, steps=steps)


def _work(bounds: tuple[int, int]) -> Stats:
    assert _WORKER is not None  # noqa: S101 - set by the pool's initializer
    return _WORKER.block(*bounds)


Progress = Callable[[int], object]


def used_processes(processes: int, runs: int) -> int:
    """The processes ``simulate`` starts for *processes* asked: at most one a block of runs."""
    return max(1, min(processes, -(-runs // BLOCK)))


def spawn_failure(caller: str) -> BrokenProcessPool:
    """The error for worker processes that died, naming the likely cause: a missing guard.

    *caller* is the function that started them (``simulate``, ``simulate_on_store``).
    """
    from concurrent.futures.process import BrokenProcessPool  # noqa: PLC0415 - see above

    script = getattr(sys.modules.get("__main__"), "__file__", None)
    where = f" ({script})" if script else ""
    return BrokenProcessPool(
        f"{caller}'s worker processes died. They are started with spawn, which imports your "
        f"main module{where} again in each of them: a script that calls {caller} at its top "
        'level must do so under `if __name__ == "__main__":`. Otherwise a worker crashed: its '
        "traceback is above."
    )


def simulate(
    *,
    runs: int,
    seed: int,
    policy: Policy = DEFAULT_POLICY,
    check: Check = "final",
    processes: int = 1,
    progress: Progress | None = None,
    steps: bool = True,
) -> Report:
    """Simulate *runs* runs with *policy*, seeded from ``(seed, block number)`` a block.

    *check* says what is checked when: ``"final"`` (the default) the eight invariants of the
    contract on every run's final state, ``"moves"`` the invariants after every move,
    ``"full"`` all of ``runlife.check`` (structure, invariants and rules) on every run's
    final state, with its steps, ``"none"`` nothing. *steps* (the default) keeps each run's
    steps and has the driver write messages in them; ``steps=False`` simulates the same runs
    without (the same fates: the driver's message choices have a generator of their own).
    *processes* > 1 shards the runs
    over that many processes (at most one a block: ``used_processes``), with the same
    result. *progress* is called with the number of runs done after each block of runs.

    Raises:
        BrokenProcessPool: the worker processes died (``spawn_failure``: most often a script
            without ``if __name__ == "__main__":``).
    """
    began = time.perf_counter()
    total = Stats()
    done = 0
    processes = used_processes(processes, runs)
    if processes == 1:
        simulator = Simulator(policy, seed, check, steps=steps)
        for start, stop in blocks(runs):
            total.merge(simulator.block(start, stop))
            done += stop - start
            if progress is not None:
                progress(done)
    else:
        import multiprocessing  # noqa: PLC0415 - only for --processes
        from concurrent.futures import ProcessPoolExecutor, as_completed  # noqa: PLC0415
        from concurrent.futures.process import BrokenProcessPool  # noqa: PLC0415

        # spawn, not fork: a fresh interpreter per worker, whatever threads the caller runs.
        context = multiprocessing.get_context("spawn")
        try:
            with ProcessPoolExecutor(
                processes,
                mp_context=context,
                initializer=_init_worker,
                initargs=(policy, seed, check, steps),
            ) as pool:
                for future in as_completed([pool.submit(_work, b) for b in blocks(runs)]):
                    stats = future.result()
                    total.merge(stats)
                    done += stats.runs
                    if progress is not None:
                        progress(done)
        except BrokenProcessPool as exc:
            raise spawn_failure("simulate") from exc
    elapsed = time.perf_counter() - began
    return Report(runs, seed, policy, check, total, elapsed, processes, steps)
