"""The lifecycle on a store, driven by worker processes: ``simulate_on_store``.

Each worker process opens its own store and loops: claim a batch, move each run (a tool
round, or an ending), answer its tool calls at once as the API's client would, cancel a
random run now and then (racing the other workers), and sweep (``rescue``,
``expire_due``). It stops when no run is active. The parent creates the runs first,
then checks every stored run and its history at the end.
"""

from __future__ import annotations

import itertools
import multiprocessing
import os
import random
import secrets
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from typing import Any

import attrs

from runlife import (
    Conflict,
    GuardRejected,
    IllegalTransition,
    Run,
    RunEngine,
    RunlifeError,
    RunStatus,
    check,
    to_dict,
)

from ._errors import LeaseLost
from ._open import open_store
from ._store import Store

__all__ = ["simulate_on_store"]

_TOOL = {
    "type": "function",
    "function": {"name": "lookup", "parameters": {"type": "object", "properties": {}}},
}
_USAGE = {"prompt_tokens": 12, "completion_tokens": 8, "total_tokens": 20}


def simulate_on_store(
    url: str,
    *,
    workers: int = 2,
    runs: int = 200,
    seed: int = 0,
    batch: int = 10,
    tool_rate: float = 0.5,
    cancel_rate: float = 0.05,
    ttl: int = 600,
    lease: int = 30,
    timeout: float = 300.0,
    verify: bool = True,
) -> dict[str, Any]:
    """Create *runs* runs in the store at *url* and let *workers* processes move them all.

    Use a store of its own (the stop condition counts every active run in it). Each run
    is claimed, does a tool round (with probability *tool_rate*: ``require_action``, the
    client's ``submit_tool_outputs``, a second claim), then ends (mostly ``complete``);
    with probability *cancel_rate* per claimed run a worker cancels a random run.

    Returns statistics: ``moves`` (successful moves, claims included), ``moves_per_s``
    (over the workers' wall time), ``conflicts`` (compare-and-set races lost and retried),
    ``illegal`` (races that ended in ``IllegalTransition``: a cancel that came too late,
    or a move on a run cancelled meanwhile), ``lease_lost``, ``claims``, ``statuses``
    (stored runs per status) and, with *verify*, ``problems``: every stored run that is
    still active, fails ``runlife.check``, or whose history does not chain.
    """
    if type(workers) is not int or workers < 1:
        raise ValueError(f"workers: expected an int >= 1, got {workers!r}")
    if type(runs) is not int or runs < 0:
        raise ValueError(f"runs: expected an int >= 0, got {runs!r}")
    prefix = f"sim{seed}{secrets.token_hex(3)}"
    ids = [f"run_{prefix}_{i:06d}" for i in range(runs)]
    with open_store(url, engine=RunEngine(ttl=ttl), lease=lease) as store:
        for i, run_id in enumerate(ids):
            store.create(
                id=run_id,
                assistant_id="asst_sim",
                thread_id=f"thread_{prefix}_{i:06d}",
                model="gpt-4o",
                tools=[_TOOL],
            )
    deadline = time.time() + timeout
    context = multiprocessing.get_context("spawn")  # never fork a process holding connections
    with ProcessPoolExecutor(workers, mp_context=context) as pool:
        plan = _Plan(url, tuple(ids), seed, batch, tool_rate, cancel_rate, ttl, lease, deadline)
        futures = [pool.submit(_worker, plan, i) for i in range(workers)]
        results = [f.result() for f in futures]
    totals: Counter[str] = Counter()
    for result in results:
        totals.update(result["counts"])
    started = min(r["started"] for r in results)
    ended = max(r["ended"] for r in results)
    wall = max(ended - started, 1e-9)
    stats: dict[str, Any] = {
        "backend": url.split(":", 1)[0],
        "workers": workers,
        "runs": runs,
        "moves": totals["moves"],
        "elapsed_s": round(wall, 3),
        "moves_per_s": round(totals["moves"] / wall, 1),
        "conflicts": totals["conflicts"],
        "illegal": totals["illegal"],
        "lease_lost": totals["lease_lost"],
        "claims": totals["claims"],
        "cancels": totals["cancels"],
    }
    with open_store(url, engine=RunEngine(ttl=ttl), lease=lease) as store:
        stats["statuses"] = store.counts()
        if verify:
            stats["problems"] = _verify(store, ids)
    return stats


def _verify(store: Store, ids: list[str]) -> list[str]:
    problems: list[str] = []
    for run_id in ids:
        run = store.get(run_id)
        if not run.status.is_terminal:
            problems.append(f"{run_id}: still {run.status.value}")
        problems += [f"{run_id}: {f.path}: {f.message}" for f in check(run)]
        events = store.events_since(run_id)
        versions = [e.version for e in events]
        if versions != list(range(len(events))):
            problems.append(f"{run_id}: history versions {versions} do not count 0, 1, 2, ...")
        moves = [e for e in events if e.kind == "move"]
        for before, after in itertools.pairwise(moves):
            if after.source != before.dest:
                problems.append(f"{run_id}: {before.dest} then a move from {after.source}")
        if events and events[-1].data != to_dict(run):
            problems.append(f"{run_id}: the last history row is not the stored run")
    return problems


@attrs.frozen
class _Plan:
    """What every worker process is told (picklable, for spawn)."""

    url: str
    ids: tuple[str, ...]
    seed: int
    batch: int
    tool_rate: float
    cancel_rate: float
    ttl: int
    lease: int
    deadline: float


def _worker(plan: _Plan, index: int) -> dict[str, Any]:
    """One worker process: claim, move, answer, cancel, sweep, until no run is active."""
    store = open_store(plan.url, engine=RunEngine(ttl=plan.ttl), lease=plan.lease)
    worker = _Worker(plan, store, index)
    started = time.time()
    try:
        worker.loop()
    finally:
        store.close()
    worker.counts["conflicts"] += store.stats().get("conflicts", 0)
    return {"counts": dict(worker.counts), "started": started, "ended": time.time()}


class _Worker:
    def __init__(self, plan: _Plan, store: Store, index: int) -> None:
        self.plan = plan
        self.store = store
        self.rng = random.Random(plan.seed * 7919 + index)
        self.name = f"worker-{index}-{os.getpid()}"
        self.counts: Counter[str] = Counter()

    def loop(self) -> None:
        store, counts = self.store, self.counts
        while time.time() < self.plan.deadline:
            claimed = store.claim(self.plan.batch, worker=self.name)
            counts["claims"] += len(claimed)
            counts["moves"] += len(claimed)
            for run in claimed:
                self.work(run)
                if self.rng.random() < self.plan.cancel_rate:
                    self.cancel(self.rng.choice(self.plan.ids))
            rescued = store.rescue()
            expired = store.expire_due()
            counts["moves"] += len(rescued) + len(expired)
            if not claimed and not rescued and not expired:
                statuses = store.counts()
                if not any(statuses.get(s.value, 0) for s in RunStatus if s.is_active):
                    return
                time.sleep(0.005)

    def work(self, run: Run) -> None:
        store, counts, rng = self.store, self.counts, self.rng
        try:
            if store.tool_outputs(run.id) is None and rng.random() < self.plan.tool_rate:
                call = {
                    "id": f"call_{rng.randrange(10**9)}",
                    "type": "function",
                    "function": {"name": "lookup", "arguments": "{}"},
                }
                with store.move(run, worker=self.name) as moving:
                    moving.require_action([call])
                counts["moves"] += 1
                # The API's client answers at once (not a worker: no lease involved).
                with store.move(run) as moving:
                    moving.submit_tool_outputs([{"tool_call_id": call["id"], "output": "42"}])
                counts["moves"] += 1
                return
            with store.move(run, worker=self.name) as moving:
                if rng.random() < 0.9:
                    moving.complete(_USAGE)
                else:
                    moving.fail("rate_limit_exceeded", "simulated")
            counts["moves"] += 1
        except IllegalTransition:
            counts["illegal"] += 1
            self.settle_cancelled(run.id)
        except LeaseLost:
            counts["lease_lost"] += 1
        except (Conflict, GuardRejected):
            counts["conflict_errors"] += 1

    def settle_cancelled(self, run_id: str) -> None:
        """A run cancelled under the worker: finish the cancel if the worker still holds it."""
        try:
            with self.store.move(run_id, worker=self.name) as moving:
                if moving.status == "cancelling":
                    moving.finish_cancel()
                    self.counts["moves"] += 1
        except RunlifeError:
            self.counts["illegal"] += 1

    def cancel(self, run_id: str) -> None:
        """The API's client cancels a run, whatever it is doing."""
        try:
            with self.store.move(run_id) as moving:
                moving.cancel()
            self.counts["moves"] += 1
            self.counts["cancels"] += 1
        except IllegalTransition:
            self.counts["illegal"] += 1
        except Conflict:
            self.counts["conflict_errors"] += 1
