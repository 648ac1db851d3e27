"""Run steps through the official openai SDK only, on SQLite and PostgreSQL: ``runs.steps``
(list, retrieve, paging) and the step callbacks of an ``AssistantEventHandler`` while
streaming a function-calling run, against a real ``runlife serve`` with the demo executor."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import openai
import pytest
from openai import AssistantEventHandler
from openai.types.beta.threads.runs import RunStep
from tests.serve.conftest import KEY, within
from tests.serve.test_sdk import POLL, TOOLS, create_and_poll, outputs_for, submit_and_poll

#: A message id of the API's shape, as the demo executor makes them.
MESSAGE_ID = re.compile(r"msg_[A-Za-z0-9_-]{24}")
DEMO_USAGE = (1, 1, 2)


def usage_of(step: Any) -> tuple[int, int, int] | None:
    usage = step.usage
    if usage is None:
        return None
    return (usage.prompt_tokens, usage.completion_tokens, usage.total_tokens)


def done_run(client: Any, thread_id: str) -> Any:
    """A function-calling run of *thread_id* taken to ``completed`` (outputs submitted)."""
    run = create_and_poll(client, thread_id, assistant_id="a", tools=TOOLS)
    assert run.status == "requires_action"
    done = submit_and_poll(client, run)
    assert done.status == "completed"
    return done


class TestList:
    def test_a_function_calling_run_has_its_tool_calls_and_its_message(self, client, thread_id):
        """Newest first: the message the demo wrote, then the calls with their outputs; each
        a ``RunStep`` of the SDK's, and retrieve answers each one as the list does."""
        run = done_run(client, thread_id)
        steps = client.beta.threads.runs.steps
        page = steps.list(run.id, thread_id=thread_id)
        assert all(isinstance(step, RunStep) for step in page.data)
        message, tools = page.data
        assert (page.first_id, page.last_id, page.has_more) == (message.id, tools.id, False)
        assert (message.type, message.status) == ("message_creation", "completed")
        assert MESSAGE_ID.fullmatch(message.step_details.message_creation.message_id)
        assert usage_of(message) == DEMO_USAGE
        assert (tools.type, tools.status, usage_of(tools)) == ("tool_calls", "completed", None)
        calls = tools.step_details.tool_calls
        assert [c.function.name for c in calls] == ["get_weather", "get_time"]
        assert [c.function.output for c in calls] == [f"out-{c.id}" for c in calls]
        for step in page.data:
            assert (step.run_id, step.thread_id, step.assistant_id) == (run.id, thread_id, "a")
            assert step.completed_at is not None
            again = steps.retrieve(step.id, thread_id=thread_id, run_id=run.id)
            assert again == step
        assert tools.created_at <= message.created_at
        assert run.usage.total_tokens == DEMO_USAGE[2]

    def test_a_run_without_tools_writes_one_message(self, client, thread_id):
        run = create_and_poll(client, thread_id, assistant_id="a")
        assert run.status == "completed"
        (step,) = client.beta.threads.runs.steps.list(run.id, thread_id=thread_id).data
        assert (step.type, step.status, usage_of(step)) == (
            "message_creation",
            "completed",
            DEMO_USAGE,
        )

    def test_pages_with_after_and_limit(self, client, thread_id):
        """Pages of one step each, in both orders; ``include[]`` is taken and ignored."""
        run = done_run(client, thread_id)
        steps = client.beta.threads.runs.steps
        every = [s.id for s in steps.list(run.id, thread_id=thread_id, order="asc").data]
        assert len(every) == 2
        for order, ids in (("asc", every), ("desc", every[::-1])):
            first = steps.list(run.id, thread_id=thread_id, limit=1, order=order)
            assert ([s.id for s in first.data], first.has_more) == (ids[:1], True)
            second = steps.list(
                run.id, thread_id=thread_id, limit=1, order=order, after=first.last_id
            )
            assert ([s.id for s in second.data], second.has_more) == (ids[1:], False)
            back = steps.list(
                run.id, thread_id=thread_id, limit=1, order=order, before=second.first_id
            )
            assert [s.id for s in back.data] == ids[:1]
            auto = steps.list(run.id, thread_id=thread_id, limit=1, order=order)
            assert [s.id for s in auto] == ids  # the SDK's own paging, through after
        included = steps.list(
            run.id,
            thread_id=thread_id,
            include=["step_details.tool_calls[*].file_search.results[*].content"],
        )
        assert [s.id for s in included.data] == every[::-1]
        one = steps.retrieve(
            every[0],
            thread_id=thread_id,
            run_id=run.id,
            include=["step_details.tool_calls[*].file_search.results[*].content"],
        )
        assert one.id == every[0]

    def test_bad_input_is_a_4xx(self, client, thread_id):
        """Unknown runs and steps are 404s; bad paging a 400 naming the field."""
        run = done_run(client, thread_id)
        steps = client.beta.threads.runs.steps
        other = client.beta.threads.create().id
        for call in (
            lambda: steps.list("run_nope", thread_id=thread_id),
            lambda: steps.list(run.id, thread_id=other),
            lambda: steps.retrieve("step_nope", thread_id=thread_id, run_id=run.id),
            lambda: steps.retrieve("step_nope", thread_id=thread_id, run_id="run_nope"),
            lambda: steps.retrieve("step\x00", thread_id=thread_id, run_id=run.id),
        ):
            with pytest.raises(openai.NotFoundError):
                call()
        step_id = steps.list(run.id, thread_id=thread_id).data[0].id
        with pytest.raises(openai.NotFoundError) as info:
            steps.retrieve(step_id, thread_id=other, run_id=run.id)
        assert info.value.message == f"Error code: 404 - No run found with id '{run.id}'."
        for options, param in (
            ({"limit": 0}, "limit"),
            ({"limit": 101}, "limit"),
            ({"order": "up"}, "order"),
            ({"after": "step_nope"}, "after"),
            ({"before": "step_nope"}, "before"),
            ({"after": "s" * 129}, "after"),
        ):
            with pytest.raises(openai.BadRequestError) as bad:
                steps.list(run.id, thread_id=thread_id, **options)
            assert bad.value.param == param
        with pytest.raises(openai.BadRequestError) as bad:
            steps.retrieve("s" * 129, thread_id=thread_id, run_id=run.id)
        assert bad.value.param == "step_id"


class Callbacks(AssistantEventHandler):
    """Keeps what each step callback (and each run event) was called with."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[tuple[str, ...]] = []

    def on_event(self, event: Any) -> None:
        if not event.event.startswith("thread.run.step."):
            self.seen.append((event.event,))

    def on_run_step_created(self, run_step: Any) -> None:
        self.seen.append(("step created", run_step.type, run_step.status))

    def on_tool_call_created(self, tool_call: Any) -> None:
        self.seen.append(("tool call created", tool_call.id))

    def on_tool_call_done(self, tool_call: Any) -> None:
        self.seen.append(("tool call done", tool_call.id))

    def on_run_step_done(self, run_step: Any) -> None:
        self.seen.append(("step done", run_step.type, run_step.status))


def read_stream(open_stream: Any, handler: Callbacks, **params: Any) -> tuple[Any, list[Any]]:
    """Read a stream to its end under the watchdog: its final run and its final run steps."""

    def read() -> tuple[Any, list[Any]]:
        with open_stream(event_handler=handler, **params) as stream:
            stream.until_done()
            return stream.get_final_run(), stream.get_final_run_steps()

    return within(POLL, read)


def test_an_event_handler_follows_the_steps_in_the_apis_order(client, thread_id):
    """Create's stream: the tool_calls step is created, each call with its delta (created;
    the previous one done), then requires_action (the last call done). Submit's stream: the
    tool_calls step done, queued, in_progress, the message step created and done, completed.
    ``get_final_run_steps()`` holds each stream's steps as the SDK keeps them (as created,
    with the deltas applied)."""
    runs = client.beta.threads.runs
    first = Callbacks()
    run, steps = read_stream(runs.stream, first, thread_id=thread_id, assistant_id="a", tools=TOOLS)
    assert run.status == "requires_action"
    call_a, call_b = (c.id for c in run.required_action.submit_tool_outputs.tool_calls)
    assert first.seen == [
        ("thread.run.created",),
        ("thread.run.queued",),
        ("thread.run.in_progress",),
        ("step created", "tool_calls", "in_progress"),
        ("tool call created", call_a),
        ("tool call done", call_a),
        ("tool call created", call_b),
        ("thread.run.requires_action",),
        ("tool call done", call_b),
    ]
    (step,) = steps
    assert isinstance(step, RunStep)
    assert (step.type, step.status, step.run_id) == ("tool_calls", "in_progress", run.id)
    details: Any = step.step_details
    assert [(c.id, c.function.name) for c in details.tool_calls] == [
        (call_a, "get_weather"),
        (call_b, "get_time"),
    ]
    second = Callbacks()
    done, steps = read_stream(
        runs.submit_tool_outputs_stream,
        second,
        thread_id=thread_id,
        run_id=run.id,
        tool_outputs=outputs_for(run),
    )
    assert done.status == "completed"
    assert second.seen == [
        ("step done", "tool_calls", "completed"),
        ("thread.run.queued",),
        ("thread.run.in_progress",),
        ("step created", "message_creation", "in_progress"),
        ("step done", "message_creation", "completed"),
        ("thread.run.completed",),
    ]
    (message,) = steps
    assert message.type == "message_creation"
    assert MESSAGE_ID.fullmatch(message.step_details.message_creation.message_id)
    listed = runs.steps.list(run.id, thread_id=thread_id, order="asc").data
    assert [s.id for s in listed] == [step.id, message.id]


def test_the_docs_streaming_example_prints_what_it_says(server, capsys):
    """docs/serve.md's first two blocks, run against the server: the streaming block prints
    exactly the lines its comments give."""
    text = (Path(__file__).parents[2] / "docs" / "serve.md").read_text(encoding="utf-8")
    blocks = [b.split("```", 1)[0] for b in text.split("```python\n")[1:]]
    loop, streaming = blocks[0], blocks[1]
    assert "class Printer(AssistantEventHandler)" in streaming
    loop = loop.replace("http://127.0.0.1:8000/v1", server.url)
    loop = loop.replace("unused-without---api-key", KEY)
    namespace: dict[str, Any] = {}
    within(POLL, exec, compile(loop, "docs/serve.md", "exec"), namespace)
    capsys.readouterr()
    try:
        within(POLL, exec, compile(streaming, "docs/serve.md", "exec"), namespace)
    finally:
        namespace["client"].close()
    expected = [line[2:] for line in streaming.splitlines() if line.startswith("# ")]
    assert capsys.readouterr().out.splitlines() == expected


def test_the_readmes_sdk_example_prints_what_it_says(server, capsys):
    """README.md's serve block (the official SDK, a tool run, its steps), run against the
    server: it prints exactly the line its last comment gives."""
    text = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")
    (block,) = [b.split("```", 1)[0] for b in text.split("```python\n")[1:] if "OpenAI(" in b]
    code = block.replace("http://127.0.0.1:8000/v1", server.url).replace('"unused"', repr(KEY))
    namespace: dict[str, Any] = {}
    try:
        within(POLL, exec, compile(code, "README.md", "exec"), namespace)
    finally:
        namespace["client"].close()
    expected = [line[2:] for line in block.splitlines() if line.startswith("# ")]
    assert capsys.readouterr().out.splitlines() == expected
