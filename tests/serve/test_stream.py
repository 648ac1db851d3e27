"""``_stream``: a run's stored events as Server-Sent Events, until the run waits."""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any, cast

import pytest

from runlife import WAITING, ManualClock, RunEngine, RunEvent
from runlife.serve import Signals
from runlife.serve._stream import Streams
from runlife.serve._watch import Watch
from runlife.store import StoredEvent, open_store

TOOLS = [{"type": "function", "function": {"name": "f"}}]
CALLS = [
    {"id": f"call_{i}", "type": "function", "function": {"name": "f", "arguments": "{}"}}
    for i in range(2)
]
USAGE = {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}


def row(version: int, kind: str, dest: str) -> StoredEvent:
    return StoredEvent(
        run_id="run_1",
        version=version,
        kind=kind,
        trigger=None if kind == "create" else "t",
        source=None if kind == "create" else "queued",
        dest=dest,
        at=0,
        worker=None,
        args={},
        data={"id": "run_1", "status": dest, "v": version},
    )


class _Rows:
    """A store of one run's event rows, handed out in batches (one per read)."""

    def __init__(self, *batches: list[StoredEvent]) -> None:
        self.batches = list(batches)
        self.reads: list[int] = []

    def events_since(self, run_id: str, version: int) -> list[StoredEvent]:
        assert run_id == "run_1"
        self.reads.append(version)
        if not self.batches:
            raise AssertionError("read past the end of the stream")
        return self.batches.pop(0)


def frames(store: Any, after: int = 0, head: Any = ()) -> list[tuple[str, Any]]:
    streams = Streams(cast("Any", store), Watch(Signals.local()), poll=0.001)

    async def read() -> list[str]:
        return [frame async for frame in streams.follow("run_1", after, head)]

    out = []
    for frame in asyncio.run(read()):
        event, data = frame.removesuffix("\n\n").split("\n")
        body = data.removeprefix("data: ")
        out.append((event.removeprefix("event: "), body if body == "[DONE]" else json.loads(body)))
    return out


def test_head_then_moves_until_the_run_waits():
    """Metadata updates stream nothing; ``cancelling`` goes on; ``requires_action`` ends it."""
    store = _Rows(
        [row(1, "move", "in_progress"), row(2, "metadata", "in_progress")],
        [],
        [row(3, "move", "requires_action"), row(4, "move", "cancelling")],
    )
    got = frames(store, 0, [("thread.run.created", {"id": "run_1"})])
    assert [name for name, _ in got] == [
        "thread.run.created",
        "thread.run.in_progress",
        "thread.run.requires_action",
        "done",
    ]
    assert got[2][1]["v"] == 3
    assert got[-1][1] == "[DONE]"
    assert store.reads == [0, 2, 2]


def test_a_stream_goes_on_through_cancelling_to_cancelled():
    store = _Rows([row(5, "move", "cancelling")], [row(6, "move", "cancelled")])
    got = frames(store, 4)
    assert [name for name, _ in got] == ["thread.run.cancelling", "thread.run.cancelled", "done"]


def test_a_failure_is_a_generic_error_event_and_is_logged(caplog):
    class _Broken:
        def events_since(self, _run_id: str, _version: int) -> Any:
            raise OSError("disk at /secret/path is gone")

    with caplog.at_level(logging.ERROR, logger="runlife.serve"):
        got = frames(_Broken())
    assert got == [
        (
            "error",
            {
                "error": {
                    "message": "The server had an error while processing your request.",
                    "type": "server_error",
                    "param": None,
                    "code": None,
                }
            },
        )
    ]
    assert "/secret/path" in caplog.text


def test_the_response_is_an_event_stream():
    streams = Streams(cast("Any", _Rows()), Watch(Signals.local()), poll=0.001)
    response = streams.response("run_1", 0)
    assert response.media_type == "text/event-stream"
    assert response.headers["cache-control"] == "no-cache"
    assert response.headers["x-accel-buffering"] == "no"


def test_a_function_calling_run_streams_the_engines_own_events(tmp_path):
    """Read back from a real store, each move streams what ``RunEvent.stream_events()`` gives
    for it in the engine (its step events, then the run's event; a driver's step move its
    step events alone), in order, up to where the run waits."""
    store = open_store(f"sqlite:///{tmp_path / 'runs.db'}", engine=RunEngine())
    heard: list[RunEvent] = []
    store.engine.subscribe(heard.append)
    try:
        run = store.create(id="run_1", thread_id="t", assistant_id="a", model="m", tools=TOOLS)
        store.claim(1, worker="w")
        with store.move(run.id, worker="w") as moving:
            moving.require_action(CALLS)
        with store.move(run.id) as moving:
            moving.submit_tool_outputs(
                [{"tool_call_id": call["id"], "output": "21"} for call in CALLS]
            )
        store.claim(1, worker="w")
        with store.move(run.id, worker="w") as moving:
            moving.open_message_step("msg_1")
            moving.complete_message_step(USAGE)
            moving.complete(USAGE)
        expected = [(e["event"], e["data"]) for event in heard[1:] for e in event.stream_events()]
        waits = next(i for i, (name, _) in enumerate(expected) if name.endswith("requires_action"))
        assert frames(store, 0) == [*expected[: waits + 1], ("done", "[DONE]")]
        assert frames(store, 2) == [*expected[waits + 1 :], ("done", "[DONE]")]
        names = [name for name, _ in expected]
        assert names == [
            "thread.run.in_progress",
            "thread.run.step.created",
            "thread.run.step.in_progress",
            "thread.run.step.delta",
            "thread.run.step.delta",
            "thread.run.requires_action",
            "thread.run.step.completed",
            "thread.run.queued",
            "thread.run.in_progress",
            "thread.run.step.created",
            "thread.run.step.in_progress",
            "thread.run.step.completed",
            "thread.run.completed",
        ]
    finally:
        store.close()


def _waiting(store: Any) -> str:
    """run_1, claimed and waiting for the outputs of CALLS."""
    run = store.create(id="run_1", thread_id="t", assistant_id="a", model="m", tools=TOOLS)
    store.claim(1, worker="w")
    with store.move(run.id, worker="w") as moving:
        moving.require_action(CALLS)
    return str(run.id)


def _fail_while_writing(store: Any) -> None:
    run_id = _waiting(store)
    with store.move(run_id) as moving:
        moving.submit_tool_outputs([{"tool_call_id": c["id"], "output": "21"} for c in CALLS])
    store.claim(1, worker="w")
    with store.move(run_id, worker="w") as moving:
        moving.open_message_step("msg_1")
        moving.fail("server_error", "the model went away")


def _cancel_while_waiting(store: Any) -> None:
    run_id = _waiting(store)
    with store.move(run_id) as moving:
        moving.cancel()
    with store.move(run_id) as moving:
        moving.finish_cancel()


def _expire_while_waiting(store: Any) -> None:
    run_id = _waiting(store)
    store.engine.clock.advance(601)
    assert store.expire_due().moved == (run_id,)


@pytest.mark.parametrize(
    ("path", "last"),
    [
        (_fail_while_writing, ["thread.run.step.failed", "thread.run.failed"]),
        (
            _cancel_while_waiting,
            ["thread.run.cancelling", "thread.run.step.cancelled", "thread.run.cancelled"],
        ),
        (_expire_while_waiting, ["thread.run.step.expired", "thread.run.expired"]),
    ],
    ids=["fail", "cancel", "expire"],
)
def test_a_stream_from_any_version_is_the_engines_up_to_where_the_run_waits(tmp_path, path, last):
    """From each version on, a stream is the engine's ``stream_events()`` of every later
    move, up to the first where the run waits; a run's end streams its open step's end
    first."""
    engine = RunEngine(clock=ManualClock(1_700_000_000))
    store = open_store(f"sqlite:///{tmp_path / 'runs.db'}", engine=engine)
    heard: list[RunEvent] = []
    store.engine.subscribe(heard.append)
    try:
        path(store)
        moves = heard[1:]
        for since in range(len(moves)):
            expected: list[tuple[str, Any]] = []
            for event in moves[since:]:
                expected += [(e["event"], e["data"]) for e in event.stream_events()]
                if not event.is_step_move and event.data["status"] in WAITING:
                    break
            assert frames(store, since) == [*expected, ("done", "[DONE]")], since
        streamed = [e["event"] for event in moves for e in event.stream_events()]
        assert streamed[-len(last) :] == last
    finally:
        store.close()
