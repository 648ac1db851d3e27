"""Streams: a run's events as Server-Sent Events, from the store's event rows, until it stops.

Each row streams ``StoredEvent.stream_events()``, a move's events as the engine's
``RunEvent.stream_events()`` orders them: its step events (``thread.run.step.*``), then the
run's own event, which a driver's step move (``open_message_step``,
``complete_message_step``) does not have; a metadata update streams nothing.

Workers move runs in other processes: a stream reads ``Store.events_since`` (rows written in
each move's transaction), so it misses no state; it wakes on the change table (``Watch``)
or, for moves made on other machines, every *poll* seconds.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from anyio import to_thread
from starlette.responses import StreamingResponse

from runlife import WAITING

from . import sse
from ._errors import server_error

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Sequence

    from runlife.store import Store

    from ._watch import Watch

__all__ = ["Streams"]

_log = logging.getLogger("runlife.serve")


class Streams:
    """Event-stream answers over one store."""

    def __init__(self, store: Store, watch: Watch, *, poll: float) -> None:
        self.store = store
        self.watch = watch
        self.poll = poll

    def response(
        self, run_id: str, after: int, head: Sequence[tuple[str, dict[str, Any]]] = ()
    ) -> StreamingResponse:
        """The stream of *run_id*: the *head* events, then its moves after version *after*."""
        return StreamingResponse(
            self.follow(run_id, after, head),
            media_type=sse.MEDIA_TYPE,
            headers={"cache-control": "no-cache", "x-accel-buffering": "no"},
        )

    async def follow(
        self, run_id: str, after: int, head: Sequence[tuple[str, dict[str, Any]]] = ()
    ) -> AsyncIterator[str]:
        """The run's events from version *after* on, until it stops; then ``[DONE]``.

        A stream stops where a client waits (``runlife.WAITING``: ``requires_action`` or a
        terminal status); ``cancelling`` goes on. A failure ends the stream with an ``error``
        event whose message says nothing of its cause (that is logged).
        """
        for name, data in head:
            yield sse.encode(name, data)
        last = after
        try:
            while True:
                snap = self.watch.snapshot(run_id)
                rows = await to_thread.run_sync(self.store.events_since, run_id, last)
                for row in rows:
                    last = row.version
                    for event in row.stream_events():
                        yield sse.encode(event["event"], event["data"])
                    if row.kind == "move" and row.dest in WAITING:
                        yield sse.done()
                        return
                await self.watch.wait(snap, self.poll)
        except Exception:  # noqa: BLE001 - reported in the stream, as the API does
            _log.exception("stream of run %s", run_id)
            yield sse.encode("error", server_error())
