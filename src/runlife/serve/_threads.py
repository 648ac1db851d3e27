"""Threads: what ``POST /threads`` made, kept by the server process; the rest implicit.

The store keeps runs, not threads: a thread exists because a request named it. So a thread
is one of:

- *explicit*: made by ``POST /v1/threads`` or ``POST /v1/threads/runs`` of this process; its
  ``created_at``, ``metadata`` and ``tool_resources`` are kept here, in memory, and answered
  by ``GET``/``POST /v1/threads/{id}``;
- *implicit*: a thread id the store has runs for but this process holds no record of (a run
  created on a thread id of the client's choosing, or a thread made before a restart). It is
  answered as the API would a thread never updated: ``created_at`` of its first run,
  ``metadata`` and ``tool_resources`` empty. Updating it makes it explicit;
- *deleted*: ``DELETE /v1/threads/{id}`` answers the API's ``thread.deleted``; from then on
  this process answers 404 for the thread and refuses new runs on it. Its runs stay in the
  store (``runlife store purge`` removes finished ones).

At most *capacity* records are kept (oldest forgotten first: they become implicit again).
"""

from __future__ import annotations

import secrets
import threading
import time
from collections import OrderedDict
from typing import Any

__all__ = ["DEFAULT_THREAD_CAPACITY", "Threads", "deleted_thread", "thread_object"]

#: How many thread records one server process keeps.
DEFAULT_THREAD_CAPACITY = 100_000


def thread_object(
    thread_id: str, created_at: int, metadata: dict[str, Any], tool_resources: dict[str, Any]
) -> dict[str, Any]:
    """The API's thread object."""
    return {
        "id": thread_id,
        "object": "thread",
        "created_at": created_at,
        "metadata": metadata,
        "tool_resources": tool_resources,
    }


def deleted_thread(thread_id: str) -> dict[str, Any]:
    """The API's answer to a thread's delete."""
    return {"id": thread_id, "object": "thread.deleted", "deleted": True}


class Threads:
    """The thread records of one server process (thread-safe), *capacity* at most."""

    def __init__(self, capacity: int = DEFAULT_THREAD_CAPACITY) -> None:
        self.capacity = capacity
        self._lock = threading.Lock()
        #: id -> the thread object, or ``None`` for a deleted thread.
        self._records: OrderedDict[str, dict[str, Any] | None] = OrderedDict()

    @staticmethod
    def new_id() -> str:
        """A new thread id, as the API makes them (``thread_`` and 24 characters)."""
        return f"thread_{secrets.token_urlsafe(18)}"

    def _keep(self, thread_id: str, record: dict[str, Any] | None) -> None:
        self._records[thread_id] = record
        self._records.move_to_end(thread_id)
        while len(self._records) > self.capacity:
            self._records.popitem(last=False)

    def add(self, thread_id: str, fields: dict[str, Any]) -> dict[str, Any]:
        """Keep a new thread of *fields* (``metadata``, ``tool_resources``); its object."""
        thread = thread_object(
            thread_id, int(time.time()), fields["metadata"], fields["tool_resources"]
        )
        with self._lock:
            self._keep(thread_id, thread)
        return thread

    def deleted(self, thread_id: str) -> bool:
        """Whether *thread_id* was deleted (as far as this process remembers)."""
        with self._lock:
            return thread_id in self._records and self._records[thread_id] is None

    def get(self, thread_id: str) -> dict[str, Any] | None:
        """The explicit thread's object, or ``None`` (unknown, implicit or deleted)."""
        with self._lock:
            return self._records.get(thread_id)

    def update(self, thread: dict[str, Any], fields: dict[str, Any]) -> dict[str, Any] | None:
        """Keep *thread* (explicit or implicit) with *fields* changed; its new object.

        ``None`` when it was deleted meanwhile.
        """
        with self._lock:
            if thread["id"] in self._records and self._records[thread["id"]] is None:
                return None
            updated = thread | fields
            self._keep(thread["id"], updated)
            return updated

    def delete(self, thread_id: str) -> None:
        """Mark *thread_id* deleted."""
        with self._lock:
            self._keep(thread_id, None)
