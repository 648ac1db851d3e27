"""Issue 15, case 2 on PostgreSQL: ``pg_ctl restart -m fast`` while workers are mid-write.

The restart is started by the executor itself, in the worker process, just before the
worker writes the step it returned: that write meets the fast shutdown (connections cut)
and the server down. Other runs are in flight at the same time. The outage (about a second)
is shorter than the lease (10 s), so nothing is lost: no run fails, every run completes.
"""

from __future__ import annotations

import pytest

from tests.faults.support import TOOLS, audit, in_threads, outputs_for
from tests.serve.conftest import within

RUNS = 12


@pytest.mark.parametrize("backend", ["postgresql"])
def test_restart_mid_write_loses_nothing(faulty, pg_restarts):
    service = faulty(delay_ms="50-300")
    server = service.start("--workers", "2", "--lease", "10")
    run_ids: list[str] = []

    def drive(i: int) -> None:
        client = server.client(max_retries=10)  # the SDK retries the 503s of the outage
        runs = client.beta.threads.runs
        thread_id = client.beta.threads.create().id
        metadata = {"fault": "pg_restart"} if i == 0 else {}
        run = runs.create(thread_id=thread_id, assistant_id="a", tools=TOOLS, metadata=metadata)
        run_ids.append(run.id)
        run = runs.poll(run.id, thread_id=thread_id, poll_interval_ms=20)
        assert run.status == "requires_action", (run.id, run.status, run.last_error)
        runs.update(run.id, thread_id=thread_id, metadata={})  # the next turn restarts nothing
        run = runs.submit_tool_outputs_and_poll(
            thread_id=thread_id, run_id=run.id, tool_outputs=outputs_for(run), poll_interval_ms=20
        )
        assert run.status == "completed", (run.id, run.status, run.last_error)
        client.close()

    within(60, in_threads, RUNS, drive, 55)
    report = audit(service.store, service.record, run_ids)
    assert report["problems"] == []
    assert report["statuses"] == {"completed": RUNS}
    log = service.stderr()
    assert "retrying in" in log  # the worker's write did meet the outage, and was retried
    retried = sum("retrying in" in line for line in log.splitlines())
    print(f"pg restart mid-write: {RUNS} runs completed, none failed; {retried} retries logged")
