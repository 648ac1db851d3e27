"""Server-Sent Events framing, as the Assistants API streams runs.

Standard library only: ``import runlife.serve.sse`` needs neither the ``serve`` extra nor
anything else of runlife, so code outside the service (the core's deprecated
``runlife.sse_encode``) can frame events with it.

>>> print(encode("thread.run.queued", {"id": "run_1"}), end="")
event: thread.run.queued
data: {"id":"run_1"}
<BLANKLINE>
>>> print(done(), end="")
event: done
data: [DONE]
<BLANKLINE>
"""

from __future__ import annotations

import json
from typing import Any, Final

__all__ = ["DONE", "MEDIA_TYPE", "done", "encode"]

#: The literal *data* the Assistants API ends a stream with (sent as is, not as JSON).
DONE: Final = "[DONE]"
#: The ``Content-Type`` of an event stream.
MEDIA_TYPE: Final = "text/event-stream"


def encode(event: str, data: Any) -> str:
    """Frame one Server-Sent Event: ``event: <event>``, ``data: <compact JSON>``, blank line.

    *data* may be a JSON value or the literal ``DONE`` (``"[DONE]"``) the Assistants API
    ends streams with.

    Raises:
        ValueError: *event* contains a line break (it would end the field early).
    """
    if "\n" in event or "\r" in event:
        raise ValueError(f"an SSE event name cannot contain a line break: {event!r}")
    body = data if data == DONE else json.dumps(data, separators=(",", ":"), ensure_ascii=False)
    return f"event: {event}\ndata: {body}\n\n"


def done() -> str:
    """The last frame of a stream: ``event: done`` / ``data: [DONE]``."""
    return encode("done", DONE)
