"""Fixtures of the fault suite: real ``runlife serve`` processes, real PostgreSQL, real files.

Servers run the executor ``tests.faults.executor:recording`` (which writes down every tool
call it issues); PostgreSQL is the server of ``scripts/pg-test-server.sh`` (without
``RUNLIFE_TEST_POSTGRES_URL`` its cases are left out, except under CI, where they fail).
A test that restarts PostgreSQL uses the ``pg_restarts`` fixture, whose finalizer starts
the server again whatever happened, so the tests after it find it up.

Every test here is marked ``serial``: a PostgreSQL restart cuts every connection, other
suites' included, and the loads here count on the machine's cores. The test command runs
the rest with ``-n 2 -m "not serial"``, then these alone with ``-m serial``; a fault test
started beside other xdist workers fails at once instead of breaking them.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.faults.executor import DELAY_ENV, DIR_ENV, RECORD_ENV
from tests.faults.faults import PG_DIR_ENV, pg_ensure_up
from tests.pg import fresh_store_url, in_directory_with_backend, postgres_hooks
from tests.pg import postgres_url as _postgres_url
from tests.serve.conftest import KEY, Server

BACKENDS = ("sqlite", "postgresql")
EXECUTOR = "tests.faults.executor:recording"
ROOT = Path(__file__).parents[2]
HERE = Path(__file__).parent

#: Without a server (and outside CI) the PostgreSQL cases are left out, said in one line.
_leave_out_postgres, pytest_terminal_summary = postgres_hooks(
    "faults", in_directory_with_backend(__file__)
)


@pytest.hookimpl(tryfirst=True)  # before ``-m`` selects by marker
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark every test of this directory ``serial``; leave out its PostgreSQL cases without a
    server (outside CI)."""
    for item in items:
        if Path(str(item.path)).is_relative_to(HERE):
            item.add_marker(pytest.mark.serial)
    _leave_out_postgres(config, items)


def _alone() -> None:
    """Fail when other xdist workers run beside this test (``-n`` without ``-m serial``)."""
    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
    if workers > 1:
        pytest.fail(
            f"a fault test runs beside {workers - 1} other xdist worker(s): it kills processes "
            'and restarts PostgreSQL under them; run `-n 2 -m "not serial"`, then `-m serial` '
            "without -n",
            pytrace=False,
        )


@pytest.fixture(name="backend", params=BACKENDS)
def _backend(request: pytest.FixtureRequest) -> str:
    backend: str = request.param
    if backend == "postgresql":
        _postgres_url("faults")
    return backend


class Faulty:
    """One test's service: its store, its executor's record, its ``runlife serve``."""

    def __init__(self, backend: str, directory: Path, store: str) -> None:
        self.backend = backend
        self.directory = directory
        self.store = store
        self.record = directory / "issued.jsonl"
        self.log = directory / "server.log"
        self.server: Server | None = None
        self.others: list[Server] = []

    def start(self, *options: str) -> Server:
        """``runlife serve`` on this store with the recording executor (and *options*)."""
        self.server = Server(
            self.store,
            "--executor",
            EXECUTOR,
            "--api-key",
            KEY,
            *options,
            log=self.log,
        ).start()
        return self.server

    def start_another(self, *options: str) -> Server:
        """A second ``runlife serve`` on the same store (killed at teardown too)."""
        server = Server(
            self.store,
            "--executor",
            EXECUTOR,
            "--api-key",
            KEY,
            *options,
            log=self.directory / "other.log",
        ).start()
        self.others.append(server)
        return server

    def worker_pids(self) -> list[int]:
        """The pids of the server's worker processes (its ``spawn`` children)."""
        server = self.server
        if server is None or server.proc is None:
            return []
        pid = server.proc.pid
        children: set[int] = set()  # each thread's children (restarts come from a thread)
        for task in Path(f"/proc/{pid}/task").iterdir():
            with contextlib.suppress(OSError):
                children.update(map(int, (task / "children").read_text().split()))
        found = []
        for child in children:
            with contextlib.suppress(OSError):
                if b"spawn_main" in Path(f"/proc/{child}/cmdline").read_bytes():
                    found.append(child)
        return sorted(found)

    def stderr(self) -> str:
        return self.log.read_text(errors="replace")


@pytest.fixture(name="faulty")
def _faulty(
    backend: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Callable[..., Faulty]]:
    """``faulty(delay_ms="lo-hi")``: a fresh store of *backend* and a service to start on it."""
    _alone()
    made: list[Faulty] = []
    stack = contextlib.ExitStack()

    def make(delay_ms: str = "0-0") -> Faulty:
        directory = tmp_path / f"service{len(made)}"
        directory.mkdir()
        store = stack.enter_context(
            contextlib.contextmanager(fresh_store_url)(backend, directory, "faults")
        )
        monkeypatch.setenv(RECORD_ENV, str(directory / "issued.jsonl"))
        monkeypatch.setenv(DIR_ENV, str(directory))
        monkeypatch.setenv(DELAY_ENV, delay_ms)
        monkeypatch.setenv(
            "PYTHONPATH", os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])
        )
        service = Faulty(backend, directory, store)
        made.append(service)
        return service

    with stack:
        yield make
        for service in made:
            for server in [service.server, *service.others]:
                if server is not None:
                    server.kill()


@pytest.fixture(name="pg_restarts")
def _pg_restarts() -> Iterator[None]:
    """For a test that restarts the PostgreSQL server: it is up again afterwards, always."""
    _alone()
    _postgres_url("faults")
    if not os.environ.get(PG_DIR_ENV):
        pytest.fail(f"restarting PostgreSQL needs {PG_DIR_ENV} (set by scripts/pg-test-server.sh)")
    try:
        yield
    finally:
        pg_ensure_up()
