"""Generate ``rows.json``: a schema-version-2 store's rows, written by the v2 code itself.

Run with runlife at commit 5e3cf03 (schema version 2, the last before version 3, whose
store keeps no steps): ``mkdir /tmp/v2 && git archive 5e3cf03 src | tar -x -C /tmp/v2 &&
PYTHONPATH=/tmp/v2/src python tests/data/store-v2/generate_v2.py``. It fills a SQLite store
through the v2 ``Store`` (creations in one second with random ids, claims, tool rounds,
metadata updates, cancels, failures, a run left waiting for tool outputs, one left in
progress) and writes every row of ``runlife_runs`` and ``runlife_events`` in ``seq`` /
insertion order, as v2 stored them. ``tests/store/test_upgrade_v3.py`` loads the rows into
the version-2 schema (``ddl_v1`` and the upgrade step to 2, both kept as written) on each
backend and upgrades them.
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
CALL = {"id": "call_1", "type": "function", "function": {"name": "lookup", "arguments": "{}"}}
USAGE = {"prompt_tokens": 9, "completion_tokens": 3, "total_tokens": 12}


def main() -> None:
    """Fill a v2 store and write its rows next to this file."""
    version: int = SCHEMA_VERSION  # a plain int: the check is for another runlife's value
    if version != 2:
        sys.exit(f"run this with runlife at schema version 2 (found {version})")
    clock = ManualClock(T0)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "v2.db"
        store = open_store(f"sqlite:///{path}", engine=RunEngine(clock=clock))
        ids = []
        for i in range(8):  # eight runs created in one second, random ids
            run = store.create(
                assistant_id="asst_1",
                thread_id=f"thread_{i}",
                model="gpt-4o",
                tools=TOOLS,
                metadata={"index": str(i)},
            )
            ids.append(run.id)
        # Runs 0..4 work through their lives; 5..7 stay queued.
        (a, b, c, d, _e) = store.claim(5, worker="w1")
        clock.advance(1)
        with store.move(a, worker="w1") as run:  # a: a tool round, then completed
            run.require_action([CALL])
        store.update_metadata(a.id, {"index": "0", "note": "waiting"})
        with store.move(a.id) as run:
            run.submit_tool_outputs([{"tool_call_id": "call_1", "output": "42"}])
        (again,) = store.claim(1, worker="w2")
        clock.advance(1)
        with store.move(again, worker="w2") as run:
            run.complete(USAGE)
        with store.move(b, worker="w1") as run:  # b: failed
            run.fail("server_error", "the model timed out")
        with store.move(c.id) as run:  # c: cancelled (finished by rescue)
            run.cancel()
        store.rescue()
        with store.move(d, worker="w1") as run:  # d: left waiting for its tool outputs
            run.require_action([CALL])
        # _e: left in progress, held by w1.
        store.close()
        conn = sqlite3.connect(path)
        rows = {
            table: [
                dict(zip([c[0] for c in cur.description], r, strict=True)) for r in cur.fetchall()
            ]
            for table, order in (("runlife_runs", "seq"), ("runlife_events", "rowid"))
            for cur in [conn.execute(f"SELECT * FROM {table} ORDER BY {order}")]  # noqa: S608
        }
        conn.close()
    rows["creation_order"] = ids  # type: ignore[assignment]
    out = Path(__file__).with_name("rows.json")
    out.write_text(json.dumps(rows, indent=1, ensure_ascii=False) + "\n")
    print(f"wrote {out}: {len(rows['runlife_runs'])} runs, {len(rows['runlife_events'])} rows")


if __name__ == "__main__":
    main()
