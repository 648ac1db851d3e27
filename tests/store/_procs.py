"""Child processes of the store's process and fault tests (spawned, so importable here).

Processes share time through a file: ``FileClock`` reads the Unix seconds the test wrote.
"""

from __future__ import annotations

import json
import multiprocessing
import random
import time
from collections import Counter
from pathlib import Path
from typing import Any

from runlife import Conflict, IllegalTransition, RunEngine
from runlife.store import LeaseLost, ThreadBusy, open_store
from tests.support import CALL, USAGE, WEATHER_TOOL

SPAWN = multiprocessing.get_context("spawn")


class FileClock:
    """A clock shared by processes: the integer in a file, moved by the test."""

    def __init__(self, path: str) -> None:
        self.path = path

    def __call__(self) -> int:
        return int(Path(self.path).read_text())

    def set(self, now: int) -> None:
        tmp = Path(self.path + ".tmp")
        tmp.write_text(str(now))
        tmp.replace(self.path)


def _signal(path: str, text: str) -> None:
    """Write a signal file atomically: the parent never reads it half-written."""
    tmp = Path(path + ".tmp")
    tmp.write_text(text)
    tmp.replace(path)


def wait_for(path: Path, timeout: float = 30.0) -> str:
    """Wait until a child writes *path*; return its text."""
    deadline = time.monotonic() + timeout
    while not path.exists():
        if time.monotonic() > deadline:
            raise TimeoutError(f"no {path} after {timeout} s")
        time.sleep(0.01)
    return path.read_text()


def start(target: Any, *args: Any) -> Any:
    process = SPAWN.Process(target=target, args=args, daemon=True)
    process.start()
    return process


def _engine(clock_path: str) -> RunEngine:
    return RunEngine(clock=FileClock(clock_path))


def racer(  # noqa: PLR0917 - a spawned process's target takes its arguments positionally
    url: str, name: str, ids: list[str], shared: int, barrier: Any, out: str, seed: int
) -> None:
    """Race creates on shared threads, then claims, cancels and moves; report what succeeded."""
    rng = random.Random(seed)
    store = open_store(url, lease=300)
    created: list[str] = []
    for k in range(shared):
        try:
            run = store.create(
                id=f"run_{name}_{k}", assistant_id="a", thread_id=f"thread_shared_{k}", model="m"
            )
            created.append(run.id)
        except ThreadBusy:
            pass
    barrier.wait()
    claimed: list[str] = []
    moves: Counter[str] = Counter()
    outcomes: Counter[str] = Counter()
    while True:
        runs = store.claim(rng.randint(1, 4), worker=name)
        for run in runs:
            claimed.append(run.id)
            moves[run.id] += 1
            victim = rng.choice(ids)
            if store.get(victim).status == "in_progress":
                try:
                    with store.move(victim) as moving:
                        moving.cancel()
                    moves[victim] += 1
                    outcomes["cancel"] += 1
                except IllegalTransition:
                    outcomes["cancel too late"] += 1
            with store.move(run, worker=name) as moving:
                if moving.status == "cancelling":
                    moving.finish_cancel()
                elif rng.random() < 0.8:
                    moving.complete(USAGE)
                else:
                    moving.fail("server_error", "racing")
            moves[run.id] += 1
        for swept in (store.rescue(), store.expire_due()):
            for run_id in swept.moved:
                moves[run_id] += 1
        if not runs and not store.counts().get("queued"):
            break
    outcomes["conflicts"] = store.stats().get("conflicts", 0)
    _signal(
        out,
        json.dumps({"claimed": claimed, "moves": moves, "created": created, "outcomes": outcomes}),
    )


def hold_in_move(url: str, clock_path: str, run_id: str, ready: str) -> None:
    """Fire two moves in a block, then hang there until killed."""
    store = open_store(url, engine=_engine(clock_path))
    with store.move(run_id) as run:
        run.start()
        run.require_action([CALL])
        _signal(ready, "in the block")
        time.sleep(600)


def write_behind_lock(url: str, clock_path: str, run_id: str, ready: str, done: str) -> None:
    """Move a run; the test holds a lock, so the write waits (and is killed, or goes on)."""
    store = open_store(url, engine=_engine(clock_path))
    with store.move(run_id) as run:
        run.start()
        _signal(ready, "committing")
    _signal(done, json.dumps({"version": store.version(run_id), **store.stats()}))


def claim_and_hang(url: str, clock_path: str, ready: str) -> None:
    """Claim runs, then hang holding them until killed."""
    store = open_store(url, engine=_engine(clock_path), lease=30)
    runs = store.claim(3, worker="doomed")
    _signal(ready, json.dumps([r.id for r in runs]))
    time.sleep(600)


def paused_worker(url: str, clock_path: str, ready: str, go: str, out: str) -> None:
    """Claim two runs, start a move, get paused (SIGSTOP) mid-move, and try to write later."""
    store = open_store(url, engine=_engine(clock_path), lease=30)
    first, second = store.claim(2, worker="sleepy")
    result: dict[str, str] = {}
    try:
        with store.move(first, worker="sleepy") as run:
            run.complete()
            _signal(ready, json.dumps([first.id, second.id]))
            while not Path(go).exists():
                time.sleep(0.01)
    except LeaseLost as exc:
        result["first"] = str(exc)
    try:
        with store.move(second, worker="sleepy") as run:
            run.require_action([CALL])
    except LeaseLost as exc:
        result["second"] = str(exc)
    _signal(out, json.dumps(result))


def dropped_connection(  # noqa: PLR0917 - a spawned process's target takes positional arguments
    url: str, clock_path: str, run_id: str, ready: str, go: str, out: str
) -> None:
    """Move a run while the test kills this process's database connection."""
    store = open_store(url, engine=_engine(clock_path))
    store.get(run_id)  # the pool now holds a connection, which the test will terminate
    result: dict[str, Any] = {}
    try:
        with store.move(run_id) as run:
            run.start()
            _signal(ready, "in the block")
            while not Path(go).exists():
                time.sleep(0.01)
    except Conflict as exc:  # pragma: no cover - reported to the test
        result["error"] = str(exc)
    result.update(version=store.version(run_id), **store.stats())
    _signal(out, json.dumps(result))


def new_runs(store: Any, count: int, prefix: str = "run") -> list[str]:
    ids = [f"{prefix}_{i}" for i in range(count)]
    for i, run_id in enumerate(ids):
        store.create(
            id=run_id,
            assistant_id="asst_1",
            thread_id=f"thread_{prefix}_{i}",
            model="gpt-4o",
            tools=[WEATHER_TOOL],
        )
    return ids


def hammer_metadata(url: str, run_ids: list[str], stop: str, out: str) -> None:
    """Update the metadata of *run_ids* in a loop until *stop* exists; report the count."""
    store = open_store(url, lease=300)
    done = 0
    errors: list[str] = []
    while not Path(stop).exists():
        for run_id in run_ids:
            try:
                store.update_metadata(run_id, {"n": str(done)})
                done += 1
            except Exception as exc:
                errors.append(f"{type(exc).__name__}: {exc}")
    _signal(out, json.dumps({"updates": done, "errors": errors[:5], "stats": store.stats()}))


def creator(url: str, clock_path: str, inbox: Any, outbox: Any) -> None:
    """Create a run on each ``(thread_id, end_it)`` from *inbox*, answering its id; None stops.

    With *end_it* the run fails at once, so that the thread takes the next one.
    """
    store = open_store(url, engine=_engine(clock_path))
    while (job := inbox.get()) is not None:
        thread_id, end_it = job
        run = store.create(assistant_id="asst_1", thread_id=thread_id, model="gpt-4o")
        if end_it:
            with store.move(run.id) as moving:
                moving.fail("server_error", "done")
        outbox.put(run.id)
    store.close()


def open_and_report(url: str, barrier: Any, out: str) -> None:
    """Open the store at *url* (after the others are ready too); report what opening did."""
    barrier.wait(30)
    try:
        with open_store(url) as store:
            report = {"action": store.schema_action, "version": store.schema_version()}
    except Exception as exc:  # reported to the test, which fails on it
        report = {"error": f"{type(exc).__name__}: {exc}"}
    _signal(out, json.dumps(report))


def step_worker(url: str, clock_path: str, out: str) -> None:
    """Claim one run and work it with steps: a tool round (the outputs submitted as a client
    would), then a message step and the completion. Signals the run's stream as it heard it."""
    store = open_store(url, engine=_engine(clock_path))
    heard: list[Any] = []
    store.engine.subscribe(lambda event: heard.extend(event.stream_events()))
    (run,) = store.claim(1, worker="stepper")
    with store.move(run, worker="stepper") as moving:
        moving.require_action([CALL])
    with store.move(run.id) as moving:
        moving.submit_tool_outputs([{"tool_call_id": CALL["id"], "output": "sunny"}])
    (run,) = store.claim(1, worker="stepper")
    with store.move(run, worker="stepper") as moving:
        moving.open_message_step("msg_1")
        moving.complete_message_step(USAGE)
        moving.complete(USAGE)
    store.close()
    _signal(out, json.dumps([e["event"] for e in heard]))
