"""The lifecycle on a store, driven by worker processes: ``simulate_on_store``.

The parent refuses a store that already holds runs, then creates the runs. Each worker
process opens its own store and loops: claim a batch, move each run as its *fate* says (a
tool round with the client's answer at once, a client's cancel, an ending), and sweep
(``rescue``, ``expire_due``). It stops when no run is active. A run's fate is drawn from
``(seed, run index)`` alone, so whichever worker moves it, the same seed ends the same runs
the same way (only the races between workers, and the wall clock, differ). The parent then
checks every stored run and its history.
"""

from __future__ import annotations

import itertools
import multiprocessing
import os
import random
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
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
from runlife.simulation import spawn_failure

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
    """Create *runs* runs in the empty store at *url* and let *workers* processes move them all.

    Each run's fate comes from ``(seed, its index)``: a tool round with probability
    *tool_rate* (``require_action``, the client's ``submit_tool_outputs``, a second claim);
    with probability *cancel_rate* the client cancels it (once claimed, or instead of
    answering its tool calls); else it ends, ``complete`` (9 in 10) or ``fail``. So the same
    seed gives the same statuses and moves whatever the number of workers.

    Returns statistics. The same for a seed: ``runs``, ``seed``, ``policy`` (the options
    above that shape the runs, and ``batch``), ``statuses`` (stored runs
    per status), ``transitions`` (moves made, ``{trigger: {source: n}}``, from the stored
    histories), ``tool_calls``, ``claims`` and ``cancels``; with *verify*, ``problems``:
    every stored run still active, failing ``runlife.check``, or whose history does not
    chain (there must be none). Of the run: ``moves`` (successful moves, claims included),
    ``elapsed_s``, ``moves_per_s`` (over the workers' wall time), ``durations``
    (``{status: {seconds: runs}}``, whole wall-clock seconds from creation to the end),
    ``conflicts`` (compare-and-set races lost and retried), ``illegal`` (moves the
    lifecycle refused because the run changed under the worker, e.g. a lapsed lease: none
    in a healthy run) and ``lease_lost``.

    Raises:
        ValueError: a bad option, or a store that already holds runs (the counts would mix
            them in): nothing is written.
        BrokenProcessPool: the worker processes died (``runlife.simulation.spawn_failure``:
            most often a script without ``if __name__ == "__main__":``, see docs/store.md).
    """
    if type(workers) is not int or workers < 1:
        raise ValueError(f"workers: expected an int >= 1, got {workers!r}")
    if type(runs) is not int or runs < 0:
        raise ValueError(f"runs: expected an int >= 0, got {runs!r}")
    if type(seed) is not int or seed < 0:
        raise ValueError(f"seed: expected an int >= 0, got {seed!r}")
    if url.partition("?")[0].endswith("/:memory:"):
        raise ValueError(
            f"{url}: an in-memory SQLite database is private to one process, and the workers "
            "are processes: use a file (sqlite:///sim.db) or PostgreSQL"
        )
    ids = [f"run_sim_{i:06d}" for i in range(runs)]
    with open_store(url, engine=RunEngine(ttl=ttl), lease=lease) as store:
        held = sum(store.counts().values())
        if held:
            raise ValueError(
                f"the store at {store.url} already holds {held:,} run{'s' if held != 1 else ''}: "
                "simulate on a store of its own (a new SQLite file, or an empty PostgreSQL "
                "schema), so that the report counts this simulation's runs only"
            )
        for i, run_id in enumerate(ids):
            store.create(
                id=run_id,
                assistant_id="asst_sim",
                thread_id=f"thread_sim_{i:06d}",
                model="gpt-4o",
                tools=[_TOOL],
            )
    deadline = time.time() + timeout
    context = multiprocessing.get_context("spawn")  # never fork a process holding connections
    plan = _Plan(url, tuple(ids), seed, batch, tool_rate, cancel_rate, ttl, lease, deadline)
    try:
        with ProcessPoolExecutor(workers, mp_context=context) as pool:
            futures = [pool.submit(_worker, plan, i) for i in range(workers)]
            results = [f.result() for f in futures]
    except BrokenProcessPool as exc:
        raise spawn_failure("simulate_on_store") from exc
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
        "seed": seed,
        "policy": {
            "tool_rate": tool_rate,
            "cancel_rate": cancel_rate,
            "batch": batch,
            "ttl": ttl,
            "lease": lease,
        },
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
        stats.update(_histories(store, ids))
        if verify:
            stats["problems"] = _verify(store, ids)
    return stats


def _histories(store: Store, ids: list[str]) -> dict[str, Any]:
    """What the stored histories say: moves by trigger and source, tool calls, durations."""
    transitions: dict[str, Counter[str]] = {}
    durations: dict[str, Counter[int]] = {}
    tool_calls = 0
    for run_id in ids:
        events = store.events_since(run_id)
        moves = [e for e in events if e.kind == "move"]
        for e in moves:
            assert e.trigger is not None  # noqa: S101 - a move has a trigger
            assert e.source is not None  # noqa: S101
            transitions.setdefault(e.trigger, Counter())[e.source] += 1
            if e.trigger == "require_action":
                tool_calls += len(e.args.get("tool_calls", ()))
        if events and moves:
            end = moves[-1]
            durations.setdefault(end.dest, Counter())[end.at - events[0].at] += 1
    return {
        "transitions": {t: dict(sorted(c.items())) for t, c in sorted(transitions.items())},
        "tool_calls": tool_calls,
        "durations": {s: dict(sorted(c.items())) for s, c in sorted(durations.items())},
    }


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


@attrs.frozen
class _Fate:
    """What becomes of one run, drawn from ``(seed, index)`` alone.

    *cancel* is where the client cancels it: ``"claimed"`` (once a worker started it),
    ``"waiting"`` (instead of answering its tool calls; needs *tool_round*) or ``None``.
    """

    tool_round: bool
    cancel: str | None
    ending: str


def _fate(plan: _Plan, index: int) -> _Fate:
    rng = random.Random(f"runlife-sim:{plan.seed}:{index}")
    tool_round = rng.random() < plan.tool_rate
    cancel = None
    if rng.random() < plan.cancel_rate:
        cancel = "waiting" if tool_round and rng.random() < 0.5 else "claimed"
    ending = "complete" if rng.random() < 0.9 else "fail"
    return _Fate(tool_round, cancel, ending)


class _Worker:
    def __init__(self, plan: _Plan, store: Store, index: int) -> None:
        self.plan = plan
        self.store = store
        self.name = f"worker-{index}-{os.getpid()}"
        self.counts: Counter[str] = Counter()
        self.index = {run_id: i for i, run_id in enumerate(plan.ids)}

    def loop(self) -> None:
        store, counts = self.store, self.counts
        while time.time() < self.plan.deadline:
            claimed = store.claim(self.plan.batch, worker=self.name)
            counts["claims"] += len(claimed)
            counts["moves"] += len(claimed)
            for run in claimed:
                self.work(run)
            rescued = store.rescue()
            expired = store.expire_due()
            counts["moves"] += len(rescued) + len(expired)
            if not claimed and not rescued and not expired:
                statuses = store.counts()
                if not any(statuses.get(s.value, 0) for s in RunStatus if s.is_active):
                    return
                time.sleep(0.005)

    def work(self, run: Run) -> None:
        store, counts = self.store, self.counts
        fate = _fate(self.plan, self.index[run.id])
        answered = store.tool_outputs(run.id) is not None
        try:
            if fate.cancel == "claimed":
                self.cancel(run.id)
                with store.move(run.id, worker=self.name) as moving:
                    moving.finish_cancel()
                counts["moves"] += 1
                return
            if fate.tool_round and not answered:
                call_id = f"call_{self.index[run.id]:06d}"
                call = {
                    "id": call_id,
                    "type": "function",
                    "function": {"name": "lookup", "arguments": "{}"},
                }
                with store.move(run, worker=self.name) as moving:
                    moving.require_action([call])
                counts["moves"] += 1
                if fate.cancel == "waiting":
                    self.cancel(run.id)  # a cancelling run no worker holds: rescue finishes it
                    return
                # The API's client answers at once (not a worker: no lease involved).
                with store.move(run) as moving:
                    moving.submit_tool_outputs([{"tool_call_id": call_id, "output": "42"}])
                counts["moves"] += 1
                return
            with store.move(run, worker=self.name) as moving:
                if fate.ending == "complete":
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
        """The API's client cancels a run (not a worker: no lease involved)."""
        with self.store.move(run_id) as moving:
            moving.cancel()
        self.counts["moves"] += 1
        self.counts["cancels"] += 1
