"""Events: names, contents, the official SDK's stream types, SSE framing, and listener errors."""

from __future__ import annotations

import logging
import pickle
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from openai._streaming import SSEDecoder
from openai.types.beta import AssistantStreamEvent
from pydantic import TypeAdapter

import runlife
from runlife import (
    TERMINAL,
    ManualClock,
    RunEngine,
    RunEvent,
    RunStatus,
    to_dict,
)
from runlife.serve.sse import encode as sse_encode
from tests.support import PATHS, T0, fire, new_engine, new_run, run_in

STREAM_EVENT: TypeAdapter[Any] = TypeAdapter(AssistantStreamEvent)


def events_to(status: RunStatus) -> tuple[list[RunEvent], Any]:
    """The events of a run brought to *status*, and the run."""
    engine, clock = new_engine()
    events: list[RunEvent] = []
    engine.subscribe(events.append)
    run = run_in(status, engine, clock)
    return events, run


#: A path through every status: created, then each of the nine statuses.
EVERY_STATUS = [
    *PATHS[RunStatus.REQUIRES_ACTION],
    "submit_tool_outputs",
    "start",
    "cancel",
    "complete",
]


class TestNames:
    def test_created_then_one_per_move(self):
        """Creation sends thread.run.created, then each move thread.run.<new status>."""
        events, _ = events_to(RunStatus.CANCELLED)
        assert [e.event for e in events] == [
            "thread.run.created",
            "thread.run.in_progress",
            "thread.run.cancelling",
            "thread.run.cancelled",
        ]

    @pytest.mark.parametrize("status", list(RunStatus), ids=str)
    def test_every_status(self, status: RunStatus):
        """The last event of a run brought to a status is named after it."""
        events, run = events_to(status)
        last = events[-1]
        expected = "thread.run.created" if status == RunStatus.QUEUED else f"thread.run.{status}"
        assert last.event == expected
        assert last.dest == status == run.status
        assert last.data == to_dict(run)

    def test_requeued_run_sends_queued(self):
        """A run re-queued by submit_tool_outputs sends thread.run.queued."""
        run_events: list[RunEvent] = []
        engine, clock = new_engine()
        engine.subscribe(run_events.append)
        run = run_in(RunStatus.REQUIRES_ACTION, engine, clock)
        run.submit_tool_outputs([{"tool_call_id": "call_1", "output": "sunny"}])
        assert run_events[-1].event == "thread.run.queued"
        assert run_events[-1].dest == "queued"
        assert (run_events[-1].trigger, run_events[-1].source) == (
            "submit_tool_outputs",
            "requires_action",
        )


class TestContents:
    def test_attributes(self):
        """Each event carries trigger, source, dest, time, run id, version and the wire after the move."""
        engine, clock = new_engine()
        events: list[RunEvent] = []
        engine.subscribe(events.append)
        run = new_run(engine)
        snapshots = [to_dict(run)]
        for trigger in ("start", "cancel", "finish_cancel"):
            clock.advance(2)
            getattr(run, trigger)()
            snapshots.append(to_dict(run))
        assert [(e.trigger, e.source, e.dest, e.at, e.version) for e in events] == [
            (None, None, "queued", T0, 0),
            ("start", "queued", "in_progress", T0 + 2, 1),
            ("cancel", "in_progress", "cancelling", T0 + 4, 2),
            ("finish_cancel", "cancelling", "cancelled", T0 + 6, 3),
        ]
        assert [e.data for e in events] == snapshots
        assert {e.run_id for e in events} == {"run_abc"}
        assert [e.data["status"] for e in events] == [e.dest for e in events]

    def test_data_is_a_fresh_dict(self):
        """An event's data shares nothing with the run: a listener cannot change the run."""
        engine, _ = new_engine()
        events: list[RunEvent] = []
        engine.subscribe(events.append)
        run = new_run(engine, metadata={"k": "v"})
        run.start()
        events[-1].data["metadata"]["k"] = "changed"
        events[-1].data["status"] = "completed"
        assert run.metadata == {"k": "v"}
        assert run.status == "in_progress"

    def test_data_is_built_once_and_shared(self):
        """Listeners of one event, in any threads, read the very same dict."""
        engine, _ = new_engine()
        events: list[RunEvent] = []
        engine.subscribe(events.append)
        new_run(engine).start()
        event = events[-1]
        with ThreadPoolExecutor(8) as pool:
            seen = list(pool.map(lambda _: event.data, range(64)))
        assert all(d is seen[0] for d in seen)

    def test_events_are_read_only_and_pickle(self):
        """An event cannot be changed, and survives pickling (to another process) whole."""
        events, run = events_to(RunStatus.REQUIRES_ACTION)
        event = events[-1]
        with pytest.raises(AttributeError, match="read-only"):
            event.version = 7
        with pytest.raises(AttributeError, match="read-only"):
            del event.data
        again = pickle.loads(pickle.dumps(event))  # noqa: S301 - our own bytes
        assert again == event
        assert again.data == to_dict(run)
        assert again.to_stream_event() == event.to_stream_event()

    def test_refused_moves_send_nothing(self):
        """A move that raises sends no event."""
        engine, _ = new_engine()
        events: list[RunEvent] = []
        engine.subscribe(events.append)
        run = new_run(engine)
        with pytest.raises(Exception, match="cannot complete"):
            run.complete()
        with pytest.raises(Exception, match="not due yet"):
            run.expire()
        assert [e.event for e in events] == ["thread.run.created"]

    def test_dest_from_the_name(self):
        """RunEvent.dest reads the status from the event name (queued for created)."""
        event = RunEvent("thread.run.requires_action", {}, "require_action", "in_progress", 1, "r")
        assert event.dest == "requires_action"
        assert RunEvent("thread.run.created", {}, None, None, 1, "r").dest == "queued"


class TestOfficialSDK:
    @pytest.mark.parametrize("status", list(RunStatus), ids=str)
    def test_stream_event_accepts_every_event(self, status: RunStatus):
        """The SDK's AssistantStreamEvent validates {"event", "data"} of every event, typed by name."""
        events, _ = events_to(status)
        for event in events:
            parsed = STREAM_EVENT.validate_python(event.to_stream_event())
            assert parsed.event == event.event
            assert parsed.data.status == event.dest
            assert parsed.data.model_dump(mode="json", exclude_unset=True) == event.data

    def test_sse_parses_back_with_the_sdk(self):
        """The SSE framing, cut into odd chunks, parses back with the SDK's decoder and types."""
        engine, clock = new_engine()
        events: list[RunEvent] = []
        engine.subscribe(events.append)
        run = new_run(engine)
        for trigger in EVERY_STATUS:
            clock.advance(1)
            fire(run, trigger)
        stream = (
            "".join(sse_encode(e.event, e.data) for e in events) + sse_encode("done", "[DONE]")
        ).encode()
        chunks = [stream[i : i + 7] for i in range(0, len(stream), 7)]
        parsed = list(SSEDecoder().iter_bytes(iter(chunks)))
        assert [p.event for p in parsed] == [*(e.event for e in events), "done"]
        assert parsed[-1].data == "[DONE]"
        for sse, event in zip(parsed, events, strict=False):
            typed = STREAM_EVENT.validate_python({"event": sse.event, "data": sse.json()})
            assert typed.data.model_dump(mode="json", exclude_unset=True) == event.data
        assert [e.dest for e in events] == [
            "queued",
            "in_progress",
            "requires_action",
            "queued",
            "in_progress",
            "cancelling",
            "completed",
        ]

    def test_sse_lines(self):
        """One event is an event line, one data line of compact JSON, and a blank line."""
        text = sse_encode("thread.run.queued", {"id": "run_1", "note": "é\nx"})
        assert text == 'event: thread.run.queued\ndata: {"id":"run_1","note":"é\\nx"}\n\n'

    def test_sse_aliases_are_deprecated(self):
        """runlife.sse_encode and RunEvent.to_sse still frame, with a DeprecationWarning."""
        engine, _ = new_engine()
        events: list[RunEvent] = []
        engine.subscribe(events.append)
        new_run(engine)
        with pytest.warns(DeprecationWarning, match=r"runlife\.serve\.sse\.encode"):
            framed = events[0].to_sse()
        assert framed == sse_encode(events[0].event, events[0].data)
        with pytest.warns(DeprecationWarning, match=r"runlife\.serve\.sse\.encode"):
            alias = runlife.sse_encode
        with pytest.warns(DeprecationWarning, match=r"runlife\.serve\.sse\.encode"):
            assert alias("done", "[DONE]") == sse_encode("done", "[DONE]")

    def test_sse_refuses_line_breaks_in_names(self):
        """An event name with a line break would forge a second field: refused."""
        with pytest.raises(ValueError, match="cannot contain a line break"):
            sse_encode("thread.run.queued\ndata: x", {})


class TestListeners:
    def test_unsubscribe(self):
        """After unsubscribe the listener hears nothing; unsubscribing twice is harmless."""
        engine, _ = new_engine()
        heard: list[str] = []
        unsubscribe = engine.subscribe(lambda e: heard.append(e.event))
        run = new_run(engine)
        unsubscribe()
        unsubscribe()
        run.start()
        assert heard == ["thread.run.created"]

    def test_order_of_subscription(self):
        """Listeners are called in the order they subscribed."""
        engine, _ = new_engine()
        heard: list[str] = []
        engine.subscribe(lambda e: heard.append("a"))
        engine.subscribe(lambda e: heard.append("b"))
        new_run(engine)
        assert heard == ["a", "b"]

    def test_unsubscribe_inside_a_listener(self):
        """(Un)subscribing from a listener takes effect from the next event on."""
        engine, _ = new_engine()
        heard: list[str] = []
        unsubscribe_b = None

        def a(event: RunEvent) -> None:
            heard.append("a:" + event.dest)
            assert unsubscribe_b is not None
            unsubscribe_b()

        engine.subscribe(a)
        unsubscribe_b = engine.subscribe(lambda e: heard.append("b:" + e.dest))
        run = new_run(engine)
        run.start()
        assert heard == ["a:queued", "b:queued", "a:in_progress"]

    def test_not_callable(self):
        """Subscribing something that is not callable is a TypeError."""
        engine, _ = new_engine()
        with pytest.raises(TypeError, match="listener: expected a callable, got 3"):
            engine.subscribe(3)  # type: ignore[arg-type]


class TestListenerErrors:
    """Listeners observe, they never veto: the spec's decision."""

    def test_later_listeners_still_hear(self, caplog):
        """A failing listener neither undoes the move nor stops the listeners after it."""
        engine, _ = new_engine()
        heard: list[str] = []

        def bad(event: RunEvent) -> None:
            raise RuntimeError("down")

        engine.subscribe(bad)
        engine.subscribe(lambda e: heard.append(e.event))
        run = new_run(engine)
        with caplog.at_level(logging.ERROR, logger="runlife"):
            run.start()
        assert run.status == "in_progress"
        assert heard == ["thread.run.created", "thread.run.in_progress"]
        messages = [r.getMessage() for r in caplog.records]
        assert any("thread.run.in_progress of run run_abc" in m for m in messages)
        assert all(r.exc_info is not None for r in caplog.records)

    def test_hook_gets_event_and_exception(self):
        """on_listener_error receives the event and the very exception."""
        seen: list[tuple[RunEvent, BaseException]] = []
        engine = RunEngine(
            clock=ManualClock(T0), on_listener_error=lambda e, x: seen.append((e, x))
        )
        boom = ValueError("boom")

        def bad(event: RunEvent) -> None:
            raise boom

        engine.subscribe(bad)
        run = new_run(engine)
        run.start()
        assert [(e.event, x) for e, x in seen] == [
            ("thread.run.created", boom),
            ("thread.run.in_progress", boom),
        ]

    def test_failing_hook_is_logged(self, caplog):
        """An error hook that raises is logged too, and the caller still never sees it."""

        def hook(event: RunEvent, exc: BaseException) -> None:
            raise KeyError("hook down")

        engine = RunEngine(clock=ManualClock(T0), on_listener_error=hook)
        engine.subscribe(lambda e: 1 / 0)
        with caplog.at_level(logging.ERROR, logger="runlife"):
            run = new_run(engine)
            run.start()
        assert run.status == "in_progress"
        assert sum("on_listener_error failed" in r.getMessage() for r in caplog.records) == 2

    def test_base_exceptions_pass_after_the_move(self):
        """KeyboardInterrupt and SystemExit are not swallowed; the move stays made."""
        engine, _ = new_engine()
        run = new_run(engine)

        def interrupt(event: RunEvent) -> None:
            raise KeyboardInterrupt

        engine.subscribe(interrupt)
        with pytest.raises(KeyboardInterrupt):
            run.start()
        assert run.status == "in_progress"
        assert run.version == 1

    def test_listener_cannot_veto_terminal_moves(self):
        """Even a terminal move that a listener dislikes stays made."""
        engine, clock = new_engine()

        def veto(event: RunEvent) -> None:
            if event.dest in TERMINAL:
                raise PermissionError("no")

        engine.subscribe(veto)
        run = run_in(RunStatus.IN_PROGRESS, engine, clock)
        run.complete()
        assert run.status == "completed"
