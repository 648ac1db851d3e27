"""Issue 15's input and shape cases, end to end: raw HTTP against a real ``runlife serve`` on
each backend. Each answer is checked as a client sees it, so each test holds on any version
of the code behind it (the unit tests of ``runlife.serve`` and the store prove the parts).

Case 4 (caps), 6 (deep JSON), 7 (lone surrogates), 8 (NUL in ids and cursors), 9 (a stored
row that cannot be loaded), 10 (the loader refuses what ``to_json`` could not write), 11 (two ``Authorization`` headers, UTF-16 and BOM bodies, 405
``Allow``); cases 1-3 are the other modules of this directory.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

import pytest

from tests.faults.conftest import BACKENDS
from tests.pg import fresh_store_url
from tests.pg import postgres_url as _postgres_url
from tests.serve.conftest import KEY, Server

AUTH = {"Authorization": f"Bearer {KEY}"}
SERVER_ERROR = {
    "message": "The server had an error while processing your request.",
    "type": "server_error",
    "param": None,
    "code": None,
}
DEEP = "[" * 500 + "]" * 500  # 500 levels: past the limit, and past Python's recursion


class Answer:
    """An HTTP answer: status, headers (lower-case names), body text."""

    def __init__(self, response: http.client.HTTPResponse) -> None:
        self.status_code = response.status
        self.headers = {k.lower(): v for k, v in response.getheaders()}
        self.text = response.read().decode()

    def json(self) -> Any:
        return json.loads(self.text)


class Api:
    """A served store and a raw HTTP client of it (http.client: every byte as written)."""

    def __init__(self, server: Server, store: str) -> None:
        self.server = server
        self.store = store
        url = urlsplit(server.url)
        self.host, self.port, self.base = url.hostname or "", url.port or 80, url.path

    def request(
        self,
        method: str,
        path: str,
        *,
        raw: bytes | None = None,
        params: dict[str, str] | None = None,
        headers: list[tuple[str, str]] | None = None,
    ) -> Answer:
        conn = http.client.HTTPConnection(self.host, self.port, timeout=20)
        try:
            query = f"?{urlencode(params)}" if params else ""
            conn.putrequest(method, f"{self.base}{path}{query}")
            for name, value in headers if headers is not None else list(AUTH.items()):
                conn.putheader(name, value)
            if raw is not None:
                conn.putheader("Content-Type", "application/json")
                conn.putheader("Content-Length", str(len(raw)))
            conn.endheaders(raw)
            return Answer(conn.getresponse())
        finally:
            conn.close()

    def post(self, path: str, body: Any = None, *, raw: bytes | None = None) -> Answer:
        return self.request(
            "POST", path, raw=raw if raw is not None else json.dumps(body or {}).encode()
        )

    def get(self, path: str, **kw: Any) -> Answer:
        return self.request("GET", path, **kw)

    def waiting_run(self, thread_id: str) -> dict[str, Any]:
        """A run of the demo executor waiting for its tool call's output."""
        tools = [{"type": "function", "function": {"name": "lookup"}}]
        run: dict[str, Any] = self.post(
            f"/threads/{thread_id}/runs", {"assistant_id": "a", "tools": tools}
        ).json()
        for _ in range(500):
            run = self.get(f"/threads/{thread_id}/runs/{run['id']}").json()
            if run["status"] == "requires_action":
                return run
            time.sleep(0.02)
        pytest.fail(f"run {run['id']} never waited for outputs: {run['status']}")


@pytest.fixture(name="backend", params=BACKENDS, scope="module")
def _backend(request: pytest.FixtureRequest) -> str:
    backend: str = request.param
    if backend == "postgresql":
        _postgres_url("faults")
    return backend


@pytest.fixture(name="api", scope="module")
def _api(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    directory: Path = tmp_path_factory.mktemp(f"issue15-{backend}")
    with contextlib.contextmanager(fresh_store_url)(backend, directory, "faults") as store:
        server = Server(store, "--workers", "1", "--api-key", KEY, log=directory / "log").start()
        api = Api(server, store)
        try:
            yield api
        finally:
            server.kill()


def _error(answer: Any, status: int) -> dict[str, Any]:
    assert answer.status_code == status, answer.text
    body: dict[str, Any] = answer.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"message", "type", "param", "code"}
    error: dict[str, Any] = body["error"]
    return error


def _runs_of(api: Api, thread_id: str) -> list[Any]:
    data: list[Any] = api.get(f"/threads/{thread_id}/runs").json()["data"]
    return data


class TestCase4Caps:
    @pytest.mark.parametrize(
        ("field", "value"),
        [
            ("model", "m" * 257),
            ("assistant_id", "a" * 129),
            ("instructions", "x" * 256_001),
            ("tools", [{"type": "function", "function": {"name": "f", "description": "d" * 1025}}]),
            (
                "tools",
                [
                    {
                        "type": "function",
                        "function": {"name": "f", "parameters": {"p": "x" * (64 * 1024)}},
                    }
                ],
            ),
        ],
        ids=["model", "assistant_id", "instructions", "description", "parameters"],
    )
    def test_over_a_cap_is_a_400_naming_the_field(self, api, field, value):
        thread_id = f"thread_cap_{field}_{len(json.dumps(value))}"
        body = {"assistant_id": "a", field: value}
        error = _error(api.post(f"/threads/{thread_id}/runs", body), 400)
        nested = value[0]["function"] if field == "tools" else {}
        where = f"tools[0].function.{next(k for k in nested if k != 'name')}" if nested else field
        assert error["param"] == where
        assert _runs_of(api, thread_id) == []  # nothing was created

    def test_ids_and_cursors_over_128_are_a_400(self, api):
        assert _error(api.post(f"/threads/{'t' * 129}/runs", {"assistant_id": "a"}), 400)
        error = _error(api.get("/threads/t/runs", params={"after": "r" * 129}), 400)
        assert error["param"] == "after"


class TestCase6DeepJson:
    def test_create_submit_update_and_threads_are_a_400(self, api):
        run = api.waiting_run("thread_deep")
        path = f"/threads/thread_deep/runs/{run['id']}"
        bodies = {
            "/threads/thread_deep2/runs": '{"assistant_id": "a", "metadata": {"k": ' + DEEP + "}}",
            f"{path}/submit_tool_outputs": '{"tool_outputs": ' + DEEP + "}",
            path: '{"metadata": ' + DEEP + "}",
            "/threads": '{"metadata": ' + DEEP + "}",
            "/threads/runs": '{"assistant_id": "a", "thread": {"metadata": ' + DEEP + "}}",
        }
        for where, text in bodies.items():
            _error(api.post(where, raw=text.encode()), 400)
        assert api.get(path).json()["status"] == "requires_action"  # nothing moved
        assert _runs_of(api, "thread_deep2") == []


class TestCase7LoneSurrogates:
    def test_threads_update_and_outputs_are_a_400(self, api):
        run = api.waiting_run("thread_surrogate")
        path = f"/threads/thread_surrogate/runs/{run['id']}"
        call = run["required_action"]["submit_tool_outputs"]["tool_calls"][0]["id"]
        lone = '"\\ud800"'
        bodies = {
            "/threads": ("metadata", '{"metadata": {"k": ' + lone + "}}"),
            path: ("metadata", '{"metadata": {"k": ' + lone + "}}"),
            f"{path}/submit_tool_outputs": (
                "tool_outputs",
                '{"tool_outputs": [{"tool_call_id": "' + call + '", "output": ' + lone + "}]}",
            ),
        }
        for where, (field, text) in bodies.items():
            error = _error(api.post(where, raw=text.encode()), 400)
            assert error["param"] == field
            assert "lone UTF-16 surrogate" in error["message"]
        assert api.get(path).json()["status"] == "requires_action"


class TestCase8Nul:
    def test_refused_before_any_sql_the_same_on_both_backends(self, api):
        answers = [
            (api.post("/threads/a%00b/runs", {"assistant_id": "a"}), 400),
            (api.get("/threads/a%00b/runs"), 400),
            (api.get("/threads/a%00b"), 400),
            (api.get("/threads/t/runs/run%00x"), 404),
            (api.get("/threads/t/runs", params={"after": "run\x00x"}), 400),
            (api.get("/threads/t/runs", params={"before": "run\x00x"}), 400),
        ]
        seen = [(answer.status_code, _error(answer, status)) for answer, status in answers]
        assert [status for status, _ in seen] == [400, 400, 400, 404, 400, 400]
        for _, error in seen:
            assert error["type"] == "invalid_request_error"
            text = json.dumps(error)
            assert "postgres" not in text
            assert "sqlite" not in text
            assert "runs.db" not in text
        assert seen[3][1]["message"] == "No run found with id 'run\\x00x'."


class TestCase9DamagedRow:
    def test_a_row_that_does_not_load_is_a_generic_500(self, api):
        from tests.store.conftest import raw_sql

        run = api.post("/threads/thread_damaged/runs", {"assistant_id": "a"}).json()
        for _ in range(500):  # finished first: no worker writes the row after we break it
            if api.get(f"/threads/thread_damaged/runs/{run['id']}").json()["status"] == "completed":
                break
            time.sleep(0.02)
        secret = json.dumps({"id": run["id"], "secret_internal": 1})
        raw_sql(api.store, "UPDATE runlife_runs SET body = ? WHERE id = ?", (secret, run["id"]))
        for path in (f"/threads/thread_damaged/runs/{run['id']}", "/threads/thread_damaged/runs"):
            answer = api.get(path)
            assert _error(answer, 500) == SERVER_ERROR
            assert "secret_internal" not in answer.text


class TestCase11Shapes:
    def test_two_authorization_headers_are_a_401(self, api):
        right, wrong = ("Authorization", f"Bearer {KEY}"), ("Authorization", "Bearer other")
        for headers in ([right, wrong], [wrong, right], [right, right]):
            _error(api.get("/threads/t/runs", headers=headers), 401)
        assert api.get("/threads/t/runs").status_code == 200

    @pytest.mark.parametrize(
        "raw",
        [
            '{"assistant_id": "a"}'.encode("utf-16"),
            '{"assistant_id": "a"}'.encode("utf-16-le"),
            b"\xef\xbb\xbf" + b'{"assistant_id": "a"}',
        ],
        ids=["utf-16-bom", "utf-16-le", "utf-8-bom"],
    )
    def test_a_body_not_in_plain_utf8_is_a_400(self, api, raw):
        thread_id = f"thread_enc_{len(raw)}_{raw[0]}"
        _error(api.post(f"/threads/{thread_id}/runs", raw=raw), 400)
        assert _runs_of(api, thread_id) == []

    def test_a_405_lists_every_method_of_the_path(self, api):
        answer = api.request("PUT", "/threads/t")
        _error(answer, 405)
        assert set(answer.headers["allow"].split(", ")) == {"GET", "HEAD", "POST", "DELETE"}


class TestCase10LoaderRefusesWhatCannotBeWritten:
    @pytest.mark.parametrize(
        ("change", "where"),
        [
            ({"temperature": float("nan")}, "$.temperature"),
            ({"top_p": float("inf")}, "$.top_p"),
            ({"metadata": {"k": object()}}, "$.metadata.k"),
            ({"response_format": {"type": "json_schema", "x": {1, 2}}}, "$.response_format"),
        ],
        ids=["nan", "infinity", "object", "set"],
    )
    def test_from_dict_refuses_what_to_json_could_not_write(self, change, where):
        import runlife

        run = runlife.RunEngine().create(assistant_id="a", thread_id="t", model="m")
        data = {**runlife.to_dict(run), **change}
        with pytest.raises(runlife.InvalidRun) as info:
            runlife.from_dict(data)
        assert any(path.startswith(where) for path, _ in info.value.errors), info.value.errors
