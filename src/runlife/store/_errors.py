"""The store's own errors, under runlife's hierarchy.

::


    RunlifeError
    ├── Conflict
    │   └── LeaseLost: a worker wrote to a run it no longer holds (fenced, nothing written)
    ├── ThreadBusy: the thread already has an active run (the database refused a second)
    ├── StepNotFound (also LookupError): no step with that id in the run
    └── StoreError: the store cannot be used: driver missing, server unreachable, bad schema
        ├── StoreURLError (also ValueError): the URL is malformed or of an unknown scheme
        ├── SchemaTooNew: the database was written by a newer runlife
        ├── SchemaTooOld: the database has an older schema, and opening may not upgrade it
        └── StoreFileGone: the SQLite file was removed or replaced under the open store

Lookups raise ``runlife.RunNotFound`` (a ``LookupError``); rows that do not load raise
``runlife.InvalidRun`` naming the run id.
"""

from __future__ import annotations

from runlife import Conflict, RunlifeError, ThreadBusy

# ``ThreadBusy`` is runlife's own: one class for the engine's and the database's "one
# active run per thread" rule, so that one ``except ThreadBusy`` catches both.
__all__ = [
    "LeaseLost",
    "SchemaTooNew",
    "SchemaTooOld",
    "StepNotFound",
    "StoreError",
    "StoreFileGone",
    "StoreURLError",
    "ThreadBusy",
]


class StepNotFound(RunlifeError, LookupError):
    """No step *step_id* in run *run_id* (``Store.get_step``, a ``list_steps`` cursor).

    As ``runlife.RunNotFound`` is for runs: a ``LookupError``; attributes *run_id*, *step_id*.
    """

    def __init__(self, run_id: str, step_id: str) -> None:
        self.run_id = run_id
        self.step_id = step_id
        super().__init__(f"no step {step_id} in run {run_id}")

    def __str__(self) -> str:
        # LookupError/KeyError would quote; keep the sentence plain.
        return str(self.args[0])


class StoreError(RunlifeError):
    """The store cannot do what was asked: no driver, no server, a broken connection, a bad schema."""


class StoreURLError(StoreError, ValueError):
    """A store URL that is malformed or of an unknown scheme; the message lists the accepted forms."""


class SchemaTooNew(StoreError):
    """The database holds a schema newer than this runlife understands; nothing was written.

    Attributes: *found* and *supported* schema versions.
    """

    def __init__(self, url: str, found: int, supported: int) -> None:
        self.found = found
        self.supported = supported
        super().__init__(
            f"the store at {url} has schema version {found}, but this runlife understands "
            f"versions up to {supported}: upgrade runlife (nothing was written)"
        )


class SchemaTooOld(StoreError):
    """The database holds an older schema, and the store was opened without upgrading it.

    ``open_store(url, create=False)`` never changes a schema; upgrade it first with
    ``runlife store upgrade URL`` (or ``open_store(url, upgrade=True)``). Nothing was
    written. Attributes: *found* and *supported* schema versions.
    """

    def __init__(self, url: str, found: int, supported: int) -> None:
        self.found = found
        self.supported = supported
        super().__init__(
            f"the store at {url} has schema version {found}, older than this runlife's "
            f"{supported}, and it was opened without upgrading: run `runlife store upgrade "
            f"{url}` (nothing was written)"
        )


class StoreFileGone(StoreError):
    """The SQLite file of an open store was removed or replaced: nothing is acknowledged.

    The store compares the file at its path with the one it opened (device and inode)
    before every operation and before every commit; while they differ it refuses
    everything with this error (a write in flight is rolled back). It resumes by itself
    when the very file it opened is back at the path (moved away and back); a different
    file (a restored backup, a new empty one) is never adopted by an open store: reopen it.
    Attributes: *path*, *reason* (``"removed"`` or ``"replaced"``).
    """

    def __init__(self, url: str, path: str, reason: str) -> None:
        self.path = path
        self.reason = reason
        what = "removed" if reason == "removed" else "replaced by another file"
        super().__init__(
            f"the SQLite store {url}: its file {path} was {what} while the store was open; "
            "nothing is written until the file it opened is back (or the store is reopened)"
        )


class LeaseLost(Conflict):
    """*worker* wrote, as a worker, to run *run_id* that it does not hold; nothing was written.

    Its lease lapsed (the run may have been rescued since), or another worker holds the
    run, or none does. Attributes: *run_id*, *worker*, *holder* (the worker whose lease
    is live now, or ``None``), *status* (the run's stored status).
    """

    def __init__(
        self, run_id: str, worker: str, holder: str | None, status: str, lapsed_at: int | None
    ) -> None:
        self.run_id = run_id
        self.worker = worker
        self.holder = holder
        self.status = status
        if lapsed_at is not None:
            why = f"its lease lapsed at {lapsed_at}"
        elif holder is not None:
            why = f"{holder} holds it"
        else:
            why = "no worker holds it"
        super().__init__(
            f"worker {worker} does not hold run {run_id} ({why}; the run is {status}): "
            "the write was refused and nothing was written"
        )
