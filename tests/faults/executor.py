"""The executor the fault tests run in ``runlife serve``'s workers (``tests.faults.executor:recording``).

It writes down every tool call it issues, one JSON line per turn appended to the file named
by ``RUNLIFE_FAULTS_RECORD`` (``O_APPEND``: a worker SIGKILLed at any instant leaves whole
lines), so a test can tell whether a run's calls were ever issued twice. Each turn first
waits ``RUNLIFE_FAULTS_DELAY_MS`` (``"lo-hi"``, drawn per turn; metadata ``delay_ms``
overrides it): the window in which a test's faults land mid-turn. Metadata ``fault`` makes
the turn cause a fault just before its step is written, in the worker process:

- ``immutable:MS``: ``chattr +i`` on the SQLite database and WAL files in ``RUNLIFE_FAULTS_DIR`` for MS ms;
- ``pg_restart``: ``pg_ctl restart -m fast`` of the test PostgreSQL server
  (``RUNLIFE_TEST_PG_DIR``), started in the background so that the write meets it.

First turn of a run with function tools: one call per tool (ids unique per issue); any
later turn: complete.
"""

from __future__ import annotations

import json
import os
import random
import threading
import time
import uuid
from pathlib import Path
from typing import Any

from runlife import FunctionTool
from runlife.serve import CallTools, Complete, Step, Turn
from tests.faults.faults import immutable, pg_restart, read_only_files

RECORD_ENV = "RUNLIFE_FAULTS_RECORD"
DELAY_ENV = "RUNLIFE_FAULTS_DELAY_MS"
DIR_ENV = "RUNLIFE_FAULTS_DIR"
USAGE = {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5}


def _delay(metadata: Any) -> float:
    given = metadata.get("delay_ms")
    if isinstance(given, str) and given.isdigit():
        return int(given) / 1000
    lo, _, hi = os.environ.get(DELAY_ENV, "0-0").partition("-")
    return random.uniform(int(lo), int(hi or lo)) / 1000


def _record(entry: dict[str, Any]) -> None:
    path = os.environ.get(RECORD_ENV)
    if not path:
        return
    line = (json.dumps(entry) + "\n").encode()
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, line)
    finally:
        os.close(fd)


def _fault(spec: str) -> None:
    if spec.startswith("immutable:"):
        files = read_only_files(Path(os.environ[DIR_ENV]))
        immutable(files, on=True)

        def later() -> None:
            time.sleep(int(spec.partition(":")[2]) / 1000)
            immutable(files, on=False)

        threading.Thread(target=later, daemon=True).start()
    elif spec == "pg_restart":
        threading.Thread(target=pg_restart, daemon=True).start()
        time.sleep(0.1)  # the fast shutdown is under way when the step is written


def recording(turn: Turn) -> Step:
    """The next step of *turn*'s run; tool calls are written down before they are issued."""
    run = turn.run
    metadata = run.metadata or {}
    time.sleep(_delay(metadata))
    names = [tool.function.name for tool in run.tools if isinstance(tool, FunctionTool)]
    step: Step
    if turn.tool_outputs is None and names:
        calls = [
            {
                "id": f"call_{uuid.uuid4().hex[:16]}",
                "type": "function",
                "function": {"name": name, "arguments": "{}"},
            }
            for name in names
        ]
        _record({"run": run.id, "worker": turn.worker, "calls": [c["id"] for c in calls]})
        step = CallTools(calls)
    else:
        step = Complete(dict(USAGE))
    fault = metadata.get("fault")
    if isinstance(fault, str):
        _fault(fault)
    return step


def issued(path: Path) -> list[dict[str, Any]]:
    """The executor's record: one entry per turn that issued tool calls."""
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line]
