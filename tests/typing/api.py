"""Calls every public entry point with correct types: `mypy --strict` fails on a signature regression.

Not a test module (pytest does not collect it); mypy checks it in CI with the rest of tests/.
"""

from __future__ import annotations

import runlife
from runlife import FunctionCall, ManualClock, RunEngine, RunEvent, RunStatus, ToolCall, Usage


def api() -> None:
    clock = ManualClock(0)
    clock.advance(1)
    engine = RunEngine(clock=clock, ttl=60)
    unsubscribe = engine.subscribe(lambda event: print(event.event, event.data["status"]))
    run: runlife.Run = engine.create(assistant_id="a", thread_id="t", model="m")
    ok: bool = run.may_start()
    run.start()
    run.require_action([ToolCall(id="c", function=FunctionCall(name="f", arguments="{}"))])
    run.submit_tool_outputs([{"tool_call_id": "c", "output": "x"}])
    run.start()
    run.complete(Usage(prompt_tokens=1, completion_tokens=1, total_tokens=2))
    run.mark_incomplete("max_prompt_tokens", usage=None)
    run.fail("server_error", "boom")
    run.cancel()
    run.finish_cancel()
    run.expire()
    status: RunStatus = run.status
    data: dict[str, object] = runlife.to_dict(run)
    text: str = runlife.to_json(run)
    again: runlife.Run = runlife.from_json(text, engine=engine)
    loaded: runlife.Run = engine.load(runlife.from_dict(data).engine and data)
    findings: list[runlife.Finding] = runlife.check(again)
    for f in findings:
        print(f.kind, f.code, f.path, f.message)
    history: tuple[runlife.Move, ...] = loaded.history
    event: RunEvent | None = None
    print(ok, status, history, event)
    unsubscribe()
    runlife.SystemClock()()


def embedding_api() -> None:
    engine = RunEngine(clock=ManualClock(0), index_deadlines=True, one_active_run_per_thread=True)
    run = engine.create(assistant_id="a", thread_id="t", model="m")
    doc = runlife.dump(run)
    again: runlife.Run = runlife.restore(doc, engine=engine, verify=True)
    rebuilt: runlife.Run = runlife.rebuild(runlife.initial_wire(run), run.history)
    runlife.expect_version(doc, run.version)
    expired: list[runlife.Run] = list(engine.expire_due(limit=10))
    holder: runlife.Run | None = engine.active_run("t")
    print(again, rebuilt, expired, holder, engine.next_deadline())
