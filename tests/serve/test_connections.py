"""Slow, idle and too many connections against a real ``runlife serve`` process, raw sockets.

Small ``--header-timeout``/``--body-timeout``/``--max-connections`` make each case short;
every wait is bounded by a socket timeout well above them (a watchdog, not a speed check).
The connection layer is the same for every store, so these run on SQLite only.
"""

from __future__ import annotations

import contextlib
import json
import socket
import time
from collections.abc import Iterator
from typing import Any

import pytest
from tests.serve.conftest import KEY, Server

#: How long any one wait may take before the test fails (far above every timeout used).
WATCHDOG = 20.0
AUTH = f"Authorization: Bearer {KEY}\r\n"


def connect(server: Server) -> socket.socket:
    host, port = server.url.removeprefix("http://").removesuffix("/v1").rsplit(":", 1)
    sock = socket.create_connection((host, int(port)), timeout=WATCHDOG)
    sock.settimeout(WATCHDOG)
    return sock


def read_to_end(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection (fails past the watchdog)."""
    data = b""
    while True:
        try:
            chunk = sock.recv(65536)
        except ConnectionResetError:
            return data
        except TimeoutError:
            pytest.fail(f"the server did not close the connection within {WATCHDOG} s: {data!r}")
        if not chunk:
            return data
        data += chunk


def read_answer(sock: socket.socket) -> bytes:
    """One whole answer (its head and ``content-length`` bytes of body), the connection left open."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        assert chunk, f"closed mid-answer: {data!r}"
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = int(parse_head(head)[1]["content-length"])
    while len(body) < length:
        chunk = sock.recv(65536)
        assert chunk, f"closed mid-body: {data!r}"
        body += chunk
    return head + b"\r\n\r\n" + body


def parse_head(head: bytes) -> tuple[int, dict[str, str]]:
    """The status and headers (lower-case names) of an answer's head."""
    lines = head.decode().split("\r\n")
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return int(lines[0].split()[1]), headers


def parse(answer: bytes) -> tuple[int, dict[str, str], Any]:
    """The status, headers (lower-case names) and JSON body of one HTTP answer."""
    head, _, body = answer.partition(b"\r\n\r\n")
    status, headers = parse_head(head)
    return status, headers, json.loads(body)


def assert_api_error(body: Any) -> None:
    assert set(body) == {"error"}
    assert set(body["error"]) == {"message", "type", "param", "code"}


@pytest.fixture(name="sockets")
def _sockets() -> Iterator[list[socket.socket]]:
    opened: list[socket.socket] = []
    yield opened
    for sock in opened:
        with contextlib.suppress(OSError):
            sock.close()


def test_an_idle_connection_is_closed_after_the_header_timeout(start_server, sockets):
    """Sending nothing: closed with no answer, the API key notwithstanding."""
    server = start_server("sqlite", "--workers", "1", "--api-key", KEY, "--header-timeout", "0.5")
    sockets.append(sock := connect(server))
    assert read_to_end(sock) == b""


def test_half_headers_are_closed_after_the_header_timeout(start_server, sockets):
    server = start_server("sqlite", "--workers", "1", "--api-key", KEY, "--header-timeout", "0.5")
    sockets.append(sock := connect(server))
    sock.sendall(b"POST /v1/threads HTTP/1.1\r\nHost: x\r\n" + AUTH.encode())
    assert read_to_end(sock) == b""


def test_headers_trickled_byte_by_byte_are_closed_at_the_deadline(start_server, sockets):
    """Each byte would reset a keep-alive timer; the header deadline is not reset by any."""
    server = start_server("sqlite", "--workers", "1", "--header-timeout", "1")
    sockets.append(sock := connect(server))
    request = b"GET /v1/threads/thread_1 HTTP/1.1\r\nHost: x\r\nX-Padding: " + b"a" * 400
    sent = 0
    start = time.monotonic()
    with contextlib.suppress(BrokenPipeError, ConnectionResetError):
        while time.monotonic() - start < WATCHDOG and sent < len(request):
            sock.sendall(request[sent : sent + 1])
            sent += 1
            time.sleep(0.02)
    assert sent < len(request), "the whole trickle was accepted: no header deadline"
    assert read_to_end(sock) == b""


def test_a_partial_body_gets_a_408_and_is_closed(start_server, sockets):
    server = start_server("sqlite", "--workers", "1", "--api-key", KEY, "--body-timeout", "0.5")
    sockets.append(sock := connect(server))
    sock.sendall(
        b"POST /v1/threads/thread_1/runs HTTP/1.1\r\nHost: x\r\n"
        + AUTH.encode()
        + b"Content-Type: application/json\r\nContent-Length: 40\r\n\r\n"
        + b'{"assistant_id": '
    )
    status, headers, body = parse(read_to_end(sock))
    assert status == 408
    assert headers["connection"] == "close"
    assert headers["x-request-id"].startswith("req_")
    assert_api_error(body)
    assert body["error"]["code"] == "request_timeout"
    client = server.client()
    try:
        assert list(client.beta.threads.runs.list(thread_id="thread_1")) == []  # nothing made
    finally:
        client.close()


def test_a_kept_alive_connection_serves_request_after_request(start_server, sockets):
    """The deadline is per request: a connection that keeps sending whole requests lives on."""
    server = start_server("sqlite", "--workers", "1", "--header-timeout", "1")
    sockets.append(sock := connect(server))
    for _ in range(3):
        sock.sendall(b"GET /v1/threads/none HTTP/1.1\r\nHost: x\r\n\r\n")
        status, _, body = parse(read_answer(sock))
        assert status == 404
        assert_api_error(body)
        time.sleep(0.4)  # 1.2 s in all: past one header timeout, within each
    assert read_to_end(sock) == b""  # then idle: closed


def test_connections_beyond_the_cap_get_a_503_and_the_cap_frees_up(start_server, sockets):
    """300 idle connections on a cap of 20: the 20 are held (until the header timeout), the
    rest answered 503 at once and closed; once the 20 are gone, a client is served."""
    server = start_server(
        "sqlite",
        *("--workers", "1", "--api-key", KEY),
        *("--max-connections", "20", "--header-timeout", "3"),
    )
    held = [connect(server) for _ in range(20)]
    sockets.extend(held)
    time.sleep(0.3)  # let the server accept them (no request is sent on them)
    refused = [connect(server) for _ in range(280)]
    sockets.extend(refused)
    for sock in refused:
        status, headers, body = parse(read_to_end(sock))
        assert (status, headers["connection"], headers["retry-after"]) == (503, "close", "1")
        assert_api_error(body)
        assert body["error"]["type"] == "server_error"
    # The held ones were not refused: each still answers a whole request.
    held[0].sendall(
        b"GET /v1/threads/none HTTP/1.1\r\nHost: x\r\n"
        + AUTH.encode()
        + b"Connection: close\r\n\r\n"
    )
    assert read_to_end(held[0]).startswith(b"HTTP/1.1 404 ")
    for sock in held[1:]:
        assert read_to_end(sock) == b""  # closed by the header timeout
    client = server.client()
    try:
        assert client.beta.threads.create().id.startswith("thread_")
    finally:
        client.close()


def test_a_websocket_upgrade_is_a_plain_request(start_server, sockets):
    """No WebSocket routes: an upgrade is answered as any request (404), and the header
    deadline still ends the connection afterwards."""
    server = start_server("sqlite", "--workers", "1", "--header-timeout", "0.5")
    sockets.append(sock := connect(server))
    sock.sendall(
        b"GET /v1/threads/none HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\n"
        b"Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\n"
        b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"
    )
    status, _, body = parse(read_to_end(sock))
    assert status == 404
    assert_api_error(body)
