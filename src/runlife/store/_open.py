"""Opening a store: the URL decides the backend (SQLite, PostgreSQL)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._url import parse_url

if TYPE_CHECKING:
    from runlife import RunEngine

    from ._store import Store

__all__ = ["open_store"]


def open_store(
    url: str,
    *,
    engine: RunEngine | None = None,
    lease: int = 30,
    retries: int = 3,
    create: bool = True,
    upgrade: bool | None = None,
    pool_size: int = 8,
) -> Store:
    """Open the store at *url*, creating (or upgrading) its schema on first use.

    Args:
        url: ``sqlite:///relative/runs.db``, ``sqlite:////absolute/runs.db``,
            ``sqlite:///:memory:`` or ``postgresql://user@host:port/db`` (PostgreSQL needs
            ``pip install ".[postgres]"``).
        engine: the ``RunEngine`` every move goes through (its clock, ttl and listeners);
            a new ``RunEngine()`` when omitted.
        lease: seconds a claimed run belongs to its worker without a heartbeat.
        retries: how many times a move that lost a compare-and-set race is tried again on
            the fresh state before ``Conflict``.
        create: create the schema when there is none (otherwise raise ``StoreError``).
        upgrade: upgrade an older schema in place (otherwise raise ``SchemaTooOld``);
            by default as *create*: ``create=False`` opens only a store at this version.
        pool_size: the most connections the store opens at once (threads beyond wait).

    Raises:
        StoreURLError: a malformed URL or unknown scheme (nothing is opened).
        SchemaTooNew: the database was written by a newer runlife (nothing is written).
        SchemaTooOld: an older schema and no *upgrade* (nothing is written).
        StoreError: the driver is missing, or the database cannot be opened or reached.
    """
    parsed = parse_url(url)
    if type(pool_size) is not int or pool_size < 1:
        raise ValueError(f"pool_size: expected an int >= 1, got {pool_size!r}")
    if upgrade is None:
        upgrade = create
    if type(create) is not bool or type(upgrade) is not bool:
        raise TypeError(f"create, upgrade: expected bools, got {create!r}, {upgrade!r}")
    kind: type[Store]
    if parsed.backend == "sqlite":
        from ._sqlite import SQLiteStore  # noqa: PLC0415

        kind = SQLiteStore
    else:
        from ._postgres import PostgresStore  # noqa: PLC0415

        kind = PostgresStore
    return kind(
        parsed,
        engine=engine,
        lease=lease,
        retries=retries,
        create=create,
        upgrade=upgrade,
        pool_size=pool_size,
    )
