"""What the fault tests check of a store after the fact: chains, outcomes, issued calls."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from runlife.store import open_store
from tests.faults.executor import issued

TOOLS: list[Any] = [{"type": "function", "function": {"name": "lookup"}}]


def outputs_for(run: Any) -> list[dict[str, str]]:
    calls = run.required_action.submit_tool_outputs.tool_calls
    return [{"tool_call_id": call.id, "output": "ok"} for call in calls]


def audit(store_url: str, record: Path, run_ids: list[str]) -> dict[str, Any]:
    """Every run's stored history, checked: the chain (each row's version one more than the
    previous, from 0), each tool call issued once (the executor's record and the history
    agree, no call id twice), and the outcomes by status. Problems are listed, not raised."""
    problems: list[str] = []
    statuses: Counter[str] = Counter()
    failed: dict[str, str] = {}
    metadata_rows = 0
    by_run: dict[str, list[list[str]]] = {}
    for entry in issued(record):
        by_run.setdefault(entry["run"], []).append(entry["calls"])
    with open_store(store_url, create=False) as store:
        for run_id in run_ids:
            run = store.get(run_id)
            statuses[str(run.status)] += 1
            rows = store.events_since(run_id)
            versions = [row.version for row in rows]
            if versions != list(range(len(rows))):
                problems.append(f"{run_id}: history versions {versions}")
            metadata_rows += sum(row.kind == "metadata" for row in rows)
            stored_calls: list[str] = []
            for move in store.history(run_id):
                if move.trigger == "require_action":
                    stored_calls += [call["id"] for call in move.args["tool_calls"]]
            if len(set(stored_calls)) != len(stored_calls):
                problems.append(f"{run_id}: a tool call id twice in its history {stored_calls}")
            turns = by_run.get(run_id, [])
            if len(turns) > 1:
                problems.append(f"{run_id}: tool calls issued {len(turns)} times: {turns}")
            if stored_calls and [stored_calls] != turns:
                problems.append(f"{run_id}: stored calls {stored_calls}, issued {turns}")
            if run.status == "failed" and run.last_error is not None:
                failed[run_id] = run.last_error.message
    return {
        "statuses": statuses,
        "failed": failed,
        "problems": problems,
        "metadata_rows": metadata_rows,
        "issued": sum(len(t) for t in by_run.values()),
    }


def in_threads(count: int, work: Callable[[int], None], seconds: float) -> None:
    """*work(i)* for i in range(*count*), each in a thread; re-raise the first error."""
    errors: list[BaseException] = []

    def body(i: int) -> None:
        try:
            work(i)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=body, args=(i,), daemon=True) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(seconds)
    assert not any(t.is_alive() for t in threads), f"threads still running after {seconds} s"
    if errors:
        raise errors[0]
