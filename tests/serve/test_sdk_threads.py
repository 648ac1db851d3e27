"""The threads endpoints through the official openai SDK, on SQLite and PostgreSQL."""

from __future__ import annotations

import re

import openai
import pytest
from tests.serve.conftest import within
from tests.serve.test_sdk import POLL, TOOLS, Events, submit_and_poll


def test_create_and_run_poll(client):
    run = within(
        POLL,
        client.beta.threads.create_and_run_poll,
        assistant_id="asst_1",
        tools=TOOLS,
        thread={"metadata": {"k": "v"}, "messages": [{"role": "user", "content": "hi"}]},
    )
    assert run.status == "requires_action"
    assert client.beta.threads.retrieve(run.thread_id).metadata == {"k": "v"}
    assert submit_and_poll(client, run).status == "completed"


def test_create_and_run_then_the_stream(client):
    created = client.beta.threads.create_and_run(assistant_id="asst_1")
    assert created.status == "queued"
    assert re.fullmatch(r"req_[0-9a-f]{32}", created._request_id or "")
    events = Events()

    def read() -> object:
        with client.beta.threads.create_and_run_stream(
            assistant_id="asst_1", tools=TOOLS, event_handler=events
        ) as stream:
            stream.until_done()
            return stream.get_final_run()

    final = within(POLL, read)
    assert final.status == "requires_action"  # type: ignore[attr-defined]
    assert events.names[:3] == ["thread.created", "thread.run.created", "thread.run.queued"]


def test_retrieve_update_delete(client):
    thread = client.beta.threads.create(metadata={"a": "1"})
    assert client.beta.threads.retrieve(thread.id) == thread
    updated = client.beta.threads.update(thread.id, metadata={"a": "2"})
    assert updated.metadata == {"a": "2"}
    deleted = client.beta.threads.delete(thread.id)
    assert (deleted.id, deleted.deleted, deleted.object) == (thread.id, True, "thread.deleted")
    with pytest.raises(openai.NotFoundError):
        client.beta.threads.retrieve(thread.id)


def test_a_thread_with_bad_metadata_is_a_400(client):
    with pytest.raises(openai.BadRequestError) as info:
        client.beta.threads.create(metadata={"k": "v" * 513})
    assert info.value.param == "metadata"
