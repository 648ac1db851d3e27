"""``runlife serve`` driven by the official openai SDK only, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import openai
import pytest
from openai import AssistantEventHandler, omit
from tests.serve.conftest import KEY, wait_until, within

TOOLS: list[Any] = [
    {"type": "function", "function": {"name": "get_weather"}},
    {"type": "function", "function": {"name": "get_time"}},
]
POLL = 20.0  # seconds: the watchdog of every poll and stream


def outputs_for(run: Any) -> list[dict[str, str]]:
    calls = run.required_action.submit_tool_outputs.tool_calls
    return [{"tool_call_id": call.id, "output": f"out-{call.id}"} for call in calls]


def create_and_poll(client: Any, thread_id: str, **params: Any) -> Any:
    """A new run of *thread_id*, polled to its first stop (under the watchdog)."""
    return within(POLL, client.beta.threads.runs.create_and_poll, thread_id=thread_id, **params)


def submit_and_poll(client: Any, run: Any) -> Any:
    """Answer every pending call of *run* and poll it to its next stop (under the watchdog)."""
    return within(
        POLL,
        client.beta.threads.runs.submit_tool_outputs_and_poll,
        thread_id=run.thread_id,
        run_id=run.id,
        tool_outputs=outputs_for(run),
    )


def streamed(open_stream: Callable[..., Any], **params: Any) -> Any:
    """Open a stream (``runs.stream``, ``runs.submit_tool_outputs_stream``), read it to the
    end under the watchdog; the final run."""

    def read() -> Any:
        with open_stream(**params) as stream:
            stream.until_done()
            return stream.get_final_run()

    return within(POLL, read)


class Events(AssistantEventHandler):
    """Keeps the name of every event."""

    def __init__(self) -> None:
        super().__init__()
        self.names: list[str] = []

    def on_event(self, event: Any) -> None:
        self.names.append(event.event)


@pytest.fixture(name="waiting")
def _waiting(client, thread_id):
    """A run of *thread_id* that waits for the outputs of its two tool calls."""
    run = create_and_poll(client, thread_id, assistant_id="a", tools=TOOLS)
    assert run.status == "requires_action"
    return run


class TestRoundTrip:
    def test_polling(self, client, thread_id):
        """create_and_poll stops at requires_action; the outputs lead to completed with usage."""
        run = create_and_poll(client, thread_id, assistant_id="asst_1", tools=TOOLS)
        assert run.status == "requires_action"
        calls = run.required_action.submit_tool_outputs.tool_calls
        assert [c.function.name for c in calls] == ["get_weather", "get_time"]
        assert [c.function.arguments for c in calls] == ["{}", "{}"]
        assert len({c.id for c in calls}) == 2
        done = submit_and_poll(client, run)
        assert done.status == "completed"
        assert (
            done.usage.prompt_tokens,
            done.usage.completion_tokens,
            done.usage.total_tokens,
        ) == (
            1,
            1,
            2,
        )
        assert done.required_action is None
        assert done.expires_at is None
        assert done.completed_at is not None

    def test_retrieve_sends_the_poll_header(self, client, thread_id):
        """Retrieve answers openai-poll-after-ms, so the SDK's helpers do not sleep a second."""
        run = client.beta.threads.runs.create(thread_id=thread_id, assistant_id="asst_1")
        raw = client.beta.threads.runs.with_raw_response.retrieve(run.id, thread_id=thread_id)
        assert raw.headers["openai-poll-after-ms"] == "25"
        assert raw.parse().id == run.id
        within(POLL, client.beta.threads.runs.poll, run.id, thread_id=thread_id)

    def test_streaming(self, client, thread_id):
        """A stream on create ends at requires_action; the submit's stream ends at completed.

        Each move's step events come before the run's own event, as the API streams them."""
        runs = client.beta.threads.runs
        first = Events()
        run = streamed(
            runs.stream,
            thread_id=thread_id,
            assistant_id="asst_1",
            tools=TOOLS,
            event_handler=first,
        )
        assert first.names == [
            "thread.run.created",
            "thread.run.queued",
            "thread.run.in_progress",
            "thread.run.step.created",
            "thread.run.step.in_progress",
            "thread.run.step.delta",
            "thread.run.step.delta",
            "thread.run.requires_action",
        ]
        assert run.status == "requires_action"
        second = Events()
        done = streamed(
            runs.submit_tool_outputs_stream,
            thread_id=thread_id,
            run_id=run.id,
            tool_outputs=outputs_for(run),
            event_handler=second,
        )
        assert second.names == [
            "thread.run.step.completed",
            "thread.run.queued",
            "thread.run.in_progress",
            "thread.run.step.created",
            "thread.run.step.in_progress",
            "thread.run.step.completed",
            "thread.run.completed",
        ]
        assert done.status == "completed"
        assert done.usage.total_tokens == 2

    def test_one_call_without_parallel_tool_calls(self, client, thread_id):
        """With parallel_tool_calls false the demo asks for one call only."""
        run = create_and_poll(
            client,
            thread_id,
            assistant_id="asst_1",
            tools=TOOLS,
            parallel_tool_calls=False,
        )
        assert len(run.required_action.submit_tool_outputs.tool_calls) == 1

    def test_no_function_tools_completes_at_once(self, client, thread_id):
        """Without function tools the demo completes the run at once."""
        run = create_and_poll(client, thread_id, assistant_id="a")
        assert run.status == "completed"
        assert run.model == "runlife-demo"
        assert run.thread_id == thread_id

    def test_fail(self, client, thread_id):
        """metadata {"demo": "fail"} makes the demo fail the run with server_error."""
        run = create_and_poll(
            client,
            thread_id,
            assistant_id="asst_1",
            tools=TOOLS,
            metadata={"demo": "fail"},
        )
        assert run.status == "failed"
        assert run.last_error.code == "server_error"
        assert run.failed_at is not None

    def test_threads_create(self, client):
        """POST /v1/threads hands out a new thread id with the API's thread object."""
        one = client.beta.threads.create(metadata={"user": "u1"})
        two = client.beta.threads.create()
        assert one.object == "thread"
        assert one.id.startswith("thread_")
        assert one.id != two.id
        assert one.metadata == {"user": "u1"}


class TestCancel:
    def test_waiting_for_outputs(self, client, thread_id, waiting):
        """A run waiting for outputs goes cancelling, then cancelled (poll() returns)."""
        runs = client.beta.threads.runs
        run = waiting
        cancelled = runs.cancel(run.id, thread_id=thread_id)
        assert cancelled.status == "cancelling"
        assert cancelled.required_action is None
        final = within(POLL, runs.poll, run.id, thread_id=thread_id)
        assert final.status == "cancelled"
        assert final.cancelled_at is not None

    def test_in_progress(self, client, thread_id):
        """A run cancelled while its executor works ends cancelled when the executor returns."""
        runs = client.beta.threads.runs
        run = runs.create(
            thread_id=thread_id, assistant_id="a", tools=TOOLS, metadata={"demo_delay_ms": "1500"}
        )

        def in_progress() -> bool:
            return runs.retrieve(run.id, thread_id=thread_id).status == "in_progress"

        wait_until(in_progress, POLL, "the run to start")
        assert runs.cancel(run.id, thread_id=thread_id).status == "cancelling"
        final = within(POLL, runs.poll, run.id, thread_id=thread_id)
        assert final.status == "cancelled"

    def test_a_stream_goes_on_through_cancelling(self, client, thread_id):
        """A stream cancelled mid-run shows cancelling and ends at cancelled."""
        runs = client.beta.threads.runs

        class CancelOnStart(Events):
            def on_event(self, event: Any) -> None:
                super().on_event(event)
                if event.event == "thread.run.in_progress":
                    runs.cancel(event.data.id, thread_id=thread_id)

        handler = CancelOnStart()
        final = streamed(
            runs.stream,
            thread_id=thread_id,
            assistant_id="a",
            tools=TOOLS,
            metadata={"demo_delay_ms": "500"},
            event_handler=handler,
        )
        assert handler.names == [
            "thread.run.created",
            "thread.run.queued",
            "thread.run.in_progress",
            "thread.run.cancelling",
            "thread.run.cancelled",
        ]
        assert final.status == "cancelled"


class TestUpdate:
    def test_metadata_only(self, client, thread_id, waiting):
        """Update replaces the metadata and moves nothing."""
        runs = client.beta.threads.runs
        run = waiting
        updated = runs.update(run.id, thread_id=thread_id, metadata={"k": "v"})
        assert updated.metadata == {"k": "v"}
        assert updated.status == "requires_action"
        assert updated.required_action == run.required_action
        done = submit_and_poll(client, run)
        assert done.metadata == {"k": "v"}


class TestList:
    @pytest.fixture(name="five")
    def _five(self, client, thread_id):
        return [create_and_poll(client, thread_id, assistant_id="a").id for _ in range(5)]

    def test_pages_in_both_orders(self, client, thread_id, five):
        """Pages of 2 walk all runs in either order; asc is desc reversed; has_more ends it."""
        runs = client.beta.threads.runs
        orders: dict[str, list[str]] = {}
        for order in ("asc", "desc"):
            first = runs.list(thread_id=thread_id, limit=2, order=order)
            assert first.object == "list"
            assert len(first.data) == 2
            assert first.has_more is True
            assert first.first_id == first.data[0].id
            assert first.last_id == first.data[-1].id
            ids = [run.id for run in runs.list(thread_id=thread_id, limit=2, order=order)]
            assert sorted(ids) == sorted(five)
            orders[order] = ids
            second = runs.list(thread_id=thread_id, limit=2, order=order, after=first.last_id)
            assert [r.id for r in second.data] == ids[2:4]
            back = runs.list(thread_id=thread_id, limit=2, order=order, before=second.first_id)
            assert [r.id for r in back.data] == ids[:2]
            last = runs.list(thread_id=thread_id, limit=2, order=order, after=ids[3])
            assert [r.id for r in last.data] == ids[4:]
            assert last.has_more is False
        assert orders["asc"] == orders["desc"][::-1]
        created = [runs.retrieve(i, thread_id=thread_id).created_at for i in orders["asc"]]
        assert created == sorted(created)

    def test_default_page_is_newest_first(self, client, thread_id, five):
        """Without options: up to 20 runs, newest first."""
        page = client.beta.threads.runs.list(thread_id=thread_id)
        assert len(page.data) == 5
        assert page.has_more is False
        stamps = [run.created_at for run in page.data]
        assert stamps == sorted(stamps, reverse=True)

    def test_empty_thread(self, client):
        """A thread that never had a run gives an empty page."""
        page = client.beta.threads.runs.list(thread_id="thread_never_used")
        assert page.data == []
        assert page.has_more is False


class TestErrors:
    def test_unknown_run(self, client, thread_id):
        """An unknown run is a 404 on retrieve, update, cancel and submit."""
        runs = client.beta.threads.runs
        calls = [
            lambda: runs.retrieve("run_nope", thread_id=thread_id),
            lambda: runs.update("run_nope", thread_id=thread_id, metadata={}),
            lambda: runs.cancel("run_nope", thread_id=thread_id),
            lambda: runs.submit_tool_outputs(
                "run_nope", thread_id=thread_id, tool_outputs=[{"tool_call_id": "c", "output": ""}]
            ),
        ]
        for call in calls:
            with pytest.raises(openai.NotFoundError) as info:
                call()
            assert info.value.message == "Error code: 404 - No run found with id 'run_nope'."
            assert info.value.type == "invalid_request_error"

    def test_run_under_another_thread(self, client, thread_id, waiting):
        """A run asked for under another thread is not found there."""
        runs = client.beta.threads.runs
        run = waiting
        other = client.beta.threads.create().id
        with pytest.raises(openai.NotFoundError):
            runs.retrieve(run.id, thread_id=other)
        with pytest.raises(openai.NotFoundError):
            runs.cancel(run.id, thread_id=other)
        with pytest.raises(openai.NotFoundError):
            runs.submit_tool_outputs(run.id, thread_id=other, tool_outputs=outputs_for(run))
        with pytest.raises(openai.NotFoundError):
            runs.update(run.id, thread_id=other, metadata={"a": "b"})
        assert runs.retrieve(run.id, thread_id=thread_id).status == "requires_action"
        assert runs.retrieve(run.id, thread_id=thread_id).metadata == {}

    def test_outputs_that_do_not_match(self, client, thread_id, waiting):
        """Outputs must answer exactly the pending calls; the error names the ids."""
        runs = client.beta.threads.runs
        run = waiting
        first, second = (c.id for c in run.required_action.submit_tool_outputs.tool_calls)
        with pytest.raises(openai.BadRequestError) as info:
            runs.submit_tool_outputs(
                run.id,
                thread_id=thread_id,
                tool_outputs=[
                    {"tool_call_id": first, "output": "x"},
                    {"tool_call_id": "call_unknown", "output": "x"},
                ],
            )
        assert info.value.param == "tool_outputs"
        assert second in info.value.message
        assert "call_unknown" in info.value.message
        assert runs.retrieve(run.id, thread_id=thread_id).status == "requires_action"

    def test_illegal_moves(self, client, thread_id):
        """Cancelling a completed run, or submitting to it, is a 400 in the API's words."""
        runs = client.beta.threads.runs
        run = create_and_poll(client, thread_id, assistant_id="a")
        assert run.status == "completed"
        with pytest.raises(openai.BadRequestError) as info:
            runs.cancel(run.id, thread_id=thread_id)
        assert info.value.message == "Error code: 400 - Cannot cancel run with status 'completed'."
        with pytest.raises(openai.BadRequestError) as info:
            runs.submit_tool_outputs(
                run.id, thread_id=thread_id, tool_outputs=[{"tool_call_id": "c", "output": ""}]
            )
        assert info.value.message == (
            'Error code: 400 - Runs in status "completed" do not accept tool outputs.'
        )

    def test_second_active_run(self, client, thread_id, waiting):
        """A second active run on a thread is a 400 naming the run that holds it."""
        runs = client.beta.threads.runs
        run = waiting
        with pytest.raises(openai.BadRequestError) as info:
            runs.create(thread_id=thread_id, assistant_id="a")
        assert info.value.message == (
            f"Error code: 400 - Thread {thread_id} already has an active run {run.id}."
        )
        assert info.value.param == "thread_id"
        with pytest.raises(openai.BadRequestError):
            streamed(runs.stream, thread_id=thread_id, assistant_id="a")

    def test_bad_input(self, client, thread_id):
        """Bad field values, a missing assistant_id and bad list options are 400s."""
        runs = client.beta.threads.runs
        with pytest.raises(openai.BadRequestError) as info:
            runs.create(thread_id=thread_id, assistant_id="a", temperature=7)
        assert info.value.param == "temperature"
        with pytest.raises(openai.BadRequestError) as info:
            runs.create(thread_id=thread_id, assistant_id="a", metadata={"k": "v" * 600})
        assert info.value.param == "metadata"
        with pytest.raises(openai.BadRequestError) as info:
            runs.create(thread_id=thread_id, assistant_id=omit)
        assert info.value.code == "missing_required_parameter"
        with pytest.raises(openai.BadRequestError) as info:
            runs.create(thread_id=thread_id, assistant_id="a", extra_body={"colour": "red"})
        assert info.value.param == "colour"
        for options, param in (
            ({"limit": 0}, "limit"),
            ({"limit": 101}, "limit"),
            ({"order": "up"}, "order"),
            ({"after": "run_nope"}, "after"),
            ({"before": "run_nope"}, "before"),
        ):
            with pytest.raises(openai.BadRequestError) as info:
                runs.list(thread_id=thread_id, **options)
            assert info.value.param == param

    def test_body_too_large(self, client, thread_id):
        """A body over the limit is refused with 413, not retried."""
        with pytest.raises(openai.APIStatusError) as info:
            client.beta.threads.runs.create(
                thread_id=thread_id, assistant_id="a", extra_body={"instructions": "x" * (2 << 20)}
            )
        assert info.value.status_code == 413

    def test_unparsable_json(self, client, thread_id):
        """A body that is not JSON is a 400."""
        with pytest.raises(openai.BadRequestError) as info:
            client.post(
                f"/threads/{thread_id}/runs",
                cast_to=object,
                content=b"{nope",
                options={"headers": {"Content-Type": "application/json"}},
            )
        assert "JSON" in info.value.message

    @pytest.mark.parametrize(
        "content",
        [
            b'{"assistant_id": "a", "temperature": NaN}',
            b'{"assistant_id": "a", "top_p": 1e999}',
            b'{"assistant_id": "a", "metadata": {"k": "\\ud800"}}',
            b'{"assistant_id": "a", "instructions": ' + b"[" * 50_000 + b"]" * 50_000 + b"}",
        ],
        ids=["nan", "float-overflow", "lone-surrogate", "too-deep"],
    )
    def test_json_no_answer_could_hold_is_a_400(self, client, thread_id, content):
        """Non-finite numbers, lone surrogates, nesting too deep: a 400, never a 5xx."""
        with pytest.raises(openai.BadRequestError) as info:
            client.post(
                f"/threads/{thread_id}/runs",
                cast_to=object,
                content=content,
                options={"headers": {"Content-Type": "application/json"}},
            )
        assert "JSON" in info.value.message

    def test_ids_with_a_nul_never_reach_the_store(self, client, thread_id):
        """A database cannot hold a NUL: the answer is the client's 4xx, not the store's 503."""
        with pytest.raises(openai.BadRequestError) as bad:
            client.post("/threads/a%00b/runs", cast_to=object, body={"assistant_id": "a"})
        assert bad.value.param == "thread_id"
        with pytest.raises(openai.BadRequestError):
            client.get("/threads/a%00b/runs", cast_to=object)
        with pytest.raises(openai.NotFoundError):
            client.get(f"/threads/{thread_id}/runs/run%00x", cast_to=object)
        with pytest.raises(openai.BadRequestError) as bad:
            client.beta.threads.runs.list(thread_id=thread_id, after="run\x00x")
        assert bad.value.param == "after"

    def test_unknown_path(self, client):
        """An unknown path is a 404 in the API's shape."""
        with pytest.raises(openai.NotFoundError) as info:
            client.get("/assistants", cast_to=object)
        assert info.value.type == "invalid_request_error"

    def test_no_retries_for_client_mistakes(self, server, thread_id):
        """With retries on, a client's mistake is sent once (never a 5xx or a bare 409)."""
        import httpx2 as httpx

        sent: list[str] = []
        http = httpx.Client(event_hooks={"request": [lambda r: sent.append(r.url.path)]})
        client = server.client(max_retries=2, http_client=http)
        try:
            with pytest.raises(openai.BadRequestError):
                client.beta.threads.runs.list(thread_id=thread_id, limit=0)
            with pytest.raises(openai.NotFoundError):
                client.beta.threads.runs.cancel("run_nope", thread_id=thread_id)
        finally:
            client.close()
        assert len(sent) == 2


class TestAccess:
    def test_wrong_or_missing_key(self, server, client, thread_id):
        """Without the right Bearer key every call is a 401: the SDK's AuthenticationError."""
        wrong = server.client(api_key="sk-wrong")
        try:
            with pytest.raises(openai.AuthenticationError) as info:
                wrong.beta.threads.runs.list(thread_id=thread_id)
            assert info.value.code == "invalid_api_key"
            with pytest.raises(openai.AuthenticationError):
                wrong.beta.threads.create()
        finally:
            wrong.close()
        with pytest.raises(openai.AuthenticationError):
            client.beta.threads.runs.list(
                thread_id=thread_id, extra_headers={"Authorization": omit}
            )
        assert client.api_key == KEY
        assert client.beta.threads.runs.list(thread_id=thread_id).data == []
