"""Generate ``rows.json``: a schema-version-1 store's rows, written by the v1 code itself.

Run with runlife at commit 5e7d6bc (schema version 1, the last before version 2):
``git worktree add /tmp/v1 5e7d6bc && PYTHONPATH=/tmp/v1/src python
tests/data/store-v1/generate.py``. It fills a SQLite store through the v1 ``Store``
(creations in one second with random ids, claims, tool rounds, metadata updates, cancels,
failures, expiries) and writes every row of ``runlife_runs`` and ``runlife_events`` in
insertion (rowid) order, as v1 stored them. ``tests/store/test_upgrade.py`` loads the rows
into the v1 DDL on each backend and upgrades them.
"""

from __future__ import annotations

import json
import sqlite3
import sys
import tempfile
from pathlib import Path

from runlife import ManualClock, RunEngine
from runlife.store import SCHEMA_VERSION, open_store

T0 = 1_700_000_000
TOOLS = [{"type": "function", "function": {"name": "lookup", "parameters": {}}}]


def main() -> None:
    """Fill a v1 store and write its rows next to this file."""
    version: int = SCHEMA_VERSION  # a plain int: the check is for another runlife's value
    if version != 1:
        sys.exit(f"run this with runlife at schema version 1 (found {version})")
    clock = ManualClock(T0)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "v1.db"
        store = open_store(f"sqlite:///{path}", engine=RunEngine(clock=clock))
        ids = []
        for i in range(12):  # twelve runs created in one second, random ids
            run = store.create(
                assistant_id="asst_1",
                thread_id=f"thread_{i % 3}" if i < 3 else f"thread_q{i}",
                model="gpt-4o",
                tools=TOOLS,
                metadata={"index": str(i)},
            )
            ids.append(run.id)
        # Threads 0..2: runs 0..2 work through their lives; the others stay queued.
        (a, b, c) = store.claim(3, worker="w1")
        clock.advance(1)
        with store.move(a, worker="w1") as run:
            run.require_action(
                [
                    {
                        "id": "call_1",
                        "type": "function",
                        "function": {"name": "lookup", "arguments": "{}"},
                    }
                ]
            )
        store.update_metadata(a.id, {"index": "0", "note": "waiting"})
        with store.move(a.id) as run:
            run.submit_tool_outputs([{"tool_call_id": "call_1", "output": "42"}])
        (again,) = store.claim(1, worker="w2")
        clock.advance(1)
        with store.move(again, worker="w2") as run:
            run.complete({"prompt_tokens": 9, "completion_tokens": 3, "total_tokens": 12})
        with store.move(b, worker="w1") as run:
            run.fail("server_error", "the model timed out")
        with store.move(c.id) as run:
            run.cancel()
        store.rescue()  # finishes the cancel of c (no worker holds it)
        store.update_metadata(b.id, {"index": "1", "seen": "yes"})
        store.close()
        conn = sqlite3.connect(path)
        rows = {
            table: [
                dict(zip([d[0] for d in cur.description], r, strict=True)) for r in cur.fetchall()
            ]
            for table in ("runlife_runs", "runlife_events")
            for cur in [conn.execute(f"SELECT * FROM {table} ORDER BY rowid")]  # noqa: S608
        }
        conn.close()
    rows["creation_order"] = ids  # type: ignore[assignment]
    out = Path(__file__).with_name("rows.json")
    out.write_text(json.dumps(rows, indent=1, ensure_ascii=False) + "\n")
    print(f"wrote {out}: {len(rows['runlife_runs'])} runs, {len(rows['runlife_events'])} rows")


if __name__ == "__main__":
    main()
