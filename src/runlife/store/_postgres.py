"""The PostgreSQL backend: psycopg 3 (``pip install ".[postgres]"`` from a checkout).

Connections run in autocommit mode, so that a move's compare-and-set write, which is one
statement (a data-modifying CTE that updates the run and inserts its history rows only if
the update matched), costs one round trip and is atomic on its own. Claims and sweeps are
explicit transactions whose SELECT ends in ``FOR UPDATE SKIP LOCKED``: concurrent workers
and sweepers never wait for, nor take, each other's rows.
"""

from __future__ import annotations

import contextlib
import json
from typing import TYPE_CHECKING, Any

from ._errors import StoreError
from ._pool import Pool
from ._rows import Duplicate, HistoryRow, Lost, StepRow, Tx, Write
from ._store import Store

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence

    import psycopg

    from runlife import RunEngine

    from ._url import StoreURL

__all__ = ["PostgresStore"]

#: pg_advisory_xact_lock key that serialises schema creation and upgrades.
_SCHEMA_LOCK = 0x72756E6C  # "runl"

# Updates every run of *writes* whose version still matches, inserts the history rows of
# exactly those runs and upserts their steps (each data-modifying CTE runs to completion,
# read or not); returns the ids of the runs written. {fence} is empty or the lease
# check. The rows travel as three JSON arrays of arrays, one text parameter each: psycopg
# sends them as they are, where nineteen arrays of JSON bodies would be escaped element by
# element in Python; jsonb parses each once, then every field is a lookup (measured: json,
# which re-parses an element for each ->>, took twice as long).
_WRITE = """WITH w AS (
    SELECT x->>0 AS id, (x->>1)::bigint AS old_version, (x->>2)::bigint AS new_version,
           x->>3 AS status, (x->>4)::bigint AS expires_at, x->>5 AS body,
           (x->>6)::int AS lease_mode, x->>7 AS worker, (x->>8)::bigint AS lease_until
    FROM jsonb_array_elements(%s::jsonb) AS x
), u AS (
    UPDATE runlife_runs r SET status = w.status, version = w.new_version,
        expires_at = w.expires_at, body = w.body,
        worker = CASE w.lease_mode WHEN 0 THEN r.worker WHEN 1 THEN NULL ELSE w.worker END,
        lease_until = CASE w.lease_mode WHEN 0 THEN r.lease_until WHEN 1 THEN NULL
                      ELSE w.lease_until END
    FROM w WHERE r.id = w.id AND r.version = w.old_version{fence}
    RETURNING r.id
), s AS (
    INSERT INTO runlife_steps (run_id, id, ordinal, status, created_at, body)
    SELECT x->>0, x->>1, (x->>2)::bigint, x->>3, (x->>4)::bigint, x->>5
    FROM jsonb_array_elements(%s::jsonb) AS x
    WHERE x->>0 IN (SELECT id FROM u)
    ON CONFLICT (run_id, id) DO UPDATE SET status = excluded.status, body = excluded.body
)
INSERT INTO runlife_events
    (run_id, version, kind, trigger, source, dest, at, worker, args, changes, body, steps)
SELECT x->>0, (x->>1)::bigint, x->>2, x->>3, x->>4, x->>5, (x->>6)::bigint, x->>7, x->>8, x->>9,
       x->>10, x->>11
FROM jsonb_array_elements(%s::jsonb) AS x
WHERE x->>0 IN (SELECT id FROM u)
RETURNING run_id"""
_WRITE_PLAIN = _WRITE.replace("{fence}", "")
_WRITE_FENCED = _WRITE.replace("{fence}", " AND r.worker = %s AND r.lease_until >= %s")

_INSERT = """WITH r AS (
    INSERT INTO runlife_runs
        (id, thread_id, status, version, created_at, expires_at, worker, lease_until, invalid, body)
    VALUES (%s, %s, %s, 0, %s, %s, NULL, NULL, NULL, %s) RETURNING id
)
INSERT INTO runlife_events
    (run_id, version, kind, trigger, source, dest, at, worker, args, changes, body, steps)
SELECT r.id, %s::bigint, %s, %s::text, %s::text, %s, %s::bigint, %s::text, %s, %s::text, %s,
    %s::text
FROM r"""


def _pg(statement: str) -> str:
    return statement.replace("?", "%s")


_dumps = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode


class _PgTx(Tx):
    __slots__ = ("conn",)

    def __init__(self, conn: psycopg.Connection[Any]) -> None:
        self.conn = conn

    def query(self, statement: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        return self.conn.execute(_pg(statement), params).fetchall()

    def execute(self, statement: str, params: Sequence[Any] = ()) -> int:
        return self.conn.execute(_pg(statement), params).rowcount

    def write(
        self,
        writes: Sequence[Write],
        events: Sequence[HistoryRow],
        steps: Sequence[StepRow],
        fence: tuple[str, int] | None,
    ) -> set[str]:
        return _write(self.conn, writes, events, steps, fence)


def _write(
    conn: psycopg.Connection[Any],
    writes: Sequence[Write],
    events: Sequence[HistoryRow],
    steps: Sequence[StepRow],
    fence: tuple[str, int] | None,
) -> set[str]:
    params: list[Any] = [_dumps(writes)]
    if fence is not None:
        params += fence
    params += (_dumps(steps), _dumps(events))
    rows = conn.execute(_WRITE_FENCED if fence else _WRITE_PLAIN, params).fetchall()
    return {r[0] for r in rows}


class PostgresStore(Store):
    """A store in a PostgreSQL database; see ``runlife.store.open_store``."""

    _lock_clause = " FOR UPDATE SKIP LOCKED"
    _row_lock = " FOR UPDATE"
    # Read through the statement's snapshot, not to_regclass: the catalog cache of a
    # session that waited on the (advisory) schema lock may not yet show the tables another
    # process just created, and it would create them again.
    _schema_exists = """SELECT COUNT(*) FROM pg_catalog.pg_class c
        JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
        WHERE c.relname = 'runlife_schema' AND n.nspname = current_schema()"""

    def __init__(
        self,
        url: StoreURL,
        *,
        engine: RunEngine | None,
        lease: int,
        retries: int,
        create: bool,
        upgrade: bool,
        pool_size: int,
    ) -> None:
        super().__init__(url, engine=engine, lease=lease, retries=retries)
        try:
            import psycopg  # noqa: PLC0415 - optional dependency
        except ModuleNotFoundError as exc:
            from runlife import missing_extra  # noqa: PLC0415 - names the extra to install

            clear = missing_extra(exc, needed_by="the PostgreSQL store")
            raise StoreError(str(clear or exc)) from None
        self._psycopg = psycopg
        self._conninfo = url.target
        self._pool = Pool(
            self._connect, size=pool_size, healthy=self._healthy, dispose=lambda c: c.close()
        )
        try:
            self._setup(create=create, upgrade=upgrade)
        except BaseException:
            self._pool.close()
            raise

    def _connect(self) -> psycopg.Connection[Any]:
        extra: dict[str, Any] = {}
        if "connect_timeout" not in self._conninfo:
            extra["connect_timeout"] = 10
        try:
            return self._psycopg.connect(self._conninfo, autocommit=True, **extra)
        except self._psycopg.Error as exc:
            message = str(exc).strip().replace("\n", " ")
            raise StoreError(f"cannot connect to PostgreSQL at {self.url}: {message}") from exc

    def _healthy(self, conn: psycopg.Connection[Any]) -> bool:
        return (
            not conn.closed
            and not conn.broken
            and conn.info.transaction_status == self._psycopg.pq.TransactionStatus.IDLE
        )

    @contextlib.contextmanager
    def _conn(self) -> Iterator[psycopg.Connection[Any]]:
        try:
            with self._pool.connection() as conn:
                yield conn
        except self._psycopg.Error as exc:
            message = str(exc).strip().replace("\n", " ")
            raise StoreError(f"PostgreSQL store {self.url}: {message}") from exc

    @contextlib.contextmanager
    def _schema_tx(self) -> Iterator[Tx]:
        with self._tx() as tx:
            tx.query("SELECT pg_advisory_xact_lock(?)", (_SCHEMA_LOCK,))
            yield tx

    def close(self) -> None:
        """Close the store's connections."""
        self._pool.close()

    def _query(self, statement: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with self._conn() as conn:
            return conn.execute(_pg(statement), params).fetchall()

    @contextlib.contextmanager
    def _tx(self) -> Iterator[Tx]:
        with self._conn() as conn, conn.transaction():
            yield _PgTx(conn)

    def _write_once(
        self,
        writes: Sequence[Write],
        events: Sequence[HistoryRow],
        steps: Sequence[StepRow],
        fence: tuple[str, int] | None,
    ) -> set[str]:
        with self._conn() as conn:
            try:
                return _write(conn, writes, events, steps, fence)
            except self._psycopg.OperationalError as exc:
                raise Lost(str(exc).strip()) from exc

    def _insert_once(self, values: Sequence[Any], event: HistoryRow) -> None:
        with self._conn() as conn:
            try:
                conn.execute(_INSERT, (*values, *event[1:]))
            except self._psycopg.errors.UniqueViolation as exc:
                constraint = exc.diag.constraint_name
                if constraint == "runlife_runs_one_active":
                    raise Duplicate("thread") from None
                if constraint == "runlife_runs_pkey":
                    raise Duplicate("id") from None
                raise
            except self._psycopg.OperationalError as exc:
                raise Lost(str(exc).strip()) from exc
