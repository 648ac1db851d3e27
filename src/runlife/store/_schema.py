"""The store's schema: tables, indexes, versions and upgrades; shared SQL text.

The schema belongs to runlife, not to its users. It is versioned in the one-row table
``runlife_schema``; ``open_store`` creates it on first use and upgrades an older one (each
step of ``MIGRATIONS`` in its own transaction, under a lock), and refuses a newer one
without writing anything. ``runlife store init URL`` does the same explicitly.

SQL is written once, with ``?`` placeholders; the PostgreSQL backend turns them into
``%s``. No statement here contains a literal ``?``.
"""

# SQL text here is built from constants only; values always travel as parameters.
# ruff: noqa: S608

from __future__ import annotations

from typing import Final

from runlife import RunStatus

__all__ = [
    "ACTIVE_SQL",
    "MIGRATIONS",
    "SCHEMA_VERSION",
    "TERMINAL_SQL",
    "ddl",
    "steps",
]

#: The version of the schema this runlife writes and reads.
SCHEMA_VERSION: Final = 1

_ACTIVE = tuple(s.value for s in RunStatus if s.is_active)
_TERMINAL = tuple(s.value for s in RunStatus if s.is_terminal)
_ALL = _ACTIVE + _TERMINAL


def _in(values: tuple[str, ...]) -> str:
    return "(" + ", ".join(f"'{v}'" for v in values) + ")"


ACTIVE_SQL: Final = _in(_ACTIVE)
TERMINAL_SQL: Final = _in(_TERMINAL)


def ddl(bigint: str) -> list[str]:
    """The statements that create schema version 1 (*bigint*: the 64-bit integer type)."""
    return [
        # The hot table: one row per run, the wire object in `body` (exact JSON text, so
        # that unknown keys keep their order), and the columns the queries filter on.
        f"""CREATE TABLE runlife_runs (
            id TEXT PRIMARY KEY,
            thread_id TEXT NOT NULL,
            status TEXT NOT NULL CHECK (status IN {_in(_ALL)}),
            version {bigint} NOT NULL CHECK (version >= 0),
            created_at {bigint} NOT NULL,
            expires_at {bigint},
            worker TEXT,
            lease_until {bigint},
            invalid TEXT,
            body TEXT NOT NULL
        )""",
        # Listing a thread's runs, paginated by (created_at, id).
        "CREATE INDEX runlife_runs_thread ON runlife_runs (thread_id, created_at, id)",
        # claim(): queued runs, oldest first; the predicate equals the claim's filter.
        """CREATE INDEX runlife_runs_claim ON runlife_runs (created_at, id)
            WHERE status = 'queued' AND invalid IS NULL""",
        # expire_due(): active runs by deadline; terminal runs are not in it at all.
        f"""CREATE INDEX runlife_runs_expiry ON runlife_runs (expires_at)
            WHERE status IN {ACTIVE_SQL} AND invalid IS NULL""",
        # One active run per thread: the database itself refuses a second one.
        f"""CREATE UNIQUE INDEX runlife_runs_one_active ON runlife_runs (thread_id)
            WHERE status IN {ACTIVE_SQL}""",
        # rescue() and heartbeat(): runs held by a worker.
        "CREATE INDEX runlife_runs_lease ON runlife_runs (lease_until) WHERE worker IS NOT NULL",
        # rescue(): cancelling runs that no worker holds.
        """CREATE INDEX runlife_runs_unheld_cancel ON runlife_runs (id)
            WHERE status = 'cancelling' AND worker IS NULL""",
        # purge(): terminal runs by age.
        f"""CREATE INDEX runlife_runs_purge ON runlife_runs (created_at)
            WHERE status IN {TERMINAL_SQL}""",
        # quarantined(): rows a sweep or claim could not load.
        "CREATE INDEX runlife_runs_invalid ON runlife_runs (id) WHERE invalid IS NOT NULL",
        # The append-only history: one row per creation, move or metadata update, written
        # in the same transaction as the run's row, with the run's wire object after it.
        f"""CREATE TABLE runlife_events (
            run_id TEXT NOT NULL,
            version {bigint} NOT NULL,
            kind TEXT NOT NULL CHECK (kind IN ('create', 'move', 'metadata')),
            trigger TEXT,
            source TEXT,
            dest TEXT NOT NULL,
            at {bigint} NOT NULL,
            worker TEXT,
            args TEXT NOT NULL,
            body TEXT NOT NULL,
            PRIMARY KEY (run_id, version)
        )""",
        """CREATE TABLE runlife_schema (
            id INTEGER PRIMARY KEY CHECK (id = 1),
            version INTEGER NOT NULL
        )""",
        "INSERT INTO runlife_schema (id, version) VALUES (1, 1)",
    ]


#: Upgrade steps: ``MIGRATIONS[n]`` takes a schema from version ``n - 1`` to ``n`` (and
#: ends by setting ``runlife_schema.version = n``). Version 1 is created by ``ddl``.
MIGRATIONS: Final[dict[int, list[str]]] = {}


def steps(found: int | None, bigint: str) -> list[str]:
    """The statements that bring a schema at version *found* (``None``: none) to the latest."""
    if found is None:
        return ddl(bigint)
    return [s for v in range(found + 1, SCHEMA_VERSION + 1) for s in MIGRATIONS[v]]


# --- statements shared by both backends -------------------------------------------------------

RUN_COLUMNS: Final = "id, thread_id, status, version, worker, lease_until, body"

SELECT_RUN: Final = f"SELECT {RUN_COLUMNS} FROM runlife_runs WHERE id = ?"

INSERT_RUN: Final = """INSERT INTO runlife_runs
    (id, thread_id, status, version, created_at, expires_at, worker, lease_until, invalid, body)
    VALUES (?, ?, ?, 0, ?, ?, NULL, NULL, NULL, ?)"""

EVENT_COLUMNS: Final = "run_id, version, kind, trigger, source, dest, at, worker, args, body"

INSERT_EVENT: Final = (
    f"INSERT INTO runlife_events ({EVENT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)

# The compare-and-set write of a run. Lease modes: 0 keep, 1 release, 2 set (claim/renew).
UPDATE_RUN: Final = """UPDATE runlife_runs SET status = ?, version = ?, expires_at = ?, body = ?,
    worker = CASE ? WHEN 0 THEN worker WHEN 1 THEN NULL ELSE ? END,
    lease_until = CASE ? WHEN 0 THEN lease_until WHEN 1 THEN NULL ELSE ? END
    WHERE id = ? AND version = ?"""

FENCE: Final = " AND worker = ? AND lease_until >= ?"

CLAIM: Final = f"""SELECT {RUN_COLUMNS} FROM runlife_runs
    WHERE status = 'queued' AND invalid IS NULL AND expires_at > ?
    ORDER BY created_at, id LIMIT ?"""

DUE: Final = f"""SELECT {RUN_COLUMNS} FROM runlife_runs
    WHERE status IN {ACTIVE_SQL} AND invalid IS NULL AND expires_at <= ?
    ORDER BY expires_at LIMIT ?"""

LAPSED: Final = f"""SELECT {RUN_COLUMNS} FROM runlife_runs
    WHERE worker IS NOT NULL AND lease_until < ? AND invalid IS NULL
    ORDER BY lease_until LIMIT ?"""

UNHELD_CANCEL: Final = f"""SELECT {RUN_COLUMNS} FROM runlife_runs
    WHERE status = 'cancelling' AND worker IS NULL AND invalid IS NULL LIMIT ?"""

PURGEABLE: Final = f"""SELECT id FROM runlife_runs
    WHERE status IN {TERMINAL_SQL} AND created_at < ? ORDER BY created_at LIMIT ?"""

QUARANTINE: Final = (
    "UPDATE runlife_runs SET invalid = ?, worker = NULL, lease_until = NULL WHERE id = ?"
)
