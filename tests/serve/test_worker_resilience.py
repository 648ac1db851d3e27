"""A worker's loop survives an error its store did not name: logged, paused, and it goes on."""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from typing import Any

from runlife.serve import Complete, Turn, Worker
from runlife.store import open_store


def test_an_unnamed_claim_error_pauses_the_worker_instead_of_killing_it(tmp_path, caplog):
    """A claim raising what no store error names (here the driver's own error, as a database
    file half put back gives) is logged with its traceback; the worker pauses, claims again,
    says the store answers again, and the run completes. It used to end the worker process."""

    def executor(turn: Turn) -> Complete:
        return Complete({"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2})

    with open_store(f"sqlite:///{tmp_path}/runs.db", lease=10) as store:
        store.create(id="run_1", assistant_id="a", thread_id="t1", model="m")
        claim = store.claim
        failures = [sqlite3.DatabaseError("database disk image is malformed")]

        def flaky_claim(*args: Any, **kwargs: Any) -> Any:
            if failures:
                raise failures.pop()
            return claim(*args, **kwargs)

        store.claim = flaky_claim  # type: ignore[method-assign]
        worker = Worker(store, executor, worker_id="w1", concurrency=1, sweep_interval=0, idle=0.05)
        with caplog.at_level(logging.WARNING, logger="runlife"):
            running = threading.Thread(target=worker.run)
            running.start()
            try:
                deadline = time.monotonic() + 20
                while store.get("run_1").status != "completed":
                    assert time.monotonic() < deadline, "the worker did not go on"
                    time.sleep(0.05)
            finally:
                worker.stop()
                running.join(10)
        assert not running.is_alive()
        log = caplog.text
        assert "w1: claim failed unexpectedly" in log
        assert "database disk image is malformed" in log
        assert "the store answers again" in log
