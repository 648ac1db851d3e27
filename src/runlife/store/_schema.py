"""The store's schema: tables, indexes, versions and upgrades; shared SQL text.

The schema belongs to runlife, not to its users. It is versioned in the one-row table
``runlife_schema``; ``open_store`` creates it on first use (version 1, then upgraded: a new
schema and an upgraded one are the same) and upgrades an older one (each step of
``MIGRATIONS`` in its own transaction, under a lock), and refuses a newer one without
writing anything. ``runlife store init URL`` and ``runlife store upgrade URL`` do the same
explicitly; ``open_store(url, create=False)`` refuses an older one (``SchemaTooOld``).

SQL is written once, with ``?`` placeholders; the PostgreSQL backend turns them into
``%s``. No statement here contains a literal ``?``.
"""

# SQL text here is built from constants only; values always travel as parameters.
# ruff: noqa: S608

from __future__ import annotations

from typing import Final

from runlife import RunStatus, StepStatus

__all__ = [
    "ACTIVE_SQL",
    "BACKENDS",
    "MIGRATIONS",
    "SCHEMA_VERSION",
    "TERMINAL_SQL",
    "ddl_v1",
    "steps",
]

#: The version of the schema this runlife writes and reads.
SCHEMA_VERSION: Final = 3

#: The backends, by the name their migrations are filed under.
BACKENDS: Final = ("sqlite", "postgresql")

_ACTIVE = tuple(s.value for s in RunStatus if s.is_active)
_TERMINAL = tuple(s.value for s in RunStatus if s.is_terminal)
_ALL = _ACTIVE + _TERMINAL


def _in(values: tuple[str, ...]) -> str:
    return "(" + ", ".join(f"'{v}'" for v in values) + ")"


ACTIVE_SQL: Final = _in(_ACTIVE)
TERMINAL_SQL: Final = _in(_TERMINAL)

_BIGINT: Final = {"sqlite": "INTEGER", "postgresql": "BIGINT"}


def ddl_v1(bigint: str) -> list[str]:
    """The statements that created schema version 1 (*bigint*: the 64-bit integer type).

    Kept as version 1 wrote it, never edited: a new database is version 1 upgraded step by
    step (``steps``), so a fresh schema and an upgraded one are the same by construction,
    and the tests build version-1 databases from it.
    """
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
        *_RUN_INDEXES.values(),
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


#: The indexes of ``runlife_runs`` that versions 1 and 2 share (name -> statement).
_RUN_INDEXES: Final = {
    # expire_due(): active runs by deadline; terminal runs are not in it at all.
    "runlife_runs_expiry": f"""CREATE INDEX runlife_runs_expiry ON runlife_runs (expires_at)
        WHERE status IN {ACTIVE_SQL} AND invalid IS NULL""",
    # One active run per thread: the database itself refuses a second one.
    "runlife_runs_one_active": f"""CREATE UNIQUE INDEX runlife_runs_one_active
        ON runlife_runs (thread_id) WHERE status IN {ACTIVE_SQL}""",
    # rescue() and heartbeat(): runs held by a worker.
    "runlife_runs_lease": """CREATE INDEX runlife_runs_lease ON runlife_runs (lease_until)
        WHERE worker IS NOT NULL""",
    # rescue(): cancelling runs that no worker holds.
    "runlife_runs_unheld_cancel": """CREATE INDEX runlife_runs_unheld_cancel ON runlife_runs (id)
        WHERE status = 'cancelling' AND worker IS NULL""",
    # purge(): terminal runs by age.
    "runlife_runs_purge": f"""CREATE INDEX runlife_runs_purge ON runlife_runs (created_at)
        WHERE status IN {TERMINAL_SQL}""",
    # quarantined(): rows a sweep or claim could not load.
    "runlife_runs_invalid": """CREATE INDEX runlife_runs_invalid ON runlife_runs (id)
        WHERE invalid IS NOT NULL""",
}

#: The indexes version 2 orders by ``seq``, the store-assigned creation order.
_SEQ_INDEXES: Final = [
    # Listing a thread's runs in creation order, paginated by seq.
    "CREATE INDEX runlife_runs_thread ON runlife_runs (thread_id, seq)",
    # claim(): queued runs, first created first; the predicate equals the claim's filter.
    """CREATE INDEX runlife_runs_claim ON runlife_runs (seq)
        WHERE status = 'queued' AND invalid IS NULL""",
]

# Version 2, history rows: `changes` (what the row's move or update changed, see
# runlife.store._delta) or `body` (the whole run after it: the creation, version-1 rows, and
# any row whose changes would not rebuild it exactly), never both, never neither.
_EVENTS_V2_CHECK: Final = "CHECK ((changes IS NULL) <> (body IS NULL))"

# The v1 rows are numbered in the best order version 1 knew: (created_at, id) on
# PostgreSQL; on SQLite (created_at, rowid), the insertion order within a second.
_NUMBERED: Final = "row_number() OVER (ORDER BY created_at, id)"
# SQLite knows better: version 1's table had a hidden rowid, given in insertion order.
_NUMBERED_SQLITE: Final = "row_number() OVER (ORDER BY created_at, rowid)"
_RUN_FIELDS: Final = (
    "id, thread_id, status, version, created_at, expires_at, worker, lease_until, invalid, body"
)
_EVENT_FIELDS_V1: Final = "run_id, version, kind, trigger, source, dest, at, worker, args, body"


def _sqlite_1_to_2() -> list[str]:
    # SQLite cannot add a primary key or drop NOT NULL in place: both tables are rebuilt
    # (new table, copy, drop, rename) inside the one upgrade transaction.
    return [
        f"""CREATE TABLE runlife_runs_v2 (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            id TEXT NOT NULL UNIQUE,
            thread_id TEXT NOT NULL,
            status TEXT NOT NULL CHECK (status IN {_in(_ALL)}),
            version INTEGER NOT NULL CHECK (version >= 0),
            created_at INTEGER NOT NULL,
            expires_at INTEGER,
            worker TEXT,
            lease_until INTEGER,
            invalid TEXT,
            body TEXT NOT NULL
        )""",
        f"""INSERT INTO runlife_runs_v2 (seq, {_RUN_FIELDS})
            SELECT {_NUMBERED_SQLITE}, {_RUN_FIELDS} FROM runlife_runs""",
        "DROP TABLE runlife_runs",
        "ALTER TABLE runlife_runs_v2 RENAME TO runlife_runs",
        *_SEQ_INDEXES,
        *_RUN_INDEXES.values(),
        f"""CREATE TABLE runlife_events_v2 (
            run_id TEXT NOT NULL,
            version INTEGER NOT NULL,
            kind TEXT NOT NULL CHECK (kind IN ('create', 'move', 'metadata')),
            trigger TEXT,
            source TEXT,
            dest TEXT NOT NULL,
            at INTEGER NOT NULL,
            worker TEXT,
            args TEXT NOT NULL,
            changes TEXT,
            body TEXT,
            {_EVENTS_V2_CHECK},
            PRIMARY KEY (run_id, version)
        )""",
        f"""INSERT INTO runlife_events_v2 ({_EVENT_FIELDS_V1})
            SELECT {_EVENT_FIELDS_V1} FROM runlife_events""",
        "DROP TABLE runlife_events",
        "ALTER TABLE runlife_events_v2 RENAME TO runlife_events",
        "UPDATE runlife_schema SET version = 2 WHERE id = 1",
    ]


def _postgresql_1_to_2() -> list[str]:
    # PostgreSQL alters in place: `id` stays the primary key, `seq` is added, numbered, made
    # an identity whose next value follows the numbered rows, and indexed uniquely.
    return [
        "ALTER TABLE runlife_runs ADD COLUMN seq BIGINT",
        f"""UPDATE runlife_runs r SET seq = o.n
            FROM (SELECT id, {_NUMBERED} AS n FROM runlife_runs) o WHERE r.id = o.id""",
        "ALTER TABLE runlife_runs ALTER COLUMN seq SET NOT NULL",
        "ALTER TABLE runlife_runs ALTER COLUMN seq ADD GENERATED BY DEFAULT AS IDENTITY",
        """SELECT setval(pg_get_serial_sequence('runlife_runs', 'seq'),
            (SELECT COALESCE(MAX(seq), 0) + 1 FROM runlife_runs), false)""",
        "CREATE UNIQUE INDEX runlife_runs_seq ON runlife_runs (seq)",
        "DROP INDEX runlife_runs_thread",
        "DROP INDEX runlife_runs_claim",
        *_SEQ_INDEXES,
        "ALTER TABLE runlife_events ADD COLUMN changes TEXT",
        "ALTER TABLE runlife_events ALTER COLUMN body DROP NOT NULL",
        f"ALTER TABLE runlife_events ADD CONSTRAINT runlife_events_changes {_EVENTS_V2_CHECK}",
        "UPDATE runlife_schema SET version = 2 WHERE id = 1",
    ]


_STEP_STATUSES: Final = _in(tuple(s.value for s in StepStatus))


def _2_to_3(bigint: str) -> list[str]:
    # Version 3, run steps: a table of their own (the step's wire object, as a run's), and
    # on each history row the step events of its move. Both backends add them in place;
    # version-2 rows are kept as they are (a version-2 run has no stored steps).
    return [
        # One row per step: `ordinal` its place among its run's steps (0, 1, 2 ...: the
        # creation order, as `run.steps`), `body` its wire object as exact JSON text.
        f"""CREATE TABLE runlife_steps (
            run_id TEXT NOT NULL,
            id TEXT NOT NULL,
            ordinal {bigint} NOT NULL CHECK (ordinal >= 0),
            status TEXT NOT NULL CHECK (status IN {_STEP_STATUSES}),
            created_at {bigint} NOT NULL,
            body TEXT NOT NULL,
            PRIMARY KEY (run_id, id)
        )""",
        # list_steps(): a run's steps in creation order, paginated by ordinal.
        "CREATE UNIQUE INDEX runlife_steps_order ON runlife_steps (run_id, ordinal)",
        # The step events of a history row's move (JSON: [{"event", "data"}, ...]), or NULL.
        "ALTER TABLE runlife_events ADD COLUMN steps TEXT",
        "UPDATE runlife_schema SET version = 3 WHERE id = 1",
    ]


#: Upgrade steps per backend: ``MIGRATIONS[backend][n]`` takes a schema from version
#: ``n - 1`` to ``n`` and ends by setting ``runlife_schema.version = n``. Each step runs in
#: its own transaction. Version 1 is created by ``ddl_v1``.
MIGRATIONS: Final[dict[str, dict[int, list[str]]]] = {
    "sqlite": {2: _sqlite_1_to_2(), 3: _2_to_3(_BIGINT["sqlite"])},
    "postgresql": {2: _postgresql_1_to_2(), 3: _2_to_3(_BIGINT["postgresql"])},
}


def steps(found: int | None, backend: str) -> list[list[str]]:
    """The transactions (each a list of statements) that bring *found* to the latest version.

    *found* ``None``: no schema yet; it is created as version 1, then upgraded.
    """
    first = [ddl_v1(_BIGINT[backend])] if found is None else []
    start = 1 if found is None else found
    return first + [MIGRATIONS[backend][v] for v in range(start + 1, SCHEMA_VERSION + 1)]


# --- statements shared by both backends -------------------------------------------------------

RUN_COLUMNS: Final = "id, thread_id, status, version, worker, lease_until, body"

SELECT_RUN: Final = f"SELECT {RUN_COLUMNS} FROM runlife_runs WHERE id = ?"

# The statements that select runs to load (with their steps: ``_steps.with_steps``) name
# their sort key ``k``.
SELECT_RUN_K: Final = f"SELECT {RUN_COLUMNS}, 0 AS k FROM runlife_runs WHERE id = ?"

INSERT_RUN: Final = """INSERT INTO runlife_runs
    (id, thread_id, status, version, created_at, expires_at, worker, lease_until, invalid, body)
    VALUES (?, ?, ?, 0, ?, ?, NULL, NULL, NULL, ?)"""

EVENT_COLUMNS: Final = (
    "run_id, version, kind, trigger, source, dest, at, worker, args, changes, body, steps"
)

INSERT_EVENT: Final = (
    f"INSERT INTO runlife_events ({EVENT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)

# A run's history rows from the last one holding a whole body at or before version ?
# (the creation at the latest) up to version ?: what rebuilding rows after a version needs.
EVENTS_FROM_BASE: Final = f"""SELECT {EVENT_COLUMNS} FROM runlife_events
    WHERE run_id = ? AND version <= ? AND version >= COALESCE((SELECT MAX(version)
        FROM runlife_events WHERE run_id = ? AND version <= ? AND body IS NOT NULL), 0)
    ORDER BY version"""

# The compare-and-set write of a run. Lease modes: 0 keep, 1 release, 2 set (claim/renew).
UPDATE_RUN: Final = """UPDATE runlife_runs SET status = ?, version = ?, expires_at = ?, body = ?,
    worker = CASE ? WHEN 0 THEN worker WHEN 1 THEN NULL ELSE ? END,
    lease_until = CASE ? WHEN 0 THEN lease_until WHEN 1 THEN NULL ELSE ? END
    WHERE id = ? AND version = ?"""

FENCE: Final = " AND worker = ? AND lease_until >= ?"

CLAIM: Final = f"""SELECT {RUN_COLUMNS}, seq AS k FROM runlife_runs
    WHERE status = 'queued' AND invalid IS NULL AND expires_at > ?
    ORDER BY seq LIMIT ?"""

DUE: Final = f"""SELECT {RUN_COLUMNS}, expires_at AS k FROM runlife_runs
    WHERE status IN {ACTIVE_SQL} AND invalid IS NULL AND expires_at <= ?
    ORDER BY expires_at LIMIT ?"""

LAPSED: Final = f"""SELECT {RUN_COLUMNS}, lease_until AS k FROM runlife_runs
    WHERE worker IS NOT NULL AND lease_until < ? AND invalid IS NULL
    ORDER BY lease_until LIMIT ?"""

UNHELD_CANCEL: Final = f"""SELECT {RUN_COLUMNS}, seq AS k FROM runlife_runs
    WHERE status = 'cancelling' AND worker IS NULL AND invalid IS NULL LIMIT ?"""

PURGEABLE: Final = f"""SELECT id FROM runlife_runs
    WHERE status IN {TERMINAL_SQL} AND created_at < ? ORDER BY created_at LIMIT ?"""

QUARANTINE: Final = (
    "UPDATE runlife_runs SET invalid = ?, worker = NULL, lease_until = NULL WHERE id = ?"
)
