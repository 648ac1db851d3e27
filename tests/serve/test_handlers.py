"""``_handlers``: every endpoint in-process over a SQLite store (no server, no worker).

A run is moved past ``queued`` here by the test itself, as a worker would
(``Store.claim``, ``Store.move``).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.serve.asgi import Answer, request

from runlife import ManualClock, RunEngine, step_to_dict
from runlife.serve import create_app
from runlife.store import Store, open_store

TOOLS = [{"type": "function", "function": {"name": "f"}}]
CALLS = [{"id": "call_1", "type": "function", "function": {"name": "f", "arguments": "{}"}}]


@pytest.fixture(name="clock")
def _clock() -> ManualClock:
    return ManualClock(1_700_000_000)


@pytest.fixture(name="store")
def _store(tmp_path: Path, clock: ManualClock) -> Iterator[Store]:
    store = open_store(f"sqlite:///{tmp_path / 'runs.db'}", engine=RunEngine(clock=clock))
    yield store
    store.close()


@pytest.fixture(name="app")
def _app(store: Store) -> Any:
    return create_app(store, poll_wait_ms=200, poll_ms=10)


def post(app: Any, path: str, body: bytes = b"", **headers: str) -> Answer:
    return request(app, "POST", path, headers=headers, chunks=(body,))


def get(app: Any, path: str, **headers: str) -> Answer:
    return request(app, "GET", path, headers=headers)


def create(app: Any, thread: str = "thread_1", body: bytes = b'{"assistant_id": "a"}') -> Any:
    answer = post(app, f"/v1/threads/{thread}/runs", body)
    assert answer.status == 200, answer.body
    return answer.json()


def waiting(store: Store, app: Any, thread: str = "thread_1") -> Any:
    """A run of *thread* in ``requires_action``, moved there as a worker would."""
    run = create(
        app,
        thread,
        b'{"assistant_id": "a", "tools": [{"type": "function", "function": {"name": "f"}}]}',
    )
    assert [r.id for r in store.claim(1, worker="w1")] == [run["id"]]
    with store.move(run["id"], worker="w1") as moving:
        moving.require_action(CALLS)
    return store.get(run["id"])


def error_of(answer: Answer) -> dict[str, Any]:
    error: dict[str, Any] = answer.json()["error"]
    return error


# --- threads --------------------------------------------------------------------------------


def test_create_thread(app):
    answer = post(app, "/v1/threads", b'{"metadata": {"k": "v"}}')
    assert answer.status == 200
    thread = answer.json()
    assert thread["id"].startswith("thread_")
    assert (thread["object"], thread["metadata"], thread["tool_resources"]) == (
        "thread",
        {"k": "v"},
        {},
    )
    assert post(app, "/v1/threads").json()["metadata"] == {}


def test_a_thread_metadata_that_cannot_be_encoded_is_a_400(app):
    answer = post(app, "/v1/threads", b'{"metadata": {"k": "\\ud800"}}')
    assert answer.status == 400


# --- create, retrieve, list -----------------------------------------------------------------


def test_create_and_retrieve(app):
    run = create(app)
    assert (run["status"], run["model"], run["thread_id"]) == ("queued", "runlife-demo", "thread_1")
    answer = get(app, f"/v1/threads/thread_1/runs/{run['id']}")
    assert answer.json() == run
    assert answer.headers["openai-poll-after-ms"] == "25"


def test_a_value_the_engine_refuses_is_a_400_naming_the_field(app):
    answer = post(app, "/v1/threads/thread_1/runs", b'{"assistant_id": "a", "temperature": "hot"}')
    assert answer.status == 400
    assert error_of(answer)["param"] == "temperature"
    assert error_of(answer)["message"].startswith("Invalid request: $.temperature: ")


def test_a_second_active_run_is_a_400(app):
    create(app)
    answer = post(app, "/v1/threads/thread_1/runs", b'{"assistant_id": "a"}')
    assert (answer.status, error_of(answer)["param"]) == (400, "thread_id")


def test_nothing_reaches_the_store_with_a_nul(app, store):
    assert post(app, "/v1/threads/a\x00b/runs", b'{"assistant_id": "a"}').status == 400
    assert get(app, "/v1/threads/a\x00b/runs").status == 400
    assert get(app, "/v1/threads/t/runs/run\x00").status == 404
    assert get(app, "/v1/threads/t/runs?after=run%00").status == 400
    assert store.list_runs("t").data == []


def test_an_unknown_run_and_a_run_of_another_thread_are_404s(app):
    run = create(app)
    for path in ("/v1/threads/thread_1/runs/run_nope", f"/v1/threads/thread_2/runs/{run['id']}"):
        answer = get(app, path)
        assert answer.status == 404
        assert error_of(answer)["message"].startswith("No run found with id ")


def test_list_pages(app, clock):
    """Newest first by default; ``limit``, ``order`` and the cursors page through a thread."""
    ids = []
    for _ in range(3):
        ids.append(create(app)["id"])
        post(app, f"/v1/threads/thread_1/runs/{ids[-1]}/cancel")  # frees the thread
        clock.advance(1)
    page = get(app, "/v1/threads/thread_1/runs?limit=2").json()
    assert page["object"] == "list"
    assert [r["id"] for r in page["data"]] == ids[:0:-1]
    assert (page["first_id"], page["last_id"], page["has_more"]) == (ids[2], ids[1], True)
    rest = get(app, f"/v1/threads/thread_1/runs?limit=2&after={ids[1]}").json()
    assert ([r["id"] for r in rest["data"]], rest["has_more"]) == ([ids[0]], False)
    oldest = get(app, "/v1/threads/thread_1/runs?order=asc&limit=1").json()
    assert [r["id"] for r in oldest["data"]] == [ids[0]]
    assert get(app, "/v1/threads/empty/runs").json() == {
        "object": "list",
        "data": [],
        "first_id": None,
        "last_id": None,
        "has_more": False,
    }


def test_an_unknown_cursor_is_a_400_on_it(app):
    for name in ("after", "before"):
        answer = get(app, f"/v1/threads/thread_1/runs?{name}=run_nope")
        assert (answer.status, error_of(answer)["param"]) == (400, name)


def test_a_poll_helper_retrieve_waits_until_the_run_waits(app):
    """A poll helper's retrieve of a queued run (no worker) waits ``poll_wait_ms``, then answers."""
    run = create(app)
    start = time.monotonic()
    answer = get(
        app, f"/v1/threads/thread_1/runs/{run['id']}", **{"X-Stainless-Poll-Helper": "true"}
    )
    assert answer.json()["status"] == "queued"
    assert time.monotonic() - start >= 0.2


def test_a_poll_helper_retrieve_of_a_waiting_run_answers_at_once(app, store):
    run = waiting(store, app)
    start = time.monotonic()
    answer = get(app, f"/v1/threads/thread_1/runs/{run.id}", **{"X-Stainless-Poll-Helper": "true"})
    assert answer.json()["status"] == "requires_action"
    assert time.monotonic() - start < 0.2


# --- update, cancel, submit, steps ----------------------------------------------------------


def test_update_metadata(app):
    run = create(app)
    path = f"/v1/threads/thread_1/runs/{run['id']}"
    assert post(app, path, b'{"metadata": {"k": "v"}}').json()["metadata"] == {"k": "v"}
    assert post(app, path).json()["metadata"] == {"k": "v"}
    assert post(app, path, b'{"metadata": null}').json()["metadata"] == {}
    refused = post(app, path, b'{"metadata": {"k": 5}}')
    assert (refused.status, error_of(refused)["param"]) == (400, "metadata")


def test_cancel_a_queued_run_is_finished_after_the_answer(app, store):
    run = create(app)
    answer = post(app, f"/v1/threads/thread_1/runs/{run['id']}/cancel")
    assert answer.json()["status"] == "cancelling"
    assert store.get(run["id"]).status == "cancelled"


def test_cancel_a_finished_run_is_a_400(app, store):
    run = create(app)
    post(app, f"/v1/threads/thread_1/runs/{run['id']}/cancel")
    answer = post(app, f"/v1/threads/thread_1/runs/{run['id']}/cancel")
    assert answer.status == 400
    assert error_of(answer)["message"] == "Cannot cancel run with status 'cancelled'."


def test_submit_tool_outputs(app, store):
    run = waiting(store, app)
    body = b'{"tool_outputs": [{"tool_call_id": "call_1", "output": "x"}]}'
    answer = post(app, f"/v1/threads/thread_1/runs/{run.id}/submit_tool_outputs", body)
    assert answer.json()["status"] == "queued"


def test_outputs_that_do_not_match_are_a_400_on_tool_outputs(app, store):
    run = waiting(store, app)
    body = b'{"tool_outputs": [{"tool_call_id": "call_9", "output": "x"}]}'
    answer = post(app, f"/v1/threads/thread_1/runs/{run.id}/submit_tool_outputs", body)
    assert (answer.status, error_of(answer)["param"]) == (400, "tool_outputs")


def test_outputs_for_a_queued_run_are_a_400(app):
    run = create(app)
    answer = post(
        app, f"/v1/threads/thread_1/runs/{run['id']}/submit_tool_outputs", b'{"tool_outputs": []}'
    )
    assert answer.status == 400
    assert error_of(answer)["message"] == 'Runs in status "queued" do not accept tool outputs.'


def stepped(store: Store, app: Any, thread: str = "thread_1") -> Any:
    """A completed run of *thread* with three steps, made as a worker makes them: two
    ``tool_calls`` steps (two rounds of calls) and a ``message_creation`` step."""
    run = waiting(store, app, thread)
    for round_ in (1, 2):
        with store.move(run.id) as moving:
            moving.submit_tool_outputs([{"tool_call_id": "call_1", "output": f"out {round_}"}])
        assert [r.id for r in store.claim(1, worker="w1")] == [run.id]
        with store.move(run.id, worker="w1") as moving:
            if round_ == 1:
                moving.require_action(CALLS)
            else:
                moving.open_message_step("msg_1")
                moving.complete_message_step(USAGE)
                moving.complete(USAGE)
    done = store.get(run.id)
    assert [step.type for step in done.steps] == ["tool_calls", "tool_calls", "message_creation"]
    return done


USAGE = {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}


def test_steps_are_listed_as_the_api_lists_them(app, store):
    run = stepped(store, app)
    base = f"/v1/threads/thread_1/runs/{run.id}/steps"
    listed = get(app, base).json()
    newest_first = [step_to_dict(step) for step in reversed(run.steps)]
    assert listed == {
        "object": "list",
        "data": newest_first,
        "first_id": newest_first[0]["id"],
        "last_id": newest_first[-1]["id"],
        "has_more": False,
    }
    assert list(listed) == ["object", "data", "first_id", "last_id", "has_more"]
    asc = get(app, f"{base}?order=asc&include[]=step_details.tool_calls[*].file_search").json()
    assert asc["data"] == newest_first[::-1]


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None)
@given(limit=st.integers(1, 4), order=st.sampled_from(["asc", "desc"]))
def test_paging_with_after_visits_every_step_once_in_order(app, store, limit, order):
    """Following ``last_id`` with ``after`` pages through every step once, in *order*; each
    page has at most *limit* steps and ``has_more`` says whether another follows; ``before``
    the last page's first step is the pages before it."""
    if not store.list_runs("thread_p", limit=1).data:
        stepped(store, app, "thread_p")
    run = store.list_runs("thread_p", limit=1).data[0]
    base = f"/v1/threads/thread_p/runs/{run.id}/steps?limit={limit}&order={order}"
    pages = [get(app, base).json()]
    while pages[-1]["has_more"]:
        pages.append(get(app, f"{base}&after={pages[-1]['last_id']}").json())
    seen = [step["id"] for page in pages for step in page["data"]]
    ids = [step.id for step in run.steps]
    assert seen == (ids if order == "asc" else ids[::-1])
    assert all(0 < len(page["data"]) <= limit for page in pages)
    assert len(pages) == -(-len(ids) // limit)
    last = pages[-1]["data"][0]["id"]
    before = get(app, f"{base}&before={last}").json()
    assert [step["id"] for step in before["data"]] == seen[: seen.index(last)][-limit:]


def test_a_step_is_retrieved_as_the_api_answers_it(app, store):
    run = stepped(store, app)
    for step in run.steps:
        answer = get(app, f"/v1/threads/thread_1/runs/{run.id}/steps/{step.id}?include[]=x")
        assert answer.status == 200
        assert answer.body == json.dumps(step_to_dict(step), separators=(",", ":")).encode()


def test_unknown_steps_runs_and_threads_are_404s(app, store):
    run = stepped(store, app)
    other = stepped(store, app, "thread_2")
    step_id = run.steps[0].id
    cases = {
        f"/v1/threads/thread_1/runs/{run.id}/steps/step_nope": "No run step found with id "
        "'step_nope'.",
        f"/v1/threads/thread_1/runs/{other.id}/steps/{other.steps[0].id}": (
            f"No run found with id '{other.id}'."
        ),
        f"/v1/threads/thread_2/runs/{other.id}/steps/{step_id}": "No run step found with id "
        f"'{step_id}'.",
        f"/v1/threads/thread_2/runs/{run.id}/steps/{step_id}": f"No run found with id '{run.id}'.",
        "/v1/threads/thread_1/runs/run_nope/steps": "No run found with id 'run_nope'.",
        f"/v1/threads/thread_2/runs/{run.id}/steps": f"No run found with id '{run.id}'.",
    }
    for path, message in cases.items():
        answer = get(app, path)
        assert (answer.status, error_of(answer)["message"]) == (404, message), path


def test_bad_step_queries_and_ids_are_400s_naming_the_field(app, store):
    run = stepped(store, app)
    base = f"/v1/threads/thread_1/runs/{run.id}/steps"
    cases = {
        "?limit=0": "limit",
        "?limit=101": "limit",
        "?limit=x": "limit",
        "?order=up": "order",
        "?after=step_nope": "after",
        "?before=step_nope": "before",
        f"?after={'s' * 129}": "after",
        f"/{'s' * 129}": "step_id",
    }
    for query, param in cases.items():
        answer = get(app, base + query)
        assert (answer.status, error_of(answer)["param"]) == (400, param), query
    unknown = error_of(get(app, f"{base}?after=step_nope"))["message"]
    assert unknown == f"Invalid 'after': no step 'step_nope' in run {run.id}."


def test_mismatched_outputs_are_one_line_with_the_ids(app, store):
    run = waiting(store, app)
    body = b'{"tool_outputs": [{"tool_call_id": "call_9", "output": "x"}]}'
    message = error_of(post(app, f"/v1/threads/thread_1/runs/{run.id}/submit_tool_outputs", body))[
        "message"
    ]
    assert "\n" not in message
    assert message.startswith(f"Invalid 'tool_outputs' for run {run.id}: ")
    assert "call_1" in message
    assert "call_9" in message


def test_a_stored_row_that_does_not_load_is_a_generic_500(app, store, tmp_path, caplog):
    """The server's fault, not the client's: a 500 that names nothing of the row."""
    import sqlite3

    run = create(app)
    with sqlite3.connect(tmp_path / "runs.db") as db:
        db.execute(
            "UPDATE runlife_runs SET body = ? WHERE id = ?",
            (json.dumps({"id": run["id"], "secret_internal": 1}), run["id"]),
        )
    paths = [f"/v1/threads/thread_1/runs/{run['id']}", "/v1/threads/thread_1/runs"]
    for path in paths:
        answer = get(app, path)
        assert answer.status == 500, answer.body
        assert answer.json()["error"] == {
            "message": "The server had an error while processing your request.",
            "type": "server_error",
            "param": None,
            "code": None,
        }
        assert b"secret_internal" not in answer.body
    update = post(app, f"/v1/threads/thread_1/runs/{run['id']}", b'{"metadata": {}}')
    assert update.status == 500
    assert "does not load" in caplog.text
