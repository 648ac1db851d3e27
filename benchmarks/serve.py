"""Benchmark of ``runlife serve`` driven by the official SDK, on SQLite and PostgreSQL.

    eval "$(scripts/pg-test-server.sh start)"     # optional: adds the PostgreSQL rows
    python benchmarks/serve.py                     # --help for the options

For 1, 2 and 4 workers per backend, a fresh ``runlife serve`` subprocess (demo executor)
on loopback, and:

1. **poll**: one client, sequential round trips ``create_and_poll`` -> requires_action ->
   ``submit_tool_outputs_and_poll`` -> completed (SDK defaults: the server's
   ``openai-poll-after-ms`` header and its waiting retrieve); p50/p99 in ms;
2. **stream**: the same round trip with ``runs.stream`` + ``submit_tool_outputs_stream``;
   **raw stream**: the same streams read as raw Server-Sent Events (the SDK's
   ``with_streaming_response``, no event parsing): the server's side of a stream, without
   the SDK's handling of each event (its step events included);
3. **load**: *clients* threads each doing round trips by polling, for *seconds*: round trips
   per second and p50/p99.

Then **runlife's share**: the store operations one round trip costs (create, claim, the
worker's move, submit, claim, move, and the reads a poll makes), run in-process on the same
backend with no HTTP, against the HTTP round trip's p50.

Each figure is the median of ``--repeats`` runs (a fresh server and store each). With
``--against DIR`` (a checkout of another commit, e.g. ``git worktree add /tmp/base REV``),
each repeat runs that checkout's ``runlife serve`` (``PYTHONPATH=DIR/src``) and this one's in
turn, and a last table gives this one's figures as ratios of that named baseline:

    git worktree add /tmp/base f918ddc
    python benchmarks/serve.py --workers 2 --repeats 5 --against /tmp/base
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
import warnings
from pathlib import Path
from typing import Any

warnings.filterwarnings("ignore", category=DeprecationWarning)

TOOLS: list[Any] = [{"type": "function", "function": {"name": "lookup"}}]


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))] * 1000


@contextlib.contextmanager
def server(url: str, workers: int, source: str | None = None) -> Any:
    """A ``runlife serve`` subprocess; *source*: a checkout whose ``src`` it runs instead."""
    env = dict(os.environ)
    if source is not None:
        env["PYTHONPATH"] = os.pathsep.join(
            [str(Path(source) / "src"), *filter(None, [env.get("PYTHONPATH")])]
        )
    proc = subprocess.Popen(
        [
            *(sys.executable, "-m", "runlife.serve", "--store", url, "--port", "0"),
            *("--workers", str(workers), "--concurrency", "8"),
        ],
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
        env=env,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        if "listening on" not in line:
            raise RuntimeError(f"server did not start: {line!r}")
        time.sleep(1.5)  # the workers import and open the store
        yield line.rsplit(" ", 1)[1].strip()
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()


def client_for(base: str) -> Any:
    from openai import OpenAI

    return OpenAI(base_url=base, api_key="x", max_retries=0, timeout=30)


def outputs(run: Any) -> list[dict[str, str]]:
    return [
        {"tool_call_id": c.id, "output": "ok"}
        for c in run.required_action.submit_tool_outputs.tool_calls
    ]


def poll_trip(client: Any, thread_id: str) -> float:
    runs = client.beta.threads.runs
    t0 = time.perf_counter()
    run = runs.create_and_poll(thread_id=thread_id, assistant_id="a", tools=TOOLS)
    run = runs.submit_tool_outputs_and_poll(
        thread_id=thread_id, run_id=run.id, tool_outputs=outputs(run)
    )
    assert run.status == "completed", run.status
    return time.perf_counter() - t0


def stream_trip(client: Any, thread_id: str) -> float:
    runs = client.beta.threads.runs
    t0 = time.perf_counter()
    with runs.stream(thread_id=thread_id, assistant_id="a", tools=TOOLS) as stream:
        stream.until_done()
        run = stream.get_final_run()
    with runs.submit_tool_outputs_stream(
        thread_id=thread_id, run_id=run.id, tool_outputs=outputs(run)
    ) as stream:
        stream.until_done()
        done = stream.get_final_run()
    assert done.status == "completed", done.status
    return time.perf_counter() - t0


def last_run(response: Any) -> dict[str, Any]:
    """The last run event's run of a raw event stream, read to its end (only it is parsed)."""
    of_run, last = False, ""
    for line in response.iter_lines():
        if line.startswith("event: "):
            name = line.removeprefix("event: ")
            of_run = name.startswith("thread.run.") and not name.startswith("thread.run.step.")
        elif line.startswith("data: ") and of_run:
            last = line.removeprefix("data: ")
    run: dict[str, Any] = json.loads(last)
    return run


def raw_stream_trip(client: Any, thread_id: str) -> float:
    """``stream_trip``'s round trip, its streams read as raw Server-Sent Events."""
    raw = client.beta.threads.runs.with_streaming_response
    t0 = time.perf_counter()
    with raw.create(thread_id=thread_id, assistant_id="a", tools=TOOLS, stream=True) as response:
        run = last_run(response)
    calls = run["required_action"]["submit_tool_outputs"]["tool_calls"]
    with raw.submit_tool_outputs(
        run_id=run["id"],
        thread_id=thread_id,
        tool_outputs=[{"tool_call_id": c["id"], "output": "ok"} for c in calls],
        stream=True,
    ) as response:
        done = last_run(response)
    assert done["status"] == "completed", done["status"]
    return time.perf_counter() - t0


def sequential(base: str, trip: Any, n: int) -> list[float]:
    client = client_for(base)
    try:
        thread_id = client.beta.threads.create().id
        trip(client, thread_id)  # warm up
        return [trip(client, thread_id) for _ in range(n)]
    finally:
        client.close()


def load(base: str, clients: int, seconds: float) -> tuple[float, list[float]]:
    times: list[float] = []
    lock = threading.Lock()
    stop = time.perf_counter() + seconds

    def work() -> None:
        client = client_for(base)
        try:
            thread_id = client.beta.threads.create().id
            while True:  # at least one round trip per client
                took = poll_trip(client, thread_id)
                with lock:
                    times.append(took)
                if time.perf_counter() >= stop:
                    break
        finally:
            client.close()

    threads = [threading.Thread(target=work) for _ in range(clients)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return len(times) / (time.perf_counter() - t0), times


def runlife_share(url: str, n: int) -> float:
    """Seconds of store work per round trip, in-process (no HTTP, no waiting)."""
    from runlife.store import open_store

    store = open_store(url)
    try:
        took = []
        for i in range(n):
            t0 = time.perf_counter()
            run = store.create(
                assistant_id="a",
                thread_id=f"bench_{uuid.uuid4().hex[:8]}_{i}",
                model="m",
                tools=TOOLS,
            )
            store.get(run.id)  # the poll's first retrieve
            [claimed] = store.claim(1, worker="w")
            store.tool_outputs(run.id)
            with store.move(run.id, worker="w") as r:
                r.require_action(
                    [
                        {
                            "id": "c1",
                            "type": "function",
                            "function": {"name": "lookup", "arguments": "{}"},
                        }
                    ]
                )
            store.version(run.id)  # the waiting retrieve's look
            store.get(run.id)
            with store.move(run.id) as r:
                r.submit_tool_outputs([{"tool_call_id": "c1", "output": "ok"}])
            store.get(run.id)
            [claimed] = store.claim(1, worker="w")
            store.tool_outputs(run.id)
            with store.move(claimed.id, worker="w") as r:
                r.complete({"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2})
            store.get(run.id)
            took.append(time.perf_counter() - t0)
        return statistics.median(took)
    finally:
        store.close()


@contextlib.contextmanager
def fresh_store(backend: str, directory: str) -> Any:
    if backend == "sqlite":
        yield f"sqlite:///{directory}/bench-{uuid.uuid4().hex[:6]}.db"
        return
    import psycopg

    base = os.environ["RUNLIFE_TEST_POSTGRES_URL"]
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    try:
        yield f"{base}{'&' if '?' in base else '?'}options=-csearch_path%3D{schema}"
    finally:
        with psycopg.connect(base, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")


#: The figures of one measurement, in the order of the tables' columns.
FIGURES = (
    "poll p50",
    "poll p99",
    "stream p50",
    "stream p99",
    "raw stream p50",
    "raw stream p99",
    "load trips/s",
    "load p50",
    "load p99",
)


def measure(url: str, workers: int, args: argparse.Namespace, source: str | None) -> list[float]:
    """One fresh server on *url*: the FIGURES (ms, and trips per second)."""
    with server(url, workers, source) as base:
        polled = sequential(base, poll_trip, args.trips)
        streamed = sequential(base, stream_trip, args.trips)
        raw = sequential(base, raw_stream_trip, args.trips)
        rate, loaded = load(base, args.clients, args.seconds)
    return [
        pct(polled, 0.5),
        pct(polled, 0.99),
        pct(streamed, 0.5),
        pct(streamed, 0.99),
        pct(raw, 0.5),
        pct(raw, 0.99),
        rate,
        pct(loaded, 0.5),
        pct(loaded, 0.99),
    ]


def revision(source: str) -> str:
    """*source*'s commit (short hash), or its path when it is not a git checkout."""
    done = subprocess.run(
        ["git", "-C", source, "rev-parse", "--short", "HEAD"],
        capture_output=True,
        text=True,
        check=False,
    )
    return done.stdout.strip() or source


def row(backend: str, workers: int, name: str, figures: list[float]) -> str:
    p50, p99, s50, s99, r50, r99, rate, l50, l99 = figures
    return (
        f"| {backend} | {workers} | {name} | {p50:.1f} / {p99:.1f} | {s50:.1f} / {s99:.1f} "
        f"| {r50:.1f} / {r99:.1f} | {rate:.0f} | {l50:.1f} / {l99:.1f} |"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trips", type=int, default=60, help="sequential round trips (60)")
    parser.add_argument("--clients", type=int, default=8, help="load clients (8)")
    parser.add_argument("--seconds", type=float, default=5.0, help="load duration (5)")
    parser.add_argument("--workers", default="1,2,4", help="worker counts (1,2,4)")
    parser.add_argument("--repeats", type=int, default=3, help="runs per figure, medians (3)")
    parser.add_argument(
        "--against", metavar="DIR", help="a checkout to compare with (its src is run)"
    )
    parser.add_argument(
        "--backends", default="sqlite,postgresql", help="sqlite,postgresql (PG if its URL is set)"
    )
    args = parser.parse_args()
    backends = [
        b
        for b in args.backends.split(",")
        if b == "sqlite" or (b == "postgresql" and os.environ.get("RUNLIFE_TEST_POSTGRES_URL"))
    ]
    this = revision(str(Path(__file__).parents[1]))
    baseline = revision(args.against) if args.against else None
    sides: list[tuple[str, str | None]] = [(f"this ({this})", None)]
    if args.against:
        sides.insert(0, (f"baseline ({baseline})", args.against))
    print(
        f"Medians of {args.repeats} runs; poll and stream: {args.trips} sequential round trips; "
        f"load: {args.clients} clients for {args.seconds:g} s."
    )
    print()
    print(
        "| backend | workers | serve | poll p50 / p99 ms | stream p50 / p99 ms | "
        f"raw stream p50 / p99 ms | load ({args.clients} clients) trips/s | load p50 / p99 ms |"
    )
    print("|---|---|---|---|---|---|---|---|")
    shares: dict[str, float] = {}
    p50s: dict[str, float] = {}
    ratios: list[tuple[str, int, list[float]]] = []
    with tempfile.TemporaryDirectory() as directory:
        for backend in backends:
            for workers in (int(w) for w in args.workers.split(",")):
                runs: dict[str, list[list[float]]] = {name: [] for name, _ in sides}
                for i in range(args.repeats):
                    # Alternate which side goes first, so that drift favours neither.
                    for name, source in sides if i % 2 == 0 else sides[::-1]:
                        with fresh_store(backend, directory) as url:
                            runs[name].append(measure(url, workers, args, source))
                medians = {
                    name: [statistics.median(col) for col in zip(*figures, strict=True)]
                    for name, figures in runs.items()
                }
                for name, _ in sides:
                    print(row(backend, workers, name, medians[name]), flush=True)
                mine = medians[sides[-1][0]]
                p50s.setdefault(backend, mine[0] / 1000)
                if args.against:
                    base = medians[sides[0][0]]
                    ratios.append(
                        (backend, workers, [m / b for m, b in zip(mine, base, strict=True)])
                    )
            with fresh_store(backend, directory) as url:
                shares[backend] = runlife_share(url, args.trips)
    if ratios:
        print()
        print(
            f"this ({this}) / baseline ({baseline}): below 1 is faster for times, above 1 for trips/s"
        )
        print()
        print("| backend | workers | " + " | ".join(FIGURES) + " |")
        print("|---|---|" + "---|" * len(FIGURES))
        for backend, workers, values in ratios:
            print(f"| {backend} | {workers} | " + " | ".join(f"{v:.2f}" for v in values) + " |")
    print()
    print(
        "| backend | store work per round trip (in-process) | poll round trip p50 (first worker count) "
        "| share |"
    )
    print("|---|---|---|---|")
    for backend, share in shares.items():
        print(
            f"| {backend} | {share * 1000:.2f} ms | {p50s[backend] * 1000:.1f} ms "
            f"| {share / p50s[backend]:.0%} |"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
