"""``runlife serve`` as processes: many clients, a SIGKILL mid-load, restarts, shutdown, load."""

from __future__ import annotations

import signal
import statistics
import subprocess
import sys
import threading
import time
from typing import Any

import openai
from tests.serve.conftest import KEY, within

import runlife

TOOLS: list[Any] = [{"type": "function", "function": {"name": "lookup"}}]


def outputs_for(run: Any) -> list[dict[str, str]]:
    calls = run.required_action.submit_tool_outputs.tool_calls
    return [{"tool_call_id": call.id, "output": "ok"} for call in calls]


def round_trip(client: Any, thread_id: str) -> tuple[str, float]:
    """create_and_poll -> submit_tool_outputs_and_poll; the run's id and the seconds it took."""
    runs = client.beta.threads.runs
    start = time.perf_counter()
    run = runs.create_and_poll(thread_id=thread_id, assistant_id="a", tools=TOOLS)
    assert run.status == "requires_action", run
    run = runs.submit_tool_outputs_and_poll(
        thread_id=thread_id, run_id=run.id, tool_outputs=outputs_for(run)
    )
    assert run.status == "completed", run
    return run.id, time.perf_counter() - start


def run_clients(server: Any, clients: int, each: int) -> tuple[dict[str, list[str]], list[float]]:
    """*clients* threads, each on its own thread_id doing *each* round trips."""
    done: dict[str, list[str]] = {}
    times: list[float] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def work() -> None:
        client = server.client()
        try:
            thread_id = client.beta.threads.create().id
            ids = []
            for _ in range(each):
                run_id, took = round_trip(client, thread_id)
                ids.append(run_id)
                with lock:
                    times.append(took)
            with lock:
                done[thread_id] = ids
        except BaseException as exc:
            errors.append(exc)
        finally:
            client.close()

    threads = [threading.Thread(target=work) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(90)
    assert not any(t.is_alive() for t in threads), "clients still running after 90 s"
    if errors:
        raise errors[0]
    return done, times


def test_many_concurrent_clients(server, client):
    """Concurrent clients each complete their own runs; none is lost or mixed up."""
    done, _ = run_clients(server, clients=8, each=4)
    assert len(done) == 8
    for thread_id, ids in done.items():
        listed = [r.id for r in client.beta.threads.runs.list(thread_id=thread_id, order="asc")]
        assert sorted(listed) == sorted(ids)
        for run_id in ids:
            run = client.beta.threads.runs.retrieve(run_id, thread_id=thread_id)
            assert run.status == "completed"
            assert run.thread_id == thread_id


def test_bounded_load(server):
    """A bounded load on loopback: 16 clients x 6 round trips, all complete, p99 bounded."""
    start = time.perf_counter()
    done, times = run_clients(server, clients=16, each=6)
    wall = time.perf_counter() - start
    assert sum(len(ids) for ids in done.values()) == 96
    p50 = statistics.median(times)
    p99 = sorted(times)[int(0.99 * (len(times) - 1))]
    print(f"load: 96 round trips in {wall:.2f} s, p50 {p50 * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms")
    assert wall < 60
    assert p99 < 10


def _drive_to_end(client: Any, thread_id: str, run_id: str) -> str:
    """Poll *run_id* to a stop; answer tool calls; the final status."""
    runs = client.beta.threads.runs
    while True:
        run = runs.poll(run_id, thread_id=thread_id, poll_interval_ms=50)
        if run.status != "requires_action":
            return str(run.status)
        runs.submit_tool_outputs(thread_id=thread_id, run_id=run_id, tool_outputs=outputs_for(run))


def test_sigkill_mid_load_and_restart(backend, start_server):
    """SIGKILL of the whole server mid-load loses nothing: after a restart on the same store
    every run is there in a legal status, and the active ones finish."""
    first = start_server(backend, "--workers", "2", "--api-key", KEY, "--lease", "2")
    threads: list[str] = []
    created: list[str] = []  # every run the server said it created
    stop = threading.Event()

    def load() -> None:
        client = first.client(timeout=5.0)
        try:
            thread_id = client.beta.threads.create().id
            threads.append(thread_id)
            runs = client.beta.threads.runs
            while not stop.is_set():
                run = runs.create(
                    thread_id=thread_id,
                    assistant_id="a",
                    tools=TOOLS,
                    metadata={"demo_delay_ms": "200"},
                )
                created.append(run.id)
                run = runs.poll(run.id, thread_id=thread_id, poll_interval_ms=20)
                if run.status == "requires_action":
                    runs.submit_tool_outputs(
                        thread_id=thread_id, run_id=run.id, tool_outputs=outputs_for(run)
                    )
                    runs.poll(run.id, thread_id=thread_id, poll_interval_ms=20)
        except (openai.APIConnectionError, openai.APITimeoutError):
            pass  # the server was killed under us
        finally:
            client.close()

    clients = [threading.Thread(target=load) for _ in range(6)]
    for t in clients:
        t.start()
    # Kill mid-load: once the clients have runs in flight (waiting on what the server said,
    # not on a clock, holds on a loaded machine too), and a little later.
    deadline = time.monotonic() + 60
    while len(created) < 6:
        assert time.monotonic() < deadline, "the server created no runs"
        time.sleep(0.05)
    time.sleep(0.5)
    first.kill()  # SIGKILL to the process group: server and workers
    stop.set()
    for t in clients:
        t.join(30)
    assert not any(t.is_alive() for t in clients)

    second = start_server(
        backend, "--workers", "2", "--api-key", KEY, "--lease", "2", store=first.store
    )
    client = second.client()
    try:
        seen: dict[str, str] = {}
        for thread_id in threads:
            for run in client.beta.threads.runs.list(thread_id=thread_id, limit=100):
                assert runlife.check(run.model_dump(mode="json", exclude_unset=True)) == []
                seen[run.id] = thread_id
        assert created
        assert set(created) <= set(seen)  # none lost (and runs it never heard of may exist)
        active = [
            run_id
            for run_id, thread_id in seen.items()
            if client.beta.threads.runs.retrieve(run_id, thread_id=thread_id).status
            in runlife.ACTIVE
        ]
        for run_id in active:
            status = within(20, _drive_to_end, client, seen[run_id], run_id)
            assert status in {"completed", "failed", "cancelled", "expired"}
        for run_id, thread_id in seen.items():
            run = client.beta.threads.runs.retrieve(run_id, thread_id=thread_id)
            assert run.status not in runlife.ACTIVE
    finally:
        client.close()


def _group(pgid: int) -> list[str]:
    """The live (not zombie) processes of the process group *pgid*."""
    out = subprocess.run(
        ["ps", "-o", "pid=,stat=,args=", "-g", str(pgid)],
        capture_output=True,
        text=True,
        check=False,
    ).stdout
    return [line for line in out.splitlines() if line.split()[1:2] != ["Z"]]


def test_sigterm_stops_server_and_workers(start_server):
    """SIGTERM to the server alone ends it with code 0, and its workers end with it."""
    server = start_server("sqlite", "--workers", "2")
    proc = server.proc
    assert proc is not None
    assert len(_group(proc.pid)) >= 3  # the server and its two workers
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(15) == 0
    deadline = time.monotonic() + 10
    while _group(proc.pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _group(proc.pid) == []


def refused(*args: str) -> subprocess.CompletedProcess[str]:
    """``python -m runlife.serve`` with *args*, which must refuse to start (exit 2)."""
    done = subprocess.run(
        [sys.executable, "-m", "runlife.serve", *args],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 2, done.stderr
    return done


def test_refuses_a_public_address_without_a_key(tmp_path):
    """Listening beyond loopback needs an API key: exit 2, nothing started."""
    store = f"sqlite:///{tmp_path}/r.db"
    done = refused("--store", store, "--host", "0.0.0.0", "--port", "0")  # noqa: S104
    assert "refusing to listen on 0.0.0.0 without an API key" in done.stderr


def test_refuses_zero_workers(tmp_path):
    """``--workers 0`` would leave every run queued until it expired: exit 2, nothing started."""
    done = refused("--store", f"sqlite:///{tmp_path}/r.db", "--port", "0", "--workers", "0")
    assert "0 workers would leave every run queued" in done.stderr
    assert "runlife.serve.Worker" in done.stderr
    assert not (tmp_path / "r.db").exists()
