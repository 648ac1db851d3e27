"""Issue 15, case 1 through ``runlife serve``: metadata hammered by several SDK clients while
a run is claimed, waits for tool outputs and is given them. ``submit_tool_outputs`` never
answers 409, every acknowledged metadata update is stored, every run completes.

(On 5e7d6bc, 2 of 30 rounds answered 409 on SQLite and 5 of 30 on PostgreSQL.)
"""

from __future__ import annotations

import threading
import time

import openai

from tests.faults.support import TOOLS, audit, in_threads, outputs_for
from tests.serve.conftest import within

ROUNDS = 30
CLIENTS = 5  # each drives ROUNDS / CLIENTS runs, one after another
HAMMERS = 3


def test_submit_never_409_while_metadata_is_hammered(faulty):  # noqa: PLR0915 - one scenario, in order
    service = faulty(delay_ms="20-60")
    server = service.start("--workers", "2")
    active: set[tuple[str, str]] = set()  # (thread_id, run_id) of the runs being driven
    lock = threading.Lock()
    done = threading.Event()
    acknowledged = [0] * HAMMERS
    conflicts: list[str] = []
    run_ids: list[str] = []

    def hammer(i: int) -> None:
        client = server.client()
        n = 0
        while not done.is_set():
            with lock:
                targets = sorted(active)
            if not targets:
                time.sleep(0.001)
                continue
            for thread_id, run_id in targets:
                n += 1
                try:
                    client.beta.threads.runs.update(
                        run_id, thread_id=thread_id, metadata={"hammer": str(i), "n": str(n)}
                    )
                except openai.ConflictError as exc:
                    conflicts.append(f"update {run_id}: {exc}")
                    continue
                acknowledged[i] += 1
        client.close()

    def drive(i: int) -> None:
        client = server.client()
        runs = client.beta.threads.runs
        thread_id = client.beta.threads.create().id
        for _ in range(ROUNDS // CLIENTS):
            run = runs.create(thread_id=thread_id, assistant_id="a", tools=TOOLS)
            with lock:
                active.add((thread_id, run.id))
                run_ids.append(run.id)
            run = runs.poll(run.id, thread_id=thread_id, poll_interval_ms=10)
            assert run.status == "requires_action", run.status
            try:
                runs.submit_tool_outputs(
                    thread_id=thread_id, run_id=run.id, tool_outputs=outputs_for(run)
                )
            except openai.ConflictError as exc:
                conflicts.append(f"submit {run.id}: {exc}")
            run = runs.poll(run.id, thread_id=thread_id, poll_interval_ms=10)
            assert run.status == "completed", run.status
            with lock:
                active.discard((thread_id, run.id))
        client.close()

    hammers = [threading.Thread(target=hammer, args=(i,), daemon=True) for i in range(HAMMERS)]
    for t in hammers:
        t.start()
    try:
        within(90, in_threads, CLIENTS, drive, 85)
    finally:
        done.set()
        for t in hammers:
            t.join(20)
    assert conflicts == []
    report = audit(service.store, service.record, run_ids)
    assert report["problems"] == []
    assert report["statuses"] == {"completed": ROUNDS}
    assert report["metadata_rows"] == sum(acknowledged)  # every acknowledged update is stored
    assert sum(acknowledged) > ROUNDS
    print(
        f"contention ({service.backend}): {ROUNDS} runs completed, {sum(acknowledged)} metadata "
        f"updates by {HAMMERS} clients, 0 answers 409"
    )
