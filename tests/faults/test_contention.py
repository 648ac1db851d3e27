"""Issue 15, case 1 through ``runlife serve``: metadata hammered by several SDK clients while
a run is claimed, waits for tool outputs and is given them. The hammering clients talk to
a second ``runlife serve`` on the same store (as on another machine), so their updates race
the submit from another process. ``submit_tool_outputs`` never
answers 409, every acknowledged metadata update is stored, every run completes.

(On 5e7d6bc, 2 of 30 rounds answered 409 on SQLite and 5 of 30 on PostgreSQL.)
"""

from __future__ import annotations

import threading

import openai

from tests.faults.support import TOOLS, audit, outputs_for
from tests.serve.conftest import within

ROUNDS = 30
HAMMERS = 8


def test_submit_never_409_while_metadata_is_hammered(faulty):  # noqa: PLR0915 - one scenario, in order
    service = faulty(delay_ms="20-60")
    server = service.start("--workers", "2")
    other = service.start_another("--workers", "1")
    target: list[tuple[str, str]] = []  # the run of the round: every hammer updates it
    done = threading.Event()
    acknowledged = [0] * HAMMERS
    conflicts: list[str] = []
    run_ids: list[str] = []

    def hammer(i: int) -> None:
        client = (other if i % 2 == 0 else server).client()
        n = 0
        while not done.is_set():
            if not target:
                done.wait(0.001)
                continue
            thread_id, run_id = target[-1]
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

    def rounds() -> None:
        client = server.client()
        runs = client.beta.threads.runs
        for k in range(ROUNDS):
            thread_id = f"thread_round_{k}"
            run = runs.create(thread_id=thread_id, assistant_id="a", tools=TOOLS)
            target.append((thread_id, run.id))
            run_ids.append(run.id)
            run = runs.poll(run.id, thread_id=thread_id, poll_interval_ms=5)
            assert run.status == "requires_action", run.status
            try:
                runs.submit_tool_outputs(
                    thread_id=thread_id, run_id=run.id, tool_outputs=outputs_for(run)
                )
            except openai.ConflictError as exc:
                conflicts.append(f"submit {run.id}: {exc}")
            run = runs.poll(run.id, thread_id=thread_id, poll_interval_ms=5)
            assert run.status == "completed", run.status
        client.close()

    hammers = [threading.Thread(target=hammer, args=(i,), daemon=True) for i in range(HAMMERS)]
    for t in hammers:
        t.start()
    try:
        within(90, rounds)
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
        f"updates by {HAMMERS} clients of 2 servers on the run of each round, 0 answers 409"
    )
