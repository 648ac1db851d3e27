"""``_executor``: the steps an executor returns, as the worker applies them to a stored run.

In-process: a real SQLite store, a ``Worker`` taking one turn at a time (``run_once``).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import runlife
from runlife import RunEngine
from runlife.serve import (
    CallTools,
    Complete,
    CompleteMessageStep,
    Fail,
    Incomplete,
    OpenMessageStep,
    Step,
    Turn,
    Worker,
    demo,
    new_message_id,
)
from runlife.store import Store, open_store

TOOLS = [{"type": "function", "function": {"name": "f"}}]
CALL = {"id": "call_1", "type": "function", "function": {"name": "f", "arguments": "{}"}}
USAGE = {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}
OTHER_USAGE = {"prompt_tokens": 2, "completion_tokens": 1, "total_tokens": 3}
MESSAGE_ID = re.compile(r"msg_[A-Za-z0-9_-]{24}")


@pytest.fixture(name="store")
def _store(tmp_path: Path) -> Iterator[Store]:
    store = open_store(f"sqlite:///{tmp_path / 'runs.db'}", engine=RunEngine())
    yield store
    store.close()


def turn(store: Store, executor: Any) -> None:
    """One claim of the worker, its executor's steps applied."""
    assert Worker(store, executor, worker_id="w", sweep_interval=0).run_once() == 1


def submit(store: Store, run_id: str) -> None:
    with store.move(run_id) as run:
        calls = run.required_action.submit_tool_outputs.tool_calls  # type: ignore[union-attr]
        run.submit_tool_outputs([{"tool_call_id": c.id, "output": "21"} for c in calls])


def test_message_ids_have_the_apis_shape():
    ids = {new_message_id() for _ in range(100)}
    assert len(ids) == 100
    assert all(MESSAGE_ID.fullmatch(i) for i in ids)
    assert MESSAGE_ID.fullmatch(OpenMessageStep().message_id)


def test_the_demo_writes_a_message_then_completes(store):
    run = store.create(thread_id="t", assistant_id="a", model="m")
    turn(store, demo)
    done = store.get(run.id)
    assert done.status == "completed"
    (step,) = done.steps
    assert (step.type, step.status) == ("message_creation", "completed")
    details = runlife.step_to_dict(step)["step_details"]
    assert MESSAGE_ID.fullmatch(details["message_creation"]["message_id"])
    assert runlife.to_dict(done)["usage"] == USAGE
    assert runlife.step_to_dict(step)["usage"] == USAGE
    assert [m.trigger for m in store.history(run.id)] == [
        "start",
        "open_message_step",
        "complete_message_step",
        "complete",
    ]
    assert runlife.check(done) == []


def test_the_demo_calls_the_tools_then_writes_a_message(store):
    run = store.create(thread_id="t", assistant_id="a", model="m", tools=TOOLS)
    turn(store, demo)
    waiting = store.get(run.id)
    assert waiting.status == "requires_action"
    (open_step,) = waiting.steps
    assert (open_step.type, open_step.status) == ("tool_calls", "in_progress")
    submit(store, run.id)
    turn(store, demo)
    done = store.get(run.id)
    assert done.status == "completed"
    assert [(s.type, s.status) for s in done.steps] == [
        ("tool_calls", "completed"),
        ("message_creation", "completed"),
    ]
    assert done.steps[0].usage is None
    assert runlife.check(done) == []


def test_steps_off_the_demo_completes_without_steps(tmp_path):
    with open_store(f"sqlite:///{tmp_path / 'off.db'}", engine=RunEngine(steps=False)) as store:
        run = store.create(thread_id="t", assistant_id="a", model="m")
        turn(store, demo)
        done = store.get(run.id)
        assert (done.status, done.steps) == ("completed", ())
        assert [m.trigger for m in store.history(run.id)] == ["start", "complete"]


# --- any list of steps: all of it, or a failed run ----------------------------------------------

_STEP_VALUES = st.sampled_from(
    [
        OpenMessageStep("msg_1"),
        OpenMessageStep("msg_2"),
        OpenMessageStep(""),  # refused: an empty message id
        CompleteMessageStep(),
        CompleteMessageStep(USAGE),
        CompleteMessageStep(OTHER_USAGE),
        CallTools([CALL]),
        CallTools([{"id": "call_2", "type": "function", "function": {"name": "g"}}]),  # refused
        Complete(),
        Complete(USAGE),
        Complete(OTHER_USAGE),
        Fail("server_error", "boom"),
        Incomplete("max_prompt_tokens"),
    ]
)
_RETURNED = st.one_of(
    _STEP_VALUES,
    st.lists(_STEP_VALUES, max_size=5),
    st.lists(_STEP_VALUES, max_size=3).map(tuple),
    st.sampled_from([None, "complete", [Complete(), "x"]]),
)


def accepted(steps: list[Any]) -> list[str] | None:
    """The triggers *steps* fire when a fresh engine takes all of them on a started run of
    the same kind, in order, ending out of ``in_progress``; ``None`` if it refuses any."""
    engine = RunEngine()
    run = engine.create(
        thread_id="t", assistant_id="a", model="m", tools=TOOLS, max_prompt_tokens=256
    )
    run.start()
    for step in steps:
        try:
            if isinstance(step, OpenMessageStep):
                run.open_message_step(step.message_id)
            elif isinstance(step, CompleteMessageStep):
                run.complete_message_step(step.usage)
            elif isinstance(step, CallTools):
                run.require_action(list(step.calls))
            elif isinstance(step, Complete):
                run.complete(step.usage)
            elif isinstance(step, Fail):
                run.fail(step.code, step.message)
            elif isinstance(step, Incomplete):
                run.mark_incomplete(step.reason)
            else:
                return None
        except runlife.RunlifeError:
            return None
    if not steps or run.status == "in_progress":
        return None
    return [m.trigger for m in run.history[1:]]


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None)
@given(returned=_RETURNED)
def test_an_executors_steps_are_one_write_or_the_run_fails(store, returned):
    """Whatever an executor returns, the worker either writes all its steps (the moves a
    fresh engine makes of them) or none, and then fails the run with ``server_error``; the
    run never stays ``in_progress``, and ``check`` finds nothing wrong with it."""
    run = store.create(
        thread_id=f"t_{uuid.uuid4().hex}",
        assistant_id="a",
        model="m",
        tools=TOOLS,
        max_prompt_tokens=256,
    )

    def executor(_turn: Turn) -> Any:
        return returned

    turn(store, executor)
    after = store.get(run.id)
    triggers = [m.trigger for m in store.history(run.id)[1:]]
    expected = accepted(list(returned) if isinstance(returned, list | tuple) else [returned])
    if expected is None:
        assert triggers == ["fail"]
        assert after.last_error is not None
        assert after.last_error.code == "server_error"
        assert after.steps == ()
    else:
        assert triggers == expected
    assert after.status != "in_progress"
    assert runlife.check(after) == []


def test_a_refused_list_is_logged_and_fails_the_run(store, caplog):
    run = store.create(thread_id="t", assistant_id="a", model="m")
    steps: list[Step] = [OpenMessageStep(), CompleteMessageStep(USAGE), Complete(OTHER_USAGE)]
    turn(store, lambda _turn: steps)
    after = store.get(run.id)
    assert after.status == "failed"
    assert after.last_error is not None
    assert after.last_error.message.startswith("the executor's step was refused: ")
    assert "executor step refused" in caplog.text


def test_a_list_that_does_not_end_the_turn_fails_the_run(store):
    run = store.create(thread_id="t", assistant_id="a", model="m")
    turn(store, lambda _turn: [OpenMessageStep()])
    after = store.get(run.id)
    assert after.status == "failed"
    assert after.last_error is not None
    assert "the last must be a CallTools, Complete, Fail, Incomplete" in after.last_error.message


def test_the_docs_message_writer_runs_as_written(store):
    """docs/serve.md's executor that writes a message: its block, run by a worker."""
    text = (Path(__file__).parents[2] / "docs" / "serve.md").read_text(encoding="utf-8")
    blocks = [b.split("```", 1)[0] for b in text.split("```python\n")[1:]]
    (block,) = [b for b in blocks if "def writer(" in b]
    namespace: dict[str, Any] = {}
    exec(compile(block, "docs/serve.md", "exec"), namespace)  # noqa: S102 - the docs' own code
    run = store.create(thread_id="t", assistant_id="a", model="m")
    turn(store, namespace["writer"])
    done = store.get(run.id)
    assert done.status == "completed"
    assert [(s.type, s.status) for s in done.steps] == [("message_creation", "completed")]
    assert runlife.to_dict(done)["usage"]["total_tokens"] == 15
