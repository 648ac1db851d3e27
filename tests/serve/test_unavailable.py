"""A PostgreSQL store that becomes unreachable: every request is a generic 503, nothing leaks.

The store talks to the real test server through a TCP relay of the test's own; stopping the
relay cuts the pooled connections and refuses new ones, as a stopped server or a broken
network would. The answers must say only that the store is unavailable: not its URL, host
or port, not the driver's message, not a table or a statement. The log has the cause.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
import urllib.parse
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.serve.asgi import request
from tests.serve.conftest import postgres_url, store_url
from tests.serve.leaks import leaks

import runlife
from runlife.serve import create_app
from runlife.store import open_store

UNAVAILABLE = {
    "error": {
        "message": "The run store is unavailable; try again later.",
        "type": "server_error",
        "param": None,
        "code": None,
    }
}


class Relay:
    """A TCP relay from a free loopback port to *upstream*; ``stop()`` cuts everything."""

    def __init__(self, upstream: tuple[str, int]) -> None:
        self.upstream = upstream
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self.listener.getsockname()[1]
        self.open: list[socket.socket] = []
        self.lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return  # stopped
            server = socket.create_connection(self.upstream)
            with self.lock:
                self.open += [client, server]
            for a, b in ((client, server), (server, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(src: socket.socket, dst: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while chunk := src.recv(65536):
                dst.sendall(chunk)
        with contextlib.suppress(OSError):
            dst.shutdown(socket.SHUT_WR)

    def stop(self) -> None:
        with contextlib.suppress(OSError):
            self.listener.shutdown(socket.SHUT_RDWR)  # wakes the accept (close alone may not)
        self.listener.close()
        with self.lock:
            for sock in self.open:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                sock.close()


@pytest.fixture(name="relayed")
def _relayed(tmp_path: Path) -> Iterator[tuple[str, Relay]]:
    """A fresh PostgreSQL store's URL through a relay, and the relay."""
    base = urllib.parse.urlsplit(postgres_url())
    with store_url("postgresql", tmp_path) as url:
        assert base.hostname is not None
        assert base.port is not None
        relay = Relay((base.hostname, base.port))
        try:
            yield url.replace(f"{base.hostname}:{base.port}", f"127.0.0.1:{relay.port}"), relay
        finally:
            relay.stop()


def test_an_unreachable_store_is_a_generic_503(relayed, caplog):
    url, relay = relayed
    store = open_store(url, engine=runlife.RunEngine(), pool_size=2)
    try:
        app = create_app(store, poll_wait_ms=0)
        created = request(
            app, "POST", "/v1/threads/thread_1/runs", chunks=(b'{"assistant_id": "a"}',)
        )
        assert created.status == 200, created.body
        run_id = created.json()["id"]
        relay.stop()
        attempts = [
            ("POST", "/v1/threads/thread_2/runs", b'{"assistant_id": "a"}'),
            ("POST", "/v1/threads/runs", b'{"assistant_id": "a"}'),
            ("GET", f"/v1/threads/thread_1/runs/{run_id}", b""),
            ("GET", "/v1/threads/thread_1/runs?limit=5", b""),
            ("GET", "/v1/threads/thread_1", b""),
            ("POST", f"/v1/threads/thread_1/runs/{run_id}", b'{"metadata": {"k": "v"}}'),
            ("POST", f"/v1/threads/thread_1/runs/{run_id}/cancel", b""),
            ("GET", f"/v1/threads/thread_1/runs/{run_id}/steps", b""),
            ("GET", f"/v1/threads/thread_1/runs/{run_id}/steps/step_1", b""),
        ]
        with caplog.at_level(logging.ERROR, logger="runlife.serve"):
            for method, path, body in attempts:
                answer = request(app, method, path, chunks=(body,))
                assert answer.status == 503, (method, path, answer.status, answer.body)
                assert answer.json() == UNAVAILABLE
                sent = method.encode() + path.encode() + body
                assert leaks(answer, url=url, sent=sent) == []
                assert "psycopg" not in answer.body.decode()
                assert str(relay.port) not in answer.body.decode()
        assert "store error" in caplog.text  # the cause is logged, not answered
    finally:
        with contextlib.suppress(Exception):
            store.close()
