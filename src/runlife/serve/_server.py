"""``runlife serve`` in one function: worker processes, the sweeps, and uvicorn in front.

The server process opens the store (creating its schema), starts *workers* processes with
``spawn`` (each opens its own store), binds the socket, and runs uvicorn in the foreground
until SIGTERM or SIGINT. Then it stops accepting, lets open streams end (a few seconds at
most), tells the workers to stop, waits for them, and kills those that do not stop. Workers
also stop by themselves when the server process is gone (even after a SIGKILL); a worker
that dies is started again.
"""

from __future__ import annotations

import contextlib
import ipaddress
import logging
import multiprocessing
import os
import signal
import socket
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs

from runlife import RunEngine

from ._app import DEFAULT_POLL_AFTER_MS, create_app
from ._connections import ConnectionLimits, guarded_protocol
from ._executor import load_executor
from ._limits import DEFAULT_MAX_BODY
from ._signals import Signals
from ._timeouts import (
    DEFAULT_BODY_TIMEOUT,
    DEFAULT_HEADER_TIMEOUT,
    DEFAULT_MAX_CONNECTIONS,
    positive,
)
from ._worker import WorkerConfig, worker_main

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["ServeConfig", "is_loopback", "serve"]

_log = logging.getLogger("runlife.serve")


@attrs.frozen
class ServeConfig:
    """The options of ``runlife serve`` (see ``runlife serve --help``)."""

    store: str
    port: int = 8000
    host: str = "127.0.0.1"
    workers: int = 2
    executor: str = "demo"
    api_key: str | None = None
    concurrency: int = 4
    lease: int = 30
    ttl: int = 600
    poll_after_ms: int = DEFAULT_POLL_AFTER_MS
    poll_wait_ms: int = 250
    poll_ms: int = 50
    max_body_bytes: int = DEFAULT_MAX_BODY
    default_model: str = "runlife-demo"
    log_level: str = "warning"
    header_timeout: float = DEFAULT_HEADER_TIMEOUT
    body_timeout: float = DEFAULT_BODY_TIMEOUT
    max_connections: int = DEFAULT_MAX_CONNECTIONS
    app_dir: str = "."


def is_loopback(host: str) -> bool:
    """Whether *host* names only this machine (``localhost``, ``127.0.0.0/8``, ``::1``)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class _Stop(Exception):
    """SIGTERM or SIGINT reached the server process."""


def _raise_stop(signum: int, _frame: object) -> None:
    raise _Stop(signal.Signals(signum).name)


def _shown(host: str) -> str:
    """*host* as a URL shows it (an IPv6 address in brackets)."""
    return f"[{host}]" if ":" in host else host


def _bind(host: str, port: int) -> socket.socket:
    """A socket listening on *host*:*port*; an ``OSError`` naming the address otherwise."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # proto=IPPROTO_TCP: asyncio sets TCP_NODELAY on accepted sockets only when the
    # listening socket says TCP; without it every response waits ~40 ms for a delayed ACK.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(2048)
    except OSError as exc:
        sock.close()
        error = OSError(f"cannot listen on {_shown(host)}:{port}: {exc.strerror or exc}")
        error.errno = exc.errno
        raise error from None
    sock.set_inheritable(False)
    return sock


class _Workers:
    """The worker processes: started, restarted when one dies, stopped together."""

    def __init__(self, config: ServeConfig, signals: Signals) -> None:
        self.ctx = multiprocessing.get_context("spawn")
        self.config = config
        self.signals = signals
        self.procs: list[Any] = []
        self._stopping = threading.Event()
        self._monitor = threading.Thread(target=self._watch, name="runlife-workers", daemon=True)

    def _start(self, index: int) -> Any:
        c = self.config
        worker = WorkerConfig(
            store_url=c.store,
            executor=c.executor,
            index=index,
            parent_pid=os.getpid(),
            concurrency=c.concurrency,
            lease=c.lease,
            ttl=c.ttl,
            log_level=c.log_level,
            app_dir=str(Path(c.app_dir).resolve()),
        )
        proc = self.ctx.Process(
            target=worker_main,
            args=(worker, self.signals),
            name=f"runlife-worker-{index}",
            daemon=True,
        )
        proc.start()
        return proc

    def start(self) -> None:
        self.procs = [self._start(i) for i in range(self.config.workers)]
        self._monitor.start()

    def _watch(self) -> None:
        while not self._stopping.wait(1.0):
            for i, proc in enumerate(self.procs):
                if not proc.is_alive() and not self._stopping.is_set():
                    _log.warning("worker %d exited (code %s); starting it again", i, proc.exitcode)
                    self.procs[i] = self._start(i)

    def stop(self, timeout: float = 10.0) -> None:
        self._stopping.set()
        for proc in self.procs:
            if proc.is_alive():
                proc.terminate()  # SIGTERM: the worker finishes the runs in flight
        for proc in self.procs:
            proc.join(timeout)
        for proc in self.procs:
            if proc.is_alive():
                proc.kill()
                proc.join(2)


def serve(config: ServeConfig, *, ready: Callable[[str], None] | None = None) -> int:
    """Run the service until SIGTERM or SIGINT; the exit code (0).

    *ready* is called with the base URL (``http://host:port/v1``) once the socket listens
    and the workers are started.

    Raises:
        ValueError: a bad option (non-loopback host without an API key, a bad executor, a
            timeout or cap out of range); nothing is opened then.
        StoreURLError, StoreError: the store cannot be opened.
        OSError: the address cannot be bound (the message names it; nothing was opened).
    """
    import uvicorn  # noqa: PLC0415

    from runlife.store import open_store  # noqa: PLC0415

    if not is_loopback(config.host) and not config.api_key:
        raise ValueError(
            f"refusing to listen on {config.host} without an API key: anyone who can reach it "
            "could drive your runs. Give --api-key (or RUNLIFE_API_KEY), or use 127.0.0.1"
        )
    if config.workers < 0:
        raise ValueError(f"--workers: expected an int >= 0, got {config.workers}")
    limits = ConnectionLimits(
        max_connections=config.max_connections, header_timeout=config.header_timeout
    )
    positive("body_timeout", config.body_timeout)
    load_executor(config.executor, app_dir=config.app_dir)  # fail here, not in every worker
    # The address first: a port in use fails before the store is opened (or created).
    sock = _bind(config.host, config.port)
    try:
        store = open_store(
            config.store, engine=RunEngine(ttl=config.ttl), lease=config.lease, pool_size=16
        )
    except BaseException:
        sock.close()
        raise
    previous = {sig: signal.signal(sig, _raise_stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    signals = Signals.shared()
    workers = _Workers(config, signals)
    try:
        workers.start()
        app = create_app(
            store,
            api_key=config.api_key,
            default_model=config.default_model,
            poll_after_ms=config.poll_after_ms,
            poll_wait_ms=config.poll_wait_ms,
            poll_ms=config.poll_ms,
            max_body_bytes=config.max_body_bytes,
            signals=signals,
            body_timeout=config.body_timeout,
        )
        uv = uvicorn.Config(
            app,
            http=guarded_protocol(limits),
            ws="none",  # no WebSocket routes: an upgrade is a plain request (404)
            log_level=config.log_level,
            access_log=False,
            lifespan="off",
            timeout_graceful_shutdown=3,
            server_header=False,
        )
        server = uvicorn.Server(uv)
        host, port = sock.getsockname()[:2]
        if ready is not None:
            ready(f"http://{_shown(host)}:{port}/v1")
        with contextlib.suppress(_Stop):
            server.run(sockets=[sock])
    except _Stop:
        pass
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        workers.stop()
        store.close()
    return 0
