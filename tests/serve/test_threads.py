"""Threads over HTTP, in-process: create, create-and-run, retrieve, update, delete, implicit."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.serve.asgi import Answer, request

from runlife.serve import create_app
from runlife.serve._threads import Threads
from runlife.store import Store, open_store


@pytest.fixture(name="store")
def _store(tmp_path: Path) -> Iterator[Store]:
    store = open_store(f"sqlite:///{tmp_path / 'runs.db'}")
    yield store
    store.close()


@pytest.fixture(name="app")
def _app(store: Store) -> Any:
    return create_app(store)


def call(app: Any, method: str, path: str, body: Any = None) -> Answer:
    raw = b"" if body is None else json.dumps(body).encode()
    return request(app, method, path, chunks=(raw,))


def test_create_retrieve_update_delete(app):
    made = call(app, "POST", "/v1/threads", {"metadata": {"k": "v"}, "messages": []}).json()
    path = f"/v1/threads/{made['id']}"
    assert call(app, "GET", path).json() == made
    updated = call(app, "POST", path, {"metadata": {"k": "w"}}).json()
    assert updated == {**made, "metadata": {"k": "w"}}
    assert call(app, "GET", path).json() == updated
    deleted = call(app, "DELETE", path)
    assert deleted.json() == {"id": made["id"], "object": "thread.deleted", "deleted": True}
    for method in ("GET", "POST", "DELETE"):
        gone = call(app, method, path, {} if method == "POST" else None)
        assert gone.status == 404
        assert gone.json()["error"]["message"] == f"No thread found with id '{made['id']}'."
    refused = call(app, "POST", path + "/runs", {"assistant_id": "a"})
    assert refused.status == 404


def test_an_unknown_thread_is_a_404(app):
    assert call(app, "GET", "/v1/threads/thread_nope").status == 404
    assert call(app, "POST", "/v1/threads/thread_nope", {"metadata": {}}).status == 404


def test_an_implicit_thread_is_answered_from_its_first_run(app):
    run = call(app, "POST", "/v1/threads/mine/runs", {"assistant_id": "a"}).json()
    thread = call(app, "GET", "/v1/threads/mine").json()
    assert thread == {
        "id": "mine",
        "object": "thread",
        "created_at": run["created_at"],
        "metadata": {},
        "tool_resources": {},
    }
    updated = call(app, "POST", "/v1/threads/mine", {"metadata": {"k": "v"}}).json()
    assert (
        call(app, "GET", "/v1/threads/mine").json() == updated == {**thread, "metadata": {"k": "v"}}
    )


@pytest.mark.parametrize(
    "body",
    [
        {"title": "x"},
        {"metadata": {f"k{i}": "v" for i in range(17)}},
        {"metadata": {"k": "v" * 513}},
        {"metadata": []},
        {"messages": "hi"},
    ],
)
def test_a_bad_thread_is_a_400_and_keeps_nothing(app, store, body):
    answer = call(app, "POST", "/v1/threads", body)
    assert answer.status == 400
    assert answer.json()["error"]["type"] == "invalid_request_error"
    bad = call(app, "POST", "/v1/threads/runs", {"assistant_id": "a", "thread": body})
    assert bad.status == 400
    assert bad.json()["error"]["param"].startswith("thread.")
    assert store.counts() == {} or sum(store.counts().values()) == 0


def test_create_and_run(app):
    body = {"assistant_id": "a", "thread": {"metadata": {"k": "v"}}, "metadata": {"r": "1"}}
    run = call(app, "POST", "/v1/threads/runs", body).json()
    assert (run["object"], run["status"], run["metadata"]) == ("thread.run", "queued", {"r": "1"})
    thread = call(app, "GET", f"/v1/threads/{run['thread_id']}").json()
    assert thread["metadata"] == {"k": "v"}
    got = call(app, "GET", f"/v1/threads/{run['thread_id']}/runs/{run['id']}").json()
    assert got == run


def test_a_refused_create_and_run_makes_no_thread(app, store):
    answer = call(app, "POST", "/v1/threads/runs", {"assistant_id": "a", "temperature": 5})
    assert (answer.status, answer.json()["error"]["param"]) == (400, "temperature")
    assert sum(store.counts().values()) == 0


def test_create_and_run_streams_the_thread_first(app):
    answer = call(app, "POST", "/v1/threads/runs", {"assistant_id": "a", "stream": True})
    names = [
        line[len("event: ") :]
        for line in answer.body.decode().splitlines()
        if line.startswith("event: ")
    ]
    assert names[:3] == ["thread.created", "thread.run.created", "thread.run.queued"]


def test_records_are_bounded():
    threads = Threads(capacity=2)
    for name in ("a", "b", "c"):
        threads.add(name, {"metadata": {}, "tool_resources": {}})
    assert [threads.get(n) is not None for n in ("a", "b", "c")] == [False, True, True]
