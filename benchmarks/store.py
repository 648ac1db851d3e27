"""Benchmark of runlife's durable store against a raw-SQL floor, on SQLite and PostgreSQL.

    eval "$(scripts/pg-test-server.sh start)"     # optional: adds the PostgreSQL rows
    python benchmarks/store.py                     # --help for the options

Prints three tables:

1. **Lifecycle moves per second** with 1, 2 and 4 worker processes: every run goes claim
   (start) -> require_action -> submit_tool_outputs (by the client) -> claim (start) ->
   complete, 5 moves. *runlife* uses ``runlife.store``; the *floor* runs the same
   statements, written by hand, on bodies it edits as plain dicts (no runlife code in the
   loop, same schema). Ratio = floor / runlife (target: <= 1.5). The floor writes no run
   steps (schema 3: runlife also stores the tool-calls step each tool round opens and
   completes, and each move's step events): the gap includes them.
2. **expire_due** for one second's worth of deadlines among N stored runs (1,000,000 by
   default; seeded with COPY / executemany of prebuilt JSON, not through the engine):
   milliseconds per sweep (target on PostgreSQL: < 50 ms).
3. **Bytes per stored run**, with and without its history, after the lifecycle benchmark
   (the runs table with the run's steps, schema 3's ``runlife_steps``; then the history).
4. **Bytes per stored run with its history, per operation** (issue 15): how much one
   creation, one metadata update (25 bytes) and one move add to the database, on a run of
   1 KB and one of 250 KB: *schema 1* rows written by hand as version 1 wrote them (the whole
   run in every history row) against *runlife* (schema 2: a row holds what its move
   changed). SQLite: the database file after a WAL checkpoint; PostgreSQL:
   ``pg_total_relation_size`` of both tables, after a plain ``VACUUM`` (as autovacuum
   would; the runs row's update leaves a dead copy of the run until then).

The PostgreSQL server started by ``scripts/pg-test-server.sh`` runs with fsync off: the
figures measure runlife's overhead over SQL, not a durable server's disk.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import multiprocessing
import os
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from runlife import ManualClock, RunEngine, to_dict
from runlife.store import _schema as sql
from runlife.store import open_store

SPAWN = multiprocessing.get_context("spawn")
T0 = 1_700_000_000
BATCH = 10
LEASE = 30
TOOL = {"type": "function", "function": {"name": "lookup", "parameters": {"type": "object"}}}
CALL = {"id": "call_1", "type": "function", "function": {"name": "lookup", "arguments": "{}"}}
OUTPUTS = [{"tool_call_id": "call_1", "output": "42"}]
USAGE = {"prompt_tokens": 12, "completion_tokens": 8, "total_tokens": 20}
DUMPS = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode


# --- databases ---------------------------------------------------------------------------------


class Database:
    """One fresh, empty store database (a SQLite file, or a PostgreSQL schema)."""

    def __init__(self, backend: str, pg_url: str | None, tmp: Path) -> None:
        self.backend = backend
        if backend == "sqlite":
            self.path = tmp / f"{uuid.uuid4().hex}.db"
            self.url = f"sqlite:///{self.path}"
        else:
            assert pg_url is not None
            import psycopg

            self.schema = f"bench_{uuid.uuid4().hex[:12]}"
            self.base = pg_url
            with psycopg.connect(pg_url, autocommit=True) as conn:
                conn.execute(f"CREATE SCHEMA {self.schema}")
            sep = "&" if "?" in pg_url else "?"
            self.url = f"{pg_url}{sep}options=-csearch_path%3D{self.schema}"
        self.create_schema()

    def create_schema(self) -> None:
        open_store(self.url).close()  # the schema, created by runlife

    def drop(self) -> None:
        if self.backend == "sqlite":
            for suffix in ("", "-wal", "-shm"):
                with contextlib.suppress(FileNotFoundError):
                    Path(f"{self.path}{suffix}").unlink()
        else:
            import psycopg

            with psycopg.connect(self.base, autocommit=True) as conn:
                conn.execute(f"DROP SCHEMA {self.schema} CASCADE")

    def connect(self) -> Any:
        if self.backend == "sqlite":
            conn = sqlite3.connect(self.path, timeout=30, isolation_level=None)
            conn.execute("PRAGMA synchronous=NORMAL")
            return conn
        import psycopg

        return psycopg.connect(self.url, autocommit=True)

    def bytes_per_run(self, runs: int) -> tuple[float, float]:
        """(the runs and steps tables with their indexes, plus the history table) per run."""
        if self.backend == "sqlite":
            conn = self.connect()
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            conn.execute("VACUUM")
            rows = conn.execute("SELECT name, SUM(pgsize) FROM dbstat GROUP BY name").fetchall()
            conn.close()
            sizes = dict(rows)
            hist = sum(v for k, v in sizes.items() if "runlife_events" in k)
            total = sum(
                v
                for k, v in sizes.items()
                if k.startswith(("runlife_", "sqlite_autoindex_runlife"))
            )
            return (total - hist) / runs, total / runs
        conn = self.connect()
        for table in ("runlife_runs", "runlife_steps", "runlife_events"):
            conn.execute(f"VACUUM FULL {table}")
        runs_size, events_size = conn.execute(
            "SELECT pg_total_relation_size('runlife_runs') + pg_total_relation_size('runlife_steps'), "
            "pg_total_relation_size('runlife_events')"
        ).fetchone()
        conn.close()
        return runs_size / runs, (runs_size + events_size) / runs


def template(now: int = T0) -> dict[str, Any]:
    engine = RunEngine(clock=ManualClock(now))
    return to_dict(
        engine.create(
            id="run_x", assistant_id="asst_1", thread_id="thread_x", model="gpt-4o", tools=[TOOL]
        )
    )


def seed(db: Database, count: int, *, now: int = T0, status_of: Any = None) -> None:
    """Insert *count* runs as prebuilt JSON (executemany / COPY), with their creation rows."""
    base = template(now)
    runs: list[tuple[Any, ...]] = []
    events: list[tuple[Any, ...]] = []
    for i in range(count):
        data = dict(base, id=f"run_{i:07d}", thread_id=f"thread_{i:07d}")
        status, expires_at = ("queued", now + 600) if status_of is None else status_of(i)
        data["status"], data["expires_at"] = status, expires_at
        if status == "completed":
            data["started_at"] = data["completed_at"] = now
            data["usage"] = USAGE
        body = DUMPS(data)
        runs.append((data["id"], data["thread_id"], status, 0, now, expires_at, body))
        events.append(
            (data["id"], 0, "create", None, None, status, now, None, "{}", None, body, None)
        )
    conn = db.connect()
    columns = "id, thread_id, status, version, created_at, expires_at, body"
    if db.backend == "sqlite":
        conn.execute("BEGIN")
        conn.executemany(
            f"INSERT INTO runlife_runs ({columns}) VALUES (?, ?, ?, ?, ?, ?, ?)",  # noqa: S608
            runs,
        )
        conn.executemany(sql.INSERT_EVENT, events)
        conn.execute("COMMIT")
    else:
        with conn.cursor() as cur:
            with cur.copy(f"COPY runlife_runs ({columns}) FROM STDIN") as copy:
                for row in runs:
                    copy.write_row(row)
            with cur.copy(f"COPY runlife_events ({sql.EVENT_COLUMNS}) FROM STDIN") as copy:
                for row in events:
                    copy.write_row(row)
        conn.execute("ANALYZE runlife_runs")
        conn.execute("ANALYZE runlife_events")
    conn.close()


# --- workers -----------------------------------------------------------------------------------


def runlife_worker(url: str, name: str, barrier: Any, queue: Any) -> None:
    store = open_store(url, engine=RunEngine(clock=ManualClock(T0)), lease=LEASE)
    moves = 0
    barrier.wait()
    started, cpu = time.perf_counter(), time.process_time()
    while runs := store.claim(BATCH, worker=name):
        moves += len(runs)
        for run in runs:
            if store.tool_outputs(run.id) is None:
                with store.move(run, worker=name) as moving:
                    moving.require_action([CALL])
                with store.move(run) as moving:  # the API's client
                    moving.submit_tool_outputs(OUTPUTS)
                moves += 2
            else:
                with store.move(run, worker=name) as moving:
                    moving.complete(USAGE)
                moves += 1
    queue.put((started, time.perf_counter(), moves, time.process_time() - cpu))
    store.close()


class Floor:
    """The same statements as runlife's store, by hand, on plain dicts."""

    def __init__(self, url: str, name: str) -> None:
        self.name = name
        self.sqlite = url.startswith("sqlite:")
        if self.sqlite:
            self.conn: Any = sqlite3.connect(
                url.removeprefix("sqlite:///"), timeout=30, isolation_level=None
            )
            self.conn.execute("PRAGMA synchronous=NORMAL")
        else:
            import psycopg

            from runlife.store._postgres import _WRITE_FENCED, _WRITE_PLAIN

            self.conn = psycopg.connect(url, autocommit=True)
            self.pg_write = {False: _WRITE_PLAIN, True: _WRITE_FENCED}
        self.held: dict[str, tuple[int, dict[str, Any]]] = {}

    def _write(
        self, writes: list[tuple[Any, ...]], events: list[tuple[Any, ...]], fence: Any
    ) -> int:
        if self.sqlite:
            statement = sql.UPDATE_RUN + (sql.FENCE if fence else "")
            done = 0
            for w in writes:
                params = (
                    w[3],
                    w[2],
                    w[4],
                    w[5],
                    w[6],
                    w[7],
                    w[6],
                    w[8],
                    w[0],
                    w[1],
                    *(fence or ()),
                )
                done += self.conn.execute(statement, params).rowcount
            self.conn.executemany(sql.INSERT_EVENT, events)
            return done
        params: list[Any] = [DUMPS(writes), *(fence or ()), DUMPS([]), DUMPS(events)]
        return len(self.conn.execute(self.pg_write[bool(fence)], params).fetchall())

    def _move(
        self,
        run_id: str,
        trigger: str,
        source: str,
        data: dict[str, Any],
        args: Any,
        *,
        worker: bool,
        lease: int,
    ) -> tuple[tuple[Any, ...], tuple[Any, ...]]:
        version, before = self.held[run_id]
        body = DUMPS(data)
        changes = DUMPS({"set": {k: v for k, v in data.items() if before[k] != v}})
        status = data["status"]
        holder = self.name if lease == 2 else None
        write = (
            run_id,
            version,
            version + 1,
            status,
            data["expires_at"],
            body,
            lease,
            holder,
            T0 + LEASE if lease == 2 else None,
        )
        event = (
            run_id,
            version + 1,
            "move",
            trigger,
            source,
            status,
            T0,
            self.name if worker else None,
            DUMPS(args),
            changes,
            None,
            None,
        )
        self.held[run_id] = (version + 1, data)
        return write, event

    def claim(self) -> list[str]:
        q = sql.CLAIM + ("" if self.sqlite else " FOR UPDATE SKIP LOCKED")
        if self.sqlite:
            self.conn.execute("BEGIN IMMEDIATE")
            rows = self.conn.execute(q, (T0, BATCH)).fetchall()
            self._claim_rows(rows)
            self.conn.execute("COMMIT")
        else:
            with self.conn.transaction():
                rows = self.conn.execute(q.replace("?", "%s"), (T0, BATCH)).fetchall()
                self._claim_rows(rows)
        return [r[0] for r in rows]

    def _claim_rows(self, rows: list[tuple[Any, ...]]) -> None:
        writes, events = [], []
        for run_id, _thread, _status, version, _w, _l, body, _k in rows:
            data = json.loads(body)
            data["status"], data["started_at"] = "in_progress", T0
            self.held[run_id] = (version, data)
            w, e = self._move(run_id, "start", "queued", data, {}, worker=True, lease=2)
            writes.append(w)
            events.append(e)
        if writes:
            self._write(writes, events, None)

    def tool_outputs(self, run_id: str) -> Any:
        q = (
            "SELECT (SELECT args FROM runlife_events WHERE run_id = r.id "
            "AND trigger = 'submit_tool_outputs' ORDER BY version DESC LIMIT 1) "
            "FROM runlife_runs r WHERE r.id = ?"
        )
        rows = self.conn.execute(q if self.sqlite else q.replace("?", "%s"), (run_id,)).fetchall()
        return json.loads(rows[0][0])["tool_outputs"] if rows and rows[0][0] else None

    def commit(self, write: tuple[Any, ...], event: tuple[Any, ...], fence: Any) -> None:
        if self.sqlite:
            self.conn.execute("BEGIN IMMEDIATE")
            ok = self._write([write], [event], fence)
            self.conn.execute("COMMIT")
        else:
            ok = self._write([write], [event], fence)
        if ok != 1:
            raise RuntimeError("floor: lost a compare-and-set")

    def round(self, run_id: str) -> int:
        _, data = self.held[run_id]
        if self.tool_outputs(run_id) is None:
            data = dict(
                data,
                status="requires_action",
                required_action={
                    "type": "submit_tool_outputs",
                    "submit_tool_outputs": {"tool_calls": [CALL]},
                },
            )
            self.commit(
                *self._move(
                    run_id,
                    "require_action",
                    "in_progress",
                    data,
                    {"tool_calls": [CALL]},
                    worker=True,
                    lease=1,
                ),
                (self.name, T0),
            )
            data = dict(data, status="queued", required_action=None)
            self.commit(
                *self._move(
                    run_id,
                    "submit_tool_outputs",
                    "requires_action",
                    data,
                    {"tool_outputs": OUTPUTS},
                    worker=False,
                    lease=1,
                ),
                None,
            )
            return 2
        data = dict(data, status="completed", completed_at=T0, expires_at=None, usage=USAGE)
        self.commit(
            *self._move(
                run_id, "complete", "in_progress", data, {"usage": USAGE}, worker=True, lease=1
            ),
            (self.name, T0),
        )
        return 1


def floor_worker(url: str, name: str, barrier: Any, queue: Any) -> None:
    floor = Floor(url, name)
    moves = 0
    barrier.wait()
    started, cpu = time.perf_counter(), time.process_time()
    while ids := floor.claim():
        moves += len(ids)
        for run_id in ids:
            moves += floor.round(run_id)
    queue.put((started, time.perf_counter(), moves, time.process_time() - cpu))
    floor.conn.close()


def lifecycle(
    backend: str, pg_url: str | None, tmp: Path, *, mode: str, workers: int, runs: int
) -> tuple[float, float, Database]:
    db = Database(backend, pg_url, tmp)
    seed(db, runs)
    barrier = SPAWN.Barrier(workers)
    queue = SPAWN.Queue()
    target = runlife_worker if mode == "runlife" else floor_worker
    procs = [
        SPAWN.Process(target=target, args=(db.url, f"w{i}", barrier, queue)) for i in range(workers)
    ]
    for p in procs:
        p.start()
    results = [queue.get(timeout=600) for _ in procs]
    for p in procs:
        p.join()
    moves = sum(r[2] for r in results)
    wall = max(r[1] for r in results) - min(r[0] for r in results)
    expected = runs * 5
    if moves != expected:
        raise RuntimeError(f"{mode} on {backend}: {moves} moves, expected {expected}")
    with open_store(db.url) as store:
        if store.counts() != {"completed": runs}:
            raise RuntimeError(f"{mode} on {backend}: {store.counts()}")
    cpu_per_move = sum(r[3] for r in results) / moves * 1e6
    return moves / wall, cpu_per_move, db


# --- expiry ------------------------------------------------------------------------------------


def expiry(
    backend: str, pg_url: str | None, tmp: Path, total: int, per_second: int
) -> tuple[float, int]:
    """expire_due over *total* runs: 1% active, deadlines *per_second* apart; median ms."""
    db = Database(backend, pg_url, tmp)
    active = max(total // 100, per_second * 10)

    def status_of(i: int) -> tuple[str, int | None]:
        if i < active:
            return "queued", T0 + 600 + i // per_second
        return "completed", None

    t = time.perf_counter()
    seed(db, total, status_of=status_of)
    print(
        f"  seeded {total:,} runs on {backend} in {time.perf_counter() - t:.1f} s", file=sys.stderr
    )
    clock = ManualClock(T0 + 600)
    timings: list[float] = []
    expired = 0
    with open_store(db.url, engine=RunEngine(clock=clock)) as store:
        store.expire_due(T0 + 599)  # warm the pool and the statements
        for second in range(5):
            now = T0 + 600 + second
            t = time.perf_counter()
            sweep = store.expire_due(now)
            timings.append((time.perf_counter() - t) * 1000)
            expired = len(sweep)
            if expired != per_second:
                raise RuntimeError(f"expire_due({now}) expired {expired}, expected {per_second}")
    db.drop()
    return statistics.median(timings), expired


# --- growth per operation -------------------------------------------------------------------

GROWTH_SIZES = (1_000, 250_000)
METADATA_UPDATES = 50
GROWTH_RUNS = 10  # creations and moves are measured over this many runs


class GrowthDB(Database):
    """A fresh database of schema 1 (the v1 DDL, rows written by hand) or 2 (runlife)."""

    def __init__(self, backend: str, pg_url: str | None, tmp: Path, schema: int) -> None:
        self.version = schema
        super().__init__(backend, pg_url, tmp)

    def create_schema(self) -> None:
        if self.version == 2:
            open_store(self.url).close()
        else:
            conn = self.connect()
            for statement in sql.ddl_v1("INTEGER" if self.backend == "sqlite" else "BIGINT"):
                conn.execute(statement)
            conn.close()

    def connect(self) -> Any:
        if self.backend == "sqlite":
            conn = sqlite3.connect(self.path, isolation_level=None)
            conn.execute("PRAGMA journal_mode=WAL")
            return conn
        import psycopg

        return psycopg.connect(self.url, autocommit=True)

    def settle(self) -> None:
        """After each operation: SQLite checkpoints the WAL; PostgreSQL vacuums (plain
        VACUUM, as autovacuum would), so that dead row versions are reused, not counted."""
        conn = self.connect()
        try:
            if self.backend == "sqlite":
                conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            else:
                conn.execute("VACUUM runlife_runs")
                conn.execute("VACUUM runlife_events")
        finally:
            conn.close()

    def size(self) -> tuple[int, int]:
        """(the history table with its index, the whole store) in bytes."""
        self.settle()
        conn = self.connect()
        try:
            if self.backend == "sqlite":
                events = conn.execute(
                    "SELECT COALESCE(SUM(pgsize), 0) FROM dbstat WHERE name LIKE '%runlife_events%'"
                ).fetchone()[0]
                return int(events), self.path.stat().st_size
            events, runs = conn.execute(
                "SELECT pg_total_relation_size('runlife_events'), "
                "pg_total_relation_size('runlife_runs')"
            ).fetchone()
            return int(events), int(events + runs)
        finally:
            conn.close()


def _big_run(size: int, n: int) -> dict[str, Any]:
    """Run *n* of about *size* bytes: instructions of random letters (nothing compresses)."""
    import random

    letters = random.Random(size + n).choices("abcdefghijklmnopqrstuvwxyz ", k=size)
    return {
        "id": f"run_big{n}",
        "assistant_id": "asst_1",
        "thread_id": f"thread_big{n}",
        "model": "gpt-4o",
        "tools": [TOOL],
        "instructions": "".join(letters),
    }


class V1Writer:
    """Schema 1's writes by hand: the run's row, and a history row with the whole run."""

    def __init__(self, db: GrowthDB) -> None:
        self.conn = db.connect()
        self.mark = "?" if db.backend == "sqlite" else "%s"
        self.versions: dict[str, int] = {}

    def _sql(self, statement: str, params: tuple[Any, ...]) -> None:
        self.conn.execute(statement.replace("?", self.mark), params)

    def _event(self, kind: str, trigger: Any, source: Any, data: dict[str, Any], args: str) -> None:
        version = self.versions[data["id"]]
        self._sql(
            "INSERT INTO runlife_events (run_id, version, kind, trigger, source, dest, at, "
            "worker, args, body) VALUES (?, ?, ?, ?, ?, ?, ?, NULL, ?, ?)",
            (data["id"], version, kind, trigger, source, data["status"], T0, args, DUMPS(data)),
        )

    def create(self, data: dict[str, Any]) -> None:
        self._sql(
            "INSERT INTO runlife_runs (id, thread_id, status, version, created_at, expires_at, "
            "body) VALUES (?, ?, ?, 0, ?, ?, ?)",
            (data["id"], data["thread_id"], data["status"], T0, data["expires_at"], DUMPS(data)),
        )
        self.versions[data["id"]] = 0
        self._event("create", None, None, data, "{}")

    def write(self, kind: str, trigger: Any, source: Any, data: dict[str, Any], args: str) -> None:
        self.versions[data["id"]] += 1
        self._sql(
            "UPDATE runlife_runs SET status = ?, version = ?, body = ? WHERE id = ?",
            (data["status"], self.versions[data["id"]], DUMPS(data), data["id"]),
        )
        self._event(kind, trigger, source, data, args)


def growth(backend: str, pg_url: str | None, tmp: Path, size: int, schema: int) -> dict[str, float]:
    """Bytes added per operation (history table, whole store) on runs of *size* bytes."""
    db = GrowthDB(backend, pg_url, tmp, schema)
    engine = RunEngine(clock=ManualClock(T0))
    store = open_store(db.url, engine=engine) if schema == 2 else None
    v1 = V1Writer(db) if schema == 1 else None
    runs = [_big_run(size, n) for n in range(GROWTH_RUNS)]
    wire = {r["id"]: to_dict(engine.create(**r)) for r in runs}
    out: dict[str, float] = {}

    def measure(name: str, op: Any, times: int) -> None:
        before = db.size()
        for i in range(times):
            op(i)
            db.settle()
        after = db.size()
        out[f"{name} history"] = (after[0] - before[0]) / times
        out[f"{name} total"] = (after[1] - before[1]) / times

    def create(i: int) -> None:
        if store is not None:
            store.create(**runs[i])
        elif v1 is not None:
            v1.create(wire[runs[i]["id"]])

    def metadata(i: int) -> None:
        meta = {"note": str(i).rjust(25, "x")}
        run_id = runs[0]["id"]
        if store is not None:
            store.update_metadata(run_id, meta)
        elif v1 is not None:
            wire[run_id] = dict(wire[run_id], metadata=meta)
            v1.write("metadata", None, "queued", wire[run_id], DUMPS({"metadata": meta}))

    def move(i: int) -> None:
        run_id = runs[i]["id"]
        if store is not None:
            with store.move(run_id) as run:
                run.start()
        elif v1 is not None:
            wire[run_id] = dict(wire[run_id], status="in_progress", started_at=T0)
            v1.write("move", "start", "queued", wire[run_id], "{}")

    measure("create", create, GROWTH_RUNS)
    measure("metadata", metadata, METADATA_UPDATES)
    measure("move", move, GROWTH_RUNS)
    if store is not None:
        store.close()
    if v1 is not None:
        v1.conn.close()
    db.drop()
    return out


def print_growth(backends: list[str], pg_url: str | None, tmp: Path) -> None:
    print(
        "\n4. Bytes per stored run with its history, added per operation: history rows / whole "
        f"store (create and move: mean over {GROWTH_RUNS} runs; metadata: mean of "
        f"{METADATA_UPDATES} updates of 25 bytes on one run)\n"
    )
    print(
        "| backend | run size | operation | schema 1 history | runlife history "
        "| schema 1 store | runlife store |"
    )
    print("|---|---|---|---|---|---|---|")
    for backend in backends:
        for size in GROWTH_SIZES:
            old = growth(backend, pg_url, tmp, size, 1)
            new = growth(backend, pg_url, tmp, size, 2)
            for op in ("create", "metadata", "move"):
                print(
                    f"| {backend} | {size:,} | {op} | {old[op + ' history']:,.0f} "
                    f"| {new[op + ' history']:,.0f} | {old[op + ' total']:,.0f} "
                    f"| {new[op + ' total']:,.0f} |",
                    flush=True,
                )


# --- main --------------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--postgres",
        default=os.environ.get("RUNLIFE_TEST_POSTGRES_URL"),
        help="PostgreSQL URL (default: $RUNLIFE_TEST_POSTGRES_URL)",
    )
    parser.add_argument("--runs", type=int, default=2000, help="runs per lifecycle measurement")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--repeat", type=int, default=3, help="median of this many measurements")
    parser.add_argument("--expire-runs", type=int, default=1_000_000)
    parser.add_argument("--expire-per-second", type=int, default=100)
    parser.add_argument(
        "--expire-sqlite", action="store_true", help="also time expire_due on SQLite"
    )
    parser.add_argument(
        "--growth-only", action="store_true", help="print only table 4 (bytes per operation)"
    )
    args = parser.parse_args()
    backends = ["sqlite"] + (["postgresql"] if args.postgres else [])
    if not args.postgres:
        print(
            'no PostgreSQL: pass --postgres URL or eval "$(scripts/pg-test-server.sh start)"',
            file=sys.stderr,
        )
    with tempfile.TemporaryDirectory(prefix="runlife-bench-") as tmpdir:
        tmp = Path(tmpdir)
        if args.growth_only:
            print_growth(backends, args.postgres, tmp)
            return 0
        print(f"\n1. Lifecycle moves/s ({args.runs} runs x 5 moves, median of {args.repeat})\n")
        print(
            "| backend | workers | runlife moves/s | floor moves/s | floor / runlife "
            "| runlife client CPU us/move | floor client CPU us/move |"
        )
        print("|---|---|---|---|---|---|---|")
        sizes: dict[str, tuple[float, float]] = {}
        for backend in backends:
            for workers in args.workers:
                rates: dict[str, list[float]] = {"runlife": [], "floor": []}
                cpus: dict[str, list[float]] = {"runlife": [], "floor": []}
                for _ in range(args.repeat):  # interleaved: load from elsewhere hits both
                    for mode in ("runlife", "floor"):
                        rate, cpu, db = lifecycle(
                            backend, args.postgres, tmp, mode=mode, workers=workers, runs=args.runs
                        )
                        if mode == "runlife" and backend not in sizes:
                            sizes[backend] = db.bytes_per_run(args.runs)
                        db.drop()
                        rates[mode].append(rate)
                        cpus[mode].append(cpu)
                r, f = (statistics.median(rates[m]) for m in ("runlife", "floor"))
                rc, fc = (statistics.median(cpus[m]) for m in ("runlife", "floor"))
                print(
                    f"| {backend} | {workers} | {r:,.0f} | {f:,.0f} | {f / r:.2f} "
                    f"| {rc:,.0f} | {fc:,.0f} |",
                    flush=True,
                )
        print(
            f"\n2. expire_due: one second's worth of deadlines among {args.expire_runs:,} stored runs\n"
        )
        print("| backend | runs stored | expired per sweep | median ms |")
        print("|---|---|---|---|")
        for backend in backends:
            if backend == "sqlite" and not args.expire_sqlite:
                continue
            ms, expired = expiry(
                backend, args.postgres, tmp, args.expire_runs, args.expire_per_second
            )
            print(f"| {backend} | {args.expire_runs:,} | {expired} | {ms:.1f} |", flush=True)
        print("\n3. Bytes per stored run (completed, 5 moves; tables and indexes)\n")
        print("| backend | runs and steps tables | with history |")
        print("|---|---|---|")
        for backend, (runs_only, with_history) in sizes.items():
            print(f"| {backend} | {runs_only:,.0f} | {with_history:,.0f} |")
        print_growth(backends, args.postgres, tmp)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
