"""Workers: claim queued runs, ask the executor for the next move, apply it; sweep.

One worker is one loop (one per worker process under ``runlife serve``):

1. every *sweep_interval* seconds: ``store.expire_due()`` and ``store.rescue()`` (runs whose
   worker died fail with ``server_error``; ``cancelling`` runs no worker holds end
   ``cancelled``); safe in many processes at once;
2. claim up to as many queued runs as it has free executor threads (``store.claim``: each
   run is started, leased to this worker, and given to no one else);
3. each claimed run goes to a thread of the worker's pool: the executor gets a ``Turn``
   (a copy of the run and the tool outputs last submitted) and returns a ``Step`` (or a
   list of them: a message step, then the run's move); the steps are applied with one
   ``store.move(run_id, worker=...)``: one transaction, compare-and-set, fenced by the
   lease. A run cancelled meanwhile is finished as ``cancelled`` instead; an executor that
   raises, or returns a step the engine refuses, fails the run with ``server_error``;
4. when nothing was claimed, wait for a wake-up (a run was queued on this machine) or
   *idle* seconds, whichever comes first.

A heartbeat thread renews the leases of the runs in flight (and only those: a run whose
turn ended, however it ended, is never heartbeated again) every third of the lease.

Store faults (``StoreError``: the database restarting, a SQLite file read-only or locked,
removed or replaced). A claim or sweep that fails is tried again with a backoff (up to
``_MAX_BACKOFF`` seconds, one log line per outage, one when it ends): the worker pauses.
A run in flight whose read or write failed is retried with a backoff for as long as the
worker may still hold its lease: until the lease, as last confirmed by a claim or a
heartbeat, would lapse. Whenever the database answers, the write's own fence judges the
lease. Before each retry the worker resolves whether the failed write landed after all
(a history row of this worker after the claimed version: ``Store.events_since``), so a move
is never applied twice. An outage shorter than the lease loses nothing; past it the worker
gives the run up (logged) and ``rescue()`` ends it, as for a worker that died.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

import attrs

from runlife import (
    Conflict,
    GuardRejected,
    IllegalTransition,
    InvalidRun,
    Run,
    RunEngine,
    RunlifeError,
    RunNotFound,
    RunStatus,
    from_dict,
    to_dict,
)
from runlife.store import StoreError

from ._executor import (
    Executor,
    Fail,
    Turn,
    apply_step,
    as_steps,
    load_executor,
    outputs_tuple,
)
from ._signals import Signals

if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import TypeVar

    from runlife.store import Store

    T = TypeVar("T")

__all__ = ["Worker", "WorkerConfig", "worker_main"]

_log = logging.getLogger("runlife.serve.worker")

#: The longest ``last_error.message`` a worker writes.
_MAX_MESSAGE = 1000
#: The first and the longest wait (seconds) between retries after a store error.
_FIRST_BACKOFF, _MAX_BACKOFF = 0.05, 1.0


def new_worker_id(n: int = 0) -> str:
    """A worker id unique across machines and restarts: ``host:pid:n:random``."""
    return f"{socket.gethostname()}:{os.getpid()}:{n}:{uuid.uuid4().hex[:8]}"


class Worker:
    """Claims queued runs of *store* and moves them with *executor*.

    Args:
        store: the store (opened in this process).
        executor: the executor (see ``runlife.serve.Executor``).
        worker_id: this worker's id in leases and history (unique; made up when omitted).
        concurrency: executor threads, hence the most runs this worker holds at once.
        signals: wake-ups and change notices shared with the HTTP process.
        idle: seconds between claims when nothing wakes the worker.
        sweep_interval: seconds between expiry and rescue sweeps (0: never sweep).

    Thread-safety: ``run`` is one loop; call ``stop`` from any thread.
    """

    def __init__(
        self,
        store: Store,
        executor: Executor,
        *,
        worker_id: str | None = None,
        concurrency: int = 4,
        signals: Signals | None = None,
        idle: float = 0.1,
        sweep_interval: float = 1.0,
    ) -> None:
        if type(concurrency) is not int or concurrency < 1:
            raise ValueError(f"concurrency: expected an int >= 1, got {concurrency!r}")
        self.store = store
        self.executor = executor
        self.id = worker_id or new_worker_id()
        self.concurrency = concurrency
        self.signals = signals if signals is not None else Signals.local()
        self.idle = idle
        self.sweep_interval = sweep_interval
        self._stop = threading.Event()
        self._slots = threading.Condition()
        self._inflight = 0
        self._pool: ThreadPoolExecutor | None = None
        # The runs in flight -> the monotonic time their lease is believed to lapse
        # (confirmed at the claim and by each heartbeat); guarded by _slots.
        self._held: dict[str, float] = {}
        self._outage = False  # a claim or sweep is failing: logged once, until it ends

    def stop(self) -> None:
        """Ask the loop to end; runs in flight are finished first."""
        self._stop.set()

    @property
    def stopping(self) -> bool:
        """Whether ``stop`` was called."""
        return self._stop.is_set()

    # --- the loop ----------------------------------------------------------------------------

    def run(self, *, alive: Callable[[], bool] | None = None) -> None:
        """Loop until ``stop`` (or until *alive()* returns false), then finish the runs in flight."""
        self._pool = ThreadPoolExecutor(self.concurrency, thread_name_prefix="runlife-executor")
        beat = threading.Thread(target=self._heartbeat, name="runlife-heartbeat", daemon=True)
        beat.start()
        next_sweep = 0.0
        try:
            while not self._stop.is_set():
                if alive is not None and not alive():
                    _log.warning("worker %s: the server process is gone; stopping", self.id)
                    break
                if self.sweep_interval > 0 and time.monotonic() >= next_sweep:
                    self.sweep()
                    next_sweep = time.monotonic() + self.sweep_interval
                with self._slots:
                    free = self.concurrency - self._inflight
                if free <= 0:
                    with self._slots:
                        self._slots.wait(self.idle)
                    continue
                seen = self.signals.wakes()
                claimed = self._claim(free)
                if not claimed:
                    self.signals.wait_for_work(seen, self.idle)
        finally:
            self._stop.set()
            self._pool.shutdown(wait=True)
            beat.join(timeout=5)

    def _store_failed(self, what: str, exc: Exception) -> None:
        """Log a failing claim or sweep once per outage; wait before the next try."""
        if not self._outage:
            self._outage = True
            self._backoff = _FIRST_BACKOFF
            _log.warning(
                "worker %s: %s failed, pausing until the store answers: %s", self.id, what, exc
            )
        self._stop.wait(self._backoff)
        self._backoff = min(self._backoff * 2, _MAX_BACKOFF)

    def _store_answered(self) -> None:
        if self._outage:
            self._outage = False
            _log.warning("worker %s: the store answers again; going on", self.id)

    def _claim(self, limit: int) -> list[Run]:
        try:
            runs = self.store.claim(limit, worker=self.id)
        except StoreError as exc:
            self._store_failed("claim", exc)
            return []
        except RunlifeError:
            _log.exception("worker %s: claim failed; trying again shortly", self.id)
            self._stop.wait(self.idle)
            return []
        except Exception as exc:  # noqa: BLE001 - logged with its traceback, then paused
            # An error the store did not name (a database file half put back, say): the
            # worker logs it with its traceback and pauses as for a store error, rather than
            # dying with runs in flight whose leases it would stop renewing.
            _log.exception("worker %s: claim failed unexpectedly", self.id)
            self._store_failed("claim", exc)
            return []
        self._store_answered()
        if not runs:
            return []
        pool = self._pool
        if pool is None:  # pragma: no cover - run() creates it
            raise RuntimeError("the worker is not running")
        until = time.monotonic() + self.store.lease
        with self._slots:
            self._inflight += len(runs)
            self._held.update(dict.fromkeys((run.id for run in runs), until))
        for run in runs:
            self.signals.bump(run.id)
            pool.submit(self._turn_and_release, run)
        return runs

    def _turn_and_release(self, run: Run) -> None:
        try:
            self.turn(run)
        except Exception:  # noqa: BLE001 - one run's trouble must not stop the worker
            _log.exception("worker %s: run %s: unexpected error", self.id, run.id)
        finally:
            with self._slots:
                self._inflight -= 1
                self._held.pop(run.id, None)  # never heartbeated again
                self._slots.notify()

    def run_once(self) -> int:
        """Claim what is queued and move it, in this thread; how many runs were claimed."""
        runs = self.store.claim(self.concurrency, worker=self.id)
        until = time.monotonic() + self.store.lease
        for run in runs:
            self.signals.bump(run.id)
            with self._slots:
                self._held[run.id] = until
            try:
                self.turn(run)
            finally:
                with self._slots:
                    self._held.pop(run.id, None)
        return len(runs)

    # --- one turn -----------------------------------------------------------------------------

    def turn(self, run: Run) -> None:
        """Ask the executor for *run*'s next move (the run is held by this worker) and apply it."""
        try:
            stored = self._retrying(run.id, "read", lambda: self.store.tool_outputs(run.id))
        except RunNotFound:
            return
        if stored is _GAVE_UP:
            return
        try:
            outputs = outputs_tuple(stored)  # type: ignore[arg-type]
            # The executor gets a detached copy: moving it cannot touch the stored run.
            step: object = self.executor(Turn(from_dict(to_dict(run)), outputs, self.id))
        except Exception as exc:  # noqa: BLE001 - an executor's bug fails the run, not the worker
            _log.exception("worker %s: the executor raised on run %s", self.id, run.id)
            step = Fail("server_error", _clip(f"the executor raised {type(exc).__name__}: {exc}"))
        self.apply(run.id, step, since=run.version)

    def apply(self, run_id: str, step: object, *, since: int | None = None) -> None:
        """Apply *step* (a ``Step``, or a list of them, in order) to the held run *run_id*.

        All the steps are one write (one transaction). A cancelled run is finished instead;
        steps the engine refuses, or an order of steps it does not take, fail the run with
        ``server_error`` instead (nothing of them written).
        *since* is the run's stored version when this worker claimed it: after a store
        error, a history row of this worker after it means the failed write landed.
        A store error is retried while the lease may still be held (see the module).
        """
        delay = _FIRST_BACKOFF
        attempt = 0
        while attempt < 3:
            attempt += 1
            applied = 0
            try:
                steps = as_steps(step)
                with self.store.move(run_id, worker=self.id) as run:
                    if run.status is RunStatus.CANCELLING:
                        run.finish_cancel()
                    else:
                        for one in steps:
                            apply_step(run, one, steps=self.store.engine.steps)
                            applied += 1
            except (GuardRejected, InvalidRun, TypeError) as exc:
                if isinstance(step, Fail):
                    _log.exception("worker %s: run %s: cannot fail it", self.id, run_id)
                    return
                _log.warning("worker %s: run %s: executor step refused: %s", self.id, run_id, exc)
                step = Fail("server_error", _clip(f"the executor's step was refused: {exc}"))
                continue
            except IllegalTransition as exc:
                if applied:  # after the executor's own steps: their order is at fault
                    _log.warning(
                        "worker %s: run %s: executor steps refused: %s", self.id, run_id, exc
                    )
                    step = Fail("server_error", _clip(f"the executor's steps were refused: {exc}"))
                    continue
                # Moved by someone else meanwhile (cancelled, expired): look again.
                _log.info("worker %s: run %s moved meanwhile: %s", self.id, run_id, exc)
                continue
            except (Conflict, RunNotFound) as exc:  # LeaseLost is a Conflict
                _log.warning("worker %s: run %s: %s", self.id, run_id, exc)
                return
            except StoreError as exc:
                attempt -= 1  # a store error is retried by time (the lease), not by count
                if not self._wait(run_id, "write", exc, delay):
                    return
                delay = min(delay * 2, _MAX_BACKOFF)
                landed = self._retrying(run_id, "read", lambda: self._landed(run_id, since))
                if landed is _GAVE_UP:
                    return
                if landed:
                    _log.info("worker %s: run %s: the failed write had landed", self.id, run_id)
                    self.signals.bump(run_id)
                    return
                continue
            self.signals.bump(run_id)
            return

    def _landed(self, run_id: str, since: int | None) -> bool:
        """Whether a move of this worker was stored on *run_id* after version *since*."""
        if since is None:
            return False
        return any(
            row.kind == "move" and row.worker == self.id
            for row in self.store.events_since(run_id, since)
        )

    def _wait(self, run_id: str, what: str, exc: StoreError, delay: float) -> bool:
        """Sleep *delay* before retrying *run_id*'s failed *what*; false: give the run up.

        The run is given up once its lease, as last confirmed, would lapse before the next
        try: past it the write's fence refuses anyway, and ``rescue()`` ends the run.
        """
        with self._slots:
            until = self._held.get(run_id)
        if until is None or time.monotonic() + delay > until:
            _log.error(
                "worker %s: run %s: giving it up: the store failed (%s) until its lease "
                "lapsed; rescue() will end it: %s",
                self.id,
                run_id,
                what,
                exc,
            )
            return False
        _log.warning(
            "worker %s: run %s: %s failed, retrying in %.2f s: %s",
            self.id,
            run_id,
            what,
            delay,
            exc,
        )
        time.sleep(delay)
        return True

    def _retrying(self, run_id: str, what: str, func: Callable[[], T]) -> T | object:
        """*func()*, retried after store errors while *run_id*'s lease may be held.

        ``_GAVE_UP`` when the lease lapsed first.
        """
        delay = _FIRST_BACKOFF
        while True:
            try:
                return func()
            except StoreError as exc:
                if not self._wait(run_id, what, exc, delay):
                    return _GAVE_UP
                delay = min(delay * 2, _MAX_BACKOFF)

    # --- background duties ------------------------------------------------------------------

    def sweep(self) -> int:
        """Expire the runs past their deadline and rescue the abandoned ones; how many moved."""
        moved = 0
        for name in ("expire_due", "rescue"):
            try:
                done = getattr(self.store, name)()
            except StoreError as exc:
                self._store_failed(name, exc)
                continue
            except RunlifeError:
                _log.exception("worker %s: %s failed", self.id, name)
                continue
            for run_id in done.moved:
                self.signals.bump(run_id)
            moved += len(done.moved)
        return moved

    def _heartbeat(self) -> None:
        period = self.store.lease / 3
        last = time.monotonic()
        while True:
            stopped = self._stop.wait(0.2)
            with self._slots:
                busy = self._inflight > 0
            if stopped and not busy:
                return
            if busy and time.monotonic() - last >= period:
                self._beat()
                last = time.monotonic()
            if stopped:
                time.sleep(0.2)

    def _beat(self) -> None:
        """Renew the leases of the runs in flight; note until when each is held."""
        with self._slots:
            ids = sorted(self._held)
        if not ids:
            return
        now = time.monotonic()
        try:
            kept = set(self.store.heartbeat(self.id, ids))
        except StoreError as exc:
            _log.warning("worker %s: heartbeat failed (the leases run on): %s", self.id, exc)
            return
        except RunlifeError:
            _log.exception("worker %s: heartbeat failed", self.id)
            return
        with self._slots:
            for run_id in ids:
                if run_id in kept and run_id in self._held:
                    self._held[run_id] = now + self.store.lease
                elif run_id in self._held:
                    self._held[run_id] = 0.0  # lost: a store error now gives it up at once


#: What ``Worker._retrying`` returns when it gave the run up.
_GAVE_UP = object()


def _clip(text: str) -> str:
    return text if len(text) <= _MAX_MESSAGE else text[: _MAX_MESSAGE - 1] + "…"


@attrs.frozen
class WorkerConfig:
    """What a worker process needs (picklable: handed to ``spawn``)."""

    store_url: str
    executor: str
    index: int
    parent_pid: int
    concurrency: int = 4
    lease: int = 30
    ttl: int = 600
    idle: float = 0.1
    sweep_interval: float = 1.0
    log_level: str = "warning"
    #: Where the executor's module is imported from (``runlife serve --app-dir``).
    app_dir: str | None = None


def worker_main(config: WorkerConfig, signals: Signals) -> None:
    """The body of a worker process: open the store, loop until told to stop.

    Stops on SIGTERM (sent by the server) or when the server process is gone; SIGINT is
    left to the server (a terminal's Ctrl-C reaches the whole group). No lock or event is
    shared with the server: a process killed at any instant cannot freeze another.
    """
    from runlife.store import open_store  # noqa: PLC0415

    logging.basicConfig(
        level=config.log_level.upper(), format="%(asctime)s %(name)s %(levelname)s %(message)s"
    )
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # create=False: the server made the schema; a worker starting while the SQLite file is
    # gone must not make an empty database at its path (it fails, and is started again).
    store = open_store(
        config.store_url,
        engine=RunEngine(ttl=config.ttl),
        lease=config.lease,
        create=False,
        pool_size=config.concurrency + 2,
    )
    worker = Worker(
        store,
        load_executor(config.executor, app_dir=config.app_dir),
        worker_id=new_worker_id(config.index),
        concurrency=config.concurrency,
        signals=signals,
        idle=config.idle,
        sweep_interval=config.sweep_interval,
    )
    signal.signal(signal.SIGTERM, lambda *_: worker.stop())

    def alive() -> bool:
        return os.getppid() == config.parent_pid

    try:
        worker.run(alive=alive)
    finally:
        store.close()
