"""The API's key order, in the bytes ``runlife serve`` answers and the store keeps.

The Assistants API writes a ``thread.run``'s keys in one order (``RUN_ORDER``), and each
nested object's in its own (``SHAPES``); free-form JSON (``metadata``, a tool's
``parameters``, ``json_schema``, ``tool_resources``) keeps the order it was sent in. This
file is the contract's witness, so it declares the orders itself (the library's copy is
private): the checks read the raw response bytes of the official ``openai`` SDK
(``with_raw_response``, ``with_streaming_response`` for Server-Sent Events) from a real
``runlife serve`` on both backends, for runs in every status, and the library's own writer
for every run the strategies draw.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from hypothesis import given
from hypothesis import strategies as st
from tests.serve.conftest import KEY, store_url, wait_until, within
from tests.support import STEP_KEYS

import runlife
from runlife import ManualClock, RunEngine
from runlife.store import open_store
from runlife.testing import runs

#: A ``thread.run``'s keys in the order the API writes them.
RUN_ORDER = (
    "id",
    "object",
    "created_at",
    "assistant_id",
    "thread_id",
    "status",
    "started_at",
    "expires_at",
    "cancelled_at",
    "failed_at",
    "completed_at",
    "required_action",
    "last_error",
    "model",
    "instructions",
    "tools",
    "tool_resources",
    "metadata",
    "temperature",
    "top_p",
    "reasoning_effort",
    "max_completion_tokens",
    "max_prompt_tokens",
    "truncation_strategy",
    "incomplete_details",
    "usage",
    "response_format",
    "tool_choice",
    "parallel_tool_calls",
)
#: The two keys a run has only when it was given them (here: a run stored by the library).
SOMETIMES = frozenset({"tool_resources", "reasoning_effort"})

#: Each nested object's keys in the API's order, and those it always has.
SHAPES: dict[str, tuple[tuple[str, ...], frozenset[str]]] = {
    "run": (RUN_ORDER, frozenset(RUN_ORDER) - SOMETIMES),
    "required_action": (
        ("type", "submit_tool_outputs"),
        frozenset({"type", "submit_tool_outputs"}),
    ),
    "submit_tool_outputs": (("tool_calls",), frozenset({"tool_calls"})),
    "tool_call": (("id", "type", "function"), frozenset({"id", "type", "function"})),
    "function_call": (("name", "arguments"), frozenset({"name", "arguments"})),
    "last_error": (("code", "message"), frozenset({"code", "message"})),
    "incomplete_details": (("reason",), frozenset({"reason"})),
    "usage": (
        ("prompt_tokens", "completion_tokens", "total_tokens"),
        frozenset({"prompt_tokens", "completion_tokens", "total_tokens"}),
    ),
    "truncation_strategy": (("type", "last_messages"), frozenset({"type", "last_messages"})),
    "function_tool": (("type", "function"), frozenset({"type", "function"})),
    "function": (("name", "description", "parameters", "strict"), frozenset({"name"})),
    "code_interpreter_tool": (("type",), frozenset({"type"})),
    "file_search_tool": (("type", "file_search"), frozenset({"type"})),
    "tool_choice": (("type", "function"), frozenset({"type"})),
    "tool_choice_function": (("name",), frozenset({"name"})),
    "response_format": (("type", "json_schema"), frozenset({"type"})),
}
#: The list envelope's keys, in the API's order.
LIST_ORDER = ("object", "data", "first_id", "last_id", "has_more")
#: A ``thread.run.step``'s keys in the order the API writes them (``metadata``, which the API
#: writes none of, left out: serve's steps have none), and each nested object's.
STEP_ORDER = STEP_KEYS
STEP_SHAPES: dict[str, tuple[str, ...]] = {
    "step": STEP_ORDER,
    "tool_calls": ("type", "tool_calls"),
    "message_creation": ("type", "message_creation"),
    "message": ("message_id",),
    "step_call": ("id", "type", "function"),
    "step_function": ("name", "arguments", "output"),
    "usage": ("prompt_tokens", "completion_tokens", "total_tokens"),
    "last_error": ("code", "message"),
    "delta_object": ("id", "object", "delta"),
    "delta": ("step_details",),
    "delta_call": ("index", "id", "type", "function"),
}
TOOL_KINDS = {
    "function": "function_tool",
    "code_interpreter": "code_interpreter_tool",
    "file_search": "file_search_tool",
}
POLL = 20.0  # seconds: the watchdog of every poll and stream


def loads(raw: bytes | str) -> Any:
    """JSON with every object's keys in the order written (a repeated key is an error)."""

    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        keys = [k for k, _ in items]
        assert len(set(keys)) == len(keys), f"a key written twice: {keys}"
        return dict(items)

    return json.loads(raw, object_pairs_hook=pairs)


def shaped(run: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any], str]]:
    """Every object of *run* whose keys have an API order: its path, itself and its shape."""
    yield "$", run, "run"
    nested = ("required_action", "last_error", "incomplete_details", "usage")
    for name in (*nested, "truncation_strategy"):
        if isinstance(run.get(name), dict):
            yield f"$.{name}", run[name], name
    action = run.get("required_action")
    if isinstance(action, dict) and isinstance(action.get("submit_tool_outputs"), dict):
        submit = action["submit_tool_outputs"]
        yield "$.required_action.submit_tool_outputs", submit, "submit_tool_outputs"
        for i, call in enumerate(submit.get("tool_calls") or ()):
            where = f"$.required_action.submit_tool_outputs.tool_calls[{i}]"
            yield where, call, "tool_call"
            if isinstance(call.get("function"), dict):
                yield f"{where}.function", call["function"], "function_call"
    for i, tool in enumerate(run.get("tools") or ()):
        kind = TOOL_KINDS.get(tool.get("type"))
        if kind is None:
            continue  # a tool type the API added since: its keys are its own
        yield f"$.tools[{i}]", tool, kind
        if kind == "function_tool" and isinstance(tool.get("function"), dict):
            yield f"$.tools[{i}].function", tool["function"], "function"
    choice = run.get("tool_choice")
    if isinstance(choice, dict):
        yield "$.tool_choice", choice, "tool_choice"
        if isinstance(choice.get("function"), dict):
            yield "$.tool_choice.function", choice["function"], "tool_choice_function"
    if isinstance(run.get("response_format"), dict):
        yield "$.response_format", run["response_format"], "response_format"


def order_problems(run: dict[str, Any]) -> list[str]:
    """Where *run*'s keys are not the API's: out of order, unknown, or missing."""
    problems = []
    for where, obj, shape in shaped(run):
        order, always = SHAPES[shape]
        keys = list(obj)
        expected = [k for k in order if k in obj or k in always]
        if keys != expected:
            problems.append(f"{where}: keys {keys}, the API writes {expected}")
    return problems


def step_shaped(obj: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any], str]]:
    """Every object of a step (or of a step delta) whose keys have an API order."""
    if obj.get("object") == "thread.run.step.delta":
        yield "$", obj, "delta_object"
        yield "$.delta", obj["delta"], "delta"
        details = obj["delta"]["step_details"]
        yield "$.delta.step_details", details, "tool_calls"
        for i, call in enumerate(details["tool_calls"]):
            yield f"$.delta.step_details.tool_calls[{i}]", call, "delta_call"
            yield (
                f"$.delta.step_details.tool_calls[{i}].function",
                call["function"],
                "step_function",
            )
        return
    yield "$", obj, "step"
    for name in ("usage", "last_error"):
        if isinstance(obj.get(name), dict):
            yield f"$.{name}", obj[name], name
    details = obj["step_details"]
    yield "$.step_details", details, details["type"]
    if details["type"] == "message_creation":
        yield "$.step_details.message_creation", details["message_creation"], "message"
    for i, call in enumerate(details.get("tool_calls") or ()):
        yield f"$.step_details.tool_calls[{i}]", call, "step_call"
        yield f"$.step_details.tool_calls[{i}].function", call["function"], "step_function"


def assert_step_order(step: Any, what: str) -> None:
    """*step* (a step, or a step delta) has every key, each in the API's order."""
    assert isinstance(step, dict), f"{what}: not a step: {step!r}"
    problems = [
        f"{where}: keys {list(obj)}, the API writes {list(STEP_SHAPES[shape])}"
        for where, obj, shape in step_shaped(step)
        if list(obj) != list(STEP_SHAPES[shape])
    ]
    assert problems == [], f"{what}:\n" + "\n".join(problems)


def assert_api_order(run: Any, what: str) -> None:
    assert isinstance(run, dict), f"{what}: not a run: {run!r}"
    problems = order_problems(run)
    assert problems == [], f"{what} ({run.get('status')}):\n" + "\n".join(problems)


# --- the witness itself, and the library's writer -----------------------------------------


@given(runs())
def test_the_library_writes_the_api_order(run):
    """``runlife.to_json`` of any run, in any status, lists every key in the API's order."""
    assert_api_order(loads(runlife.to_json(run)), "to_json")


@given(runs(), st.data())
def test_the_witness_sees_any_key_out_of_place(run, data):
    """Moving any key of any ordered object of a run out of place is reported, with its path."""
    tree = loads(runlife.to_json(run))
    candidates = [(where, obj) for where, obj, _ in shaped(tree) if len(obj) > 1]
    where, obj = data.draw(st.sampled_from(candidates))
    keys = list(obj)
    moved = data.draw(st.permutations(keys).filter(lambda p: list(p) != keys))
    items = {k: obj[k] for k in moved}
    obj.clear()
    obj.update(items)
    assert [p.split(":")[0] for p in order_problems(tree)] == [where]


def test_the_witness_sees_unknown_and_missing_keys():
    run = loads(
        runlife.to_json(runlife.RunEngine().create(thread_id="t", assistant_id="a", model="m"))
    )
    assert order_problems(run) == []
    run["usage"] = {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2, "x": 0}
    del run["model"]
    assert [p.split(":")[0] for p in order_problems(run)] == ["$", "$.usage"]


# --- runlife serve, through the official SDK's raw bytes ----------------------------------

TOOLS: list[Any] = [
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "The weather in a city.",
            "parameters": {
                "type": "object",
                "properties": {"city": {"type": "string"}, "celsius": {"type": "boolean"}},
                "required": ["city"],
                "additionalProperties": False,
            },
            "strict": True,
        },
    },
    {"type": "code_interpreter"},
    {"type": "file_search", "file_search": {"max_num_results": 5}},
]
#: A create that sets every field serve takes, nested objects included.
FULL: dict[str, Any] = {
    "assistant_id": "asst_order",
    "model": "gpt-4o",
    "instructions": "Be brief.",
    "tools": TOOLS,
    "metadata": {"zeta": "1", "alpha": "2"},
    "temperature": 0.5,
    "top_p": 0.9,
    "max_completion_tokens": 100,
    "max_prompt_tokens": 200,
    "truncation_strategy": {"type": "last_messages", "last_messages": 3},
    "response_format": {
        "type": "json_schema",
        "json_schema": {"schema": {"type": "object"}, "name": "answer", "strict": True},
    },
    "tool_choice": {"type": "function", "function": {"name": "get_weather"}},
    "parallel_tool_calls": False,
}
#: The free-form values, which keep the order they were sent in.
AS_SENT = ("tools", "metadata", "truncation_strategy", "response_format", "tool_choice")


def raw_run(raw: Any, what: str) -> dict[str, Any]:
    """The run in a raw answer, its keys checked; the parsed run."""
    assert raw.status_code == 200, raw.content
    run = loads(raw.content)
    assert_api_order(run, what)
    return run


def assert_as_sent(run: dict[str, Any]) -> None:
    for name in AS_SENT:
        assert json.dumps(run[name]) == json.dumps(FULL[name]), name


def poll_to(client: Any, thread_id: str, run_id: str, status: str) -> dict[str, Any]:
    """Raw retrieves of the run until it is in *status* (under the watchdog); its bytes checked."""
    box: dict[str, Any] = {}
    raw_runs = client.beta.threads.runs.with_raw_response

    def there() -> bool:
        box["run"] = loads(raw_runs.retrieve(run_id, thread_id=thread_id).content)
        return bool(box["run"]["status"] == status)

    wait_until(there, POLL, f"run {run_id} in {status} (last: {box.get('run')})")
    assert_api_order(box["run"], f"retrieve in {status}")
    return box["run"]


def test_create_retrieve_update_submit_list(client, thread_id):
    """Every answer of a run's round trip: queued, requires_action, updated, completed, and
    the list (envelope and each run) in the API's order; free-form values as sent."""
    raw = client.beta.threads.runs.with_raw_response
    created = raw_run(raw.create(thread_id=thread_id, **FULL), "create")
    assert created["status"] == "queued"
    assert_as_sent(created)
    run_id = created["id"]
    waiting = poll_to(client, thread_id, run_id, "requires_action")
    assert waiting["required_action"]["submit_tool_outputs"]["tool_calls"]
    updated = raw_run(
        raw.update(run_id, thread_id=thread_id, metadata={"b": "1", "a": "2"}), "update"
    )
    assert list(updated["metadata"]) == ["b", "a"]
    calls = waiting["required_action"]["submit_tool_outputs"]["tool_calls"]
    outputs = [{"tool_call_id": call["id"], "output": "21"} for call in calls]
    submitted = raw_run(
        raw.submit_tool_outputs(run_id, thread_id=thread_id, tool_outputs=outputs), "submit"
    )
    assert submitted["status"] == "queued"
    done = poll_to(client, thread_id, run_id, "completed")
    assert done["usage"] == {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}
    listed = loads(raw.list(thread_id=thread_id, limit=5).content)
    assert list(listed) == list(LIST_ORDER)
    assert [r["id"] for r in listed["data"]] == [run_id]
    for run in listed["data"]:
        assert_api_order(run, "list")
    assert_as_sent(listed["data"][0] | {"metadata": FULL["metadata"]})
    raw_steps = client.beta.threads.runs.steps.with_raw_response
    steps = loads(raw_steps.list(run_id, thread_id=thread_id).content)
    assert list(steps) == list(LIST_ORDER)
    assert [s["type"] for s in steps["data"]] == ["message_creation", "tool_calls"]
    for step in steps["data"]:
        assert_step_order(step, "steps.list")
        one = raw_steps.retrieve(step["id"], thread_id=thread_id, run_id=run_id)
        assert one.content == json.dumps(step, separators=(",", ":")).encode()


def test_failed(client, thread_id):
    """A failed run (the demo's ``{"demo": "fail"}``): ``last_error`` in the API's order."""
    raw = client.beta.threads.runs.with_raw_response
    created = raw_run(
        raw.create(thread_id=thread_id, assistant_id="a", metadata={"demo": "fail"}), "create"
    )
    failed = poll_to(client, thread_id, created["id"], "failed")
    assert failed["last_error"]["code"] == "server_error"


def test_in_progress_cancelling_cancelled(client, thread_id):
    """A run the executor works on (``demo_delay_ms``), its cancel, and its end."""
    raw = client.beta.threads.runs.with_raw_response
    metadata = {"demo_delay_ms": "2000"}
    created = raw_run(
        raw.create(thread_id=thread_id, assistant_id="a", tools=TOOLS, metadata=metadata),
        "create",
    )
    run_id = created["id"]
    poll_to(client, thread_id, run_id, "in_progress")
    cancelling = raw_run(raw.cancel(run_id, thread_id=thread_id), "cancel")
    assert cancelling["status"] == "cancelling"
    poll_to(client, thread_id, run_id, "cancelled")


def stream_runs(open_stream: Any, **params: Any) -> list[tuple[str, dict[str, Any]]]:
    """The events of a raw Server-Sent Events answer up to ``[DONE]``: name and run."""

    def read() -> list[tuple[str, dict[str, Any]]]:
        events: list[tuple[str, dict[str, Any]]] = []
        name = ""
        with open_stream(stream=True, **params) as response:
            assert response.status_code == 200
            for line in response.iter_lines():
                if line.startswith("event: "):
                    name = line.removeprefix("event: ")
                elif line.startswith("data: ") and name != "done":
                    events.append((name, loads(line.removeprefix("data: "))))
        return events

    return within(POLL, read)


def runs_of(events: list[tuple[str, dict[str, Any]]]) -> list[tuple[str, dict[str, Any]]]:
    """The run events of *events* (the step events left out)."""
    return [(name, data) for name, data in events if not name.startswith("thread.run.step.")]


def test_stream_events(client, thread_id):
    """Each event of a stream on create and on submit carries the run, or the step (or the
    step delta), in the API's order."""
    streaming = client.beta.threads.runs.with_streaming_response
    first = stream_runs(streaming.create, thread_id=thread_id, **FULL)
    assert [name for name, _ in first] == [
        "thread.run.created",
        "thread.run.queued",
        "thread.run.in_progress",
        "thread.run.step.created",
        "thread.run.step.in_progress",
        "thread.run.step.delta",
        "thread.run.requires_action",
    ]
    for name, run in runs_of(first):
        assert_api_order(run, name)
        assert_as_sent(run)
    run = first[-1][1]
    calls = run["required_action"]["submit_tool_outputs"]["tool_calls"]
    second = stream_runs(
        streaming.submit_tool_outputs,
        run_id=run["id"],
        thread_id=thread_id,
        tool_outputs=[{"tool_call_id": call["id"], "output": "21"} for call in calls],
    )
    assert [name for name, _ in second] == [
        "thread.run.step.completed",
        "thread.run.queued",
        "thread.run.in_progress",
        "thread.run.step.created",
        "thread.run.step.in_progress",
        "thread.run.step.completed",
        "thread.run.completed",
    ]
    for name, run in runs_of(second):
        assert_api_order(run, name)
    for name, step in [*first, *second]:
        if name.startswith("thread.run.step."):
            assert_step_order(step, name)


# --- runs only the library makes: incomplete, expired, tool_resources and reasoning_effort --

STORED_THREAD = "thread_stored"
EXTRA = {
    "tool_resources": {"file_search": {"vector_store_ids": ["vs_1"]}, "code_interpreter": {}},
    "reasoning_effort": "low",
}


def stored_runs(url: str) -> dict[str, str]:
    """Runs of ``STORED_THREAD`` put in the store by the library (the demo executor makes no
    such runs): their status by id."""
    clock = ManualClock(1_700_000_000)
    store = open_store(url, engine=RunEngine(clock=clock))
    try:
        made = {}
        incomplete = store.create(
            thread_id=STORED_THREAD,
            assistant_id="a",
            model="m",
            tools=TOOLS[:1],
            max_completion_tokens=5,
        )
        store.claim(1, worker="test")
        with store.move(incomplete.id, worker="test") as run:
            run.mark_incomplete(
                "max_completion_tokens",
                {"prompt_tokens": 3, "completion_tokens": 4, "total_tokens": 7},
            )
        made[incomplete.id] = "incomplete"
        clock.advance(1)
        extras = store.create(
            thread_id=STORED_THREAD,
            assistant_id="a",
            model="m",
            extra=EXTRA,
            **{k: FULL[k] for k in ("tools", "metadata", "truncation_strategy")},
        )
        store.claim(1, worker="test")
        with store.move(extras.id, worker="test") as run:
            run.complete({"prompt_tokens": 1, "completion_tokens": 2, "total_tokens": 3})
        made[extras.id] = "completed"
        clock.advance(1)
        expired = store.create(thread_id=STORED_THREAD, assistant_id="a", model="m")
        clock.advance(601)
        assert store.expire_due().moved == (expired.id,)
        made[expired.id] = "expired"
        return made
    finally:
        store.close()


def test_runs_the_library_stored(backend, start_server, tmp_path):
    """Runs in ``incomplete`` and ``expired``, and one stored with ``tool_resources`` and
    ``reasoning_effort`` (serve takes neither on create): retrieve and list answer them with
    every key at its API position, those two included."""
    with store_url(backend, tmp_path) as url:
        made = stored_runs(url)
        server = start_server(backend, "--workers", "1", "--api-key", KEY, store=url)
        client = server.client()
        try:
            raw = client.beta.threads.runs.with_raw_response
            for run_id, status in made.items():
                run = raw_run(raw.retrieve(run_id, thread_id=STORED_THREAD), f"retrieve {status}")
                assert run["status"] == status
            listed = loads(raw.list(thread_id=STORED_THREAD, order="asc").content)
            assert {r["id"]: r["status"] for r in listed["data"]} == made
            for run in listed["data"]:
                assert_api_order(run, "list")
            with_extra = next(r for r in listed["data"] if r["status"] == "completed")
            assert set(SOMETIMES) <= set(with_extra)
            for name, value in EXTRA.items():
                assert json.dumps(with_extra[name]) == json.dumps(value), name
            others = [r for r in listed["data"] if r["status"] != "completed"]
            assert all(not (SOMETIMES & set(r)) for r in others)
            assert next(r for r in others if r["status"] == "incomplete")["incomplete_details"] == {
                "reason": "max_completion_tokens"
            }
        finally:
            client.close()
            server.kill()
