"""Fixtures of the serve suite: a real ``runlife serve`` subprocess per backend, the official SDK.

Each server is ``python -m runlife serve`` (``python -m runlife.serve`` until the CLI lists
the subcommand) on ``--port 0`` of 127.0.0.1, started in a session of its own
(``start_new_session=True``) and ended by signalling its whole process group, workers
included. PostgreSQL comes from ``RUNLIFE_TEST_POSTGRES_URL`` (``eval "$(scripts/pg-test-server.sh
start)"`` sets it), with a schema of its own per server; without it the PostgreSQL cases
skip, except under CI (``CI`` set), where they fail.

Every SDK call that polls or waits for a stream runs under ``within(seconds, ...)``: a server
whose workers never move a run fails the test instead of hanging it.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
from tests.pg import fresh_store_url, in_directory_with_backend, postgres_hooks
from tests.pg import postgres_url as _postgres_url

BACKENDS = ("sqlite", "postgresql")
KEY = "sk-runlife-test"
T = TypeVar("T")


#: Without a server (and outside CI) the PostgreSQL cases are left out, said in one line.
pytest_collection_modifyitems, pytest_terminal_summary = postgres_hooks(
    "serve", in_directory_with_backend(__file__)
)


def postgres_url() -> str:
    """The test server's URL; skip (or, under CI, fail) when there is none."""
    return _postgres_url("serve")


def _serve_command() -> list[str]:
    from runlife import cli

    if any(command.name == "serve" for command in cli.commands()):
        return [sys.executable, "-m", "runlife", "serve"]
    return [sys.executable, "-m", "runlife.serve"]


@contextlib.contextmanager
def store_url(backend: str, directory: Path) -> Iterator[str]:
    """A fresh, empty store of *backend*: a SQLite file, or a PostgreSQL schema of its own."""
    yield from fresh_store_url(backend, directory, "serve")


class Server:
    """A running ``runlife serve`` process group."""

    def __init__(self, store: str, *options: str, log: Path) -> None:
        self.store = store
        self.options = options
        self.log = log
        self.proc: subprocess.Popen[str] | None = None
        self.url = ""

    def start(self, timeout: float = 30.0) -> Server:
        command = [*_serve_command(), "--store", self.store, "--port", "0", *self.options]
        with self.log.open("a") as err:
            self.proc = subprocess.Popen(
                command,
                stdout=subprocess.PIPE,
                stderr=err,
                text=True,
                start_new_session=True,
            )
        line = _read_line(self.proc, timeout)
        if "listening on " not in line:
            self.kill()
            raise RuntimeError(
                f"runlife serve did not start: {line!r}; its log:\n{self.log.read_text()}"
            )
        self.url = line.rsplit("listening on ", 1)[1].strip()
        return self

    def client(self, *, api_key: str = KEY, **options: Any) -> Any:
        from openai import OpenAI

        options.setdefault("max_retries", 0)
        options.setdefault("timeout", 20.0)
        return OpenAI(base_url=self.url, api_key=api_key, **options)

    def terminate(self, timeout: float = 15.0) -> int | None:
        """SIGTERM the group, wait for the server; its exit code (``None``: it did not exit)."""
        proc = self.proc
        if proc is None:
            return None
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            code = proc.wait(timeout)
        except subprocess.TimeoutExpired:
            code = None
        self.kill()
        return code

    def kill(self) -> None:
        """SIGKILL the whole group (server and workers) and reap the server."""
        proc = self.proc
        if proc is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)
        if proc.stdout is not None:
            proc.stdout.close()
        self.proc = None


def _read_line(proc: subprocess.Popen[str], timeout: float) -> str:
    box: list[str] = []
    stdout = proc.stdout
    if stdout is None:  # pragma: no cover
        return ""
    reader = threading.Thread(target=lambda: box.append(stdout.readline()), daemon=True)
    reader.start()
    reader.join(timeout)
    return box[0] if box else f"<no line in {timeout} s>"


def within(seconds: float, func: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """*func(...)*, or fail the test when it takes longer than *seconds* (a watchdog)."""
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["value"] = func(*args, **kwargs)
        except BaseException as exc:
            box["error"] = exc

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(seconds)
    if thread.is_alive():
        pytest.fail(f"{getattr(func, '__name__', func)} did not finish within {seconds} s")
    if "error" in box:
        raise box["error"]
    return box["value"]


@pytest.fixture(name="start_server")
def _start_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[..., Server]]:
    """Start servers (``start_server(backend, *options)``); all are killed at teardown."""
    servers: list[Server] = []
    stack = contextlib.ExitStack()

    def start(backend: str, *options: str, store: str | None = None) -> Server:
        directory = tmp_path_factory.mktemp(f"serve-{backend}")
        url = store if store is not None else stack.enter_context(store_url(backend, directory))
        server = Server(url, *options, log=directory / "server.log").start()
        servers.append(server)
        return server

    with stack:
        yield start
        for server in servers:
            server.kill()


@pytest.fixture(name="backend", params=BACKENDS, scope="session")
def _backend(request: pytest.FixtureRequest) -> str:
    backend: str = request.param
    if backend == "postgresql":
        postgres_url()
    return backend


@pytest.fixture(name="server", scope="session")
def _server(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One shared server per backend: 2 workers, an API key, the demo executor."""
    directory = tmp_path_factory.mktemp(f"shared-{backend}")
    with store_url(backend, directory) as url:
        server = Server(
            url, "--workers", "2", "--api-key", KEY, log=directory / "server.log"
        ).start()
        try:
            yield server
        finally:
            code = server.terminate()
            assert code == 0, f"SIGTERM: runlife serve exited with {code}"


@pytest.fixture(name="client")
def _client(server: Server) -> Iterator[Any]:
    client = server.client()
    yield client
    client.close()


@pytest.fixture(name="thread_id")
def _thread_id(client: Any) -> str:
    """A new thread, made as the SDK's usual first call makes it."""
    thread_id: str = client.beta.threads.create().id
    return thread_id


def run_python(code: str, *, missing: tuple[str, ...] = ()) -> subprocess.CompletedProcess[str]:
    """*code* run by ``python -c`` in a fresh interpreter (stdout and stderr captured), as if
    the packages *missing* were not installed."""
    hide = "".join(f"sys.modules[{name!r}] = None\n" for name in missing)
    return subprocess.run(
        [sys.executable, "-c", f"import sys\n{hide}{code}"],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )


def heavy_imports(code: str) -> list[str]:
    """The modules of the serve extra (starlette, uvicorn, anyio) and the service's private
    modules (``runlife.serve._*``) that running *code* in a fresh interpreter loads."""
    done = run_python(
        f"{code}\n"
        "print(sorted(m for m in sys.modules\n"
        "    if m.split('.')[0] in {'starlette', 'uvicorn', 'anyio'}\n"
        "    or m.startswith('runlife.serve._')))"
    )
    assert done.returncode == 0, done.stderr
    loaded: list[str] = eval(done.stdout)  # noqa: S307 - a list of names we printed
    return loaded


def wait_until(predicate: Callable[[], bool], seconds: float, what: str) -> None:
    """Poll *predicate* every 20 ms until it holds; fail after *seconds*."""
    deadline = time.monotonic() + seconds
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {seconds} s waiting for {what}")
        time.sleep(0.02)
