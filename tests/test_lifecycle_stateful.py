"""The lifecycle as a state machine: against a tiny independent model of the spec, and with steps.

``LifecycleMachine`` fires every trigger, legal or not, and predicts each outcome from its own
model; ``StepsMachine`` is ``runlife.testing.RunLifecycleStateMachine`` (with the driver's step
moves and refused moves) and its step invariants.
"""

from __future__ import annotations

from typing import Any

from hypothesis import note
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

import runlife
from runlife import GuardRejected, IllegalTransition, ManualClock, Run, RunEngine, to_json
from runlife.testing import RunLifecycleStateMachine
from tests.support import SPEC, T0, WEATHER_TOOL

SOURCES = SPEC
TERMINAL = {"cancelled", "failed", "completed", "incomplete", "expired"}
STAMPS = ("started_at", "cancelled_at", "failed_at", "completed_at", "expires_at")

counts = st.integers(-2, 40)
usages = (
    st.none()
    | st.fixed_dictionaries(
        {"prompt_tokens": counts, "completion_tokens": counts, "total_tokens": counts}
    )
    | st.builds(
        lambda p, c: {"prompt_tokens": p, "completion_tokens": c, "total_tokens": p + c},
        st.integers(0, 50),
        st.integers(0, 50),
    )
    | st.sampled_from([[], "15", {"prompt_tokens": 1}])
)


def _usage_ok(u: Any) -> bool:
    if u is None:
        return True
    if not isinstance(u, dict) or set(u) != {"prompt_tokens", "completion_tokens", "total_tokens"}:
        return False
    p, c, t = u["prompt_tokens"], u["completion_tokens"], u["total_tokens"]
    return min(p, c, t) >= 0 and t == p + c


class LifecycleMachine(RuleBasedStateMachine):
    """Fires every trigger, legal or not, with good and bad arguments and clock jumps."""

    def __init__(self) -> None:
        super().__init__()
        self.clock = ManualClock(T0)
        self.engine = RunEngine(clock=self.clock, ttl=600)
        self.m: dict[str, Any] = {}

    @initialize(
        parallel=st.booleans(),
        tool_choice=st.sampled_from(["auto", "none", "required"]),
        max_prompt=st.sampled_from([None, 256, 1000]),
        max_completion=st.sampled_from([None, 256]),
    )
    def create(self, parallel, tool_choice, max_prompt, max_completion):
        self.run = self.engine.create(
            id="run_s",
            assistant_id="asst",
            thread_id="thread",
            model="gpt-4o",
            tools=[WEATHER_TOOL, {"type": "code_interpreter"}],
            parallel_tool_calls=parallel,
            tool_choice=tool_choice,
            max_prompt_tokens=max_prompt,
            max_completion_tokens=max_completion,
        )
        self.m = {
            "status": "queued",
            "created_at": T0,
            "expires_at": T0 + 600,
            "started_at": None,
            "cancelled_at": None,
            "failed_at": None,
            "completed_at": None,
            "pending": [],
            "parallel": parallel,
            "tool_choice": tool_choice,
            "limits": {"max_prompt_tokens": max_prompt, "max_completion_tokens": max_completion},
            "usage": None,
        }

    @rule(seconds=st.integers(0, 400))
    def tick(self, seconds):
        self.clock.advance(seconds)

    def _args(self, data: st.DataObject, trigger: str) -> dict[str, Any]:
        if trigger == "require_action":
            n = data.draw(st.integers(0, 3), label="n_calls")
            calls = [
                {
                    "id": data.draw(st.sampled_from(["call_a", "call_b", "call_c", ""])),
                    "type": "function",
                    "function": {
                        "name": data.draw(st.sampled_from(["get_weather", "get_weather", "nope"])),
                        "arguments": data.draw(st.sampled_from(['{"city": "Oslo"}', "{not json"])),
                    },
                }
                for _ in range(n)
            ]
            return {"tool_calls": data.draw(st.just(calls) | st.sampled_from([None, "x", [1]]))}
        if trigger == "submit_tool_outputs":
            ids = data.draw(
                st.just(list(self.m["pending"]))
                | st.lists(st.sampled_from([*self.m["pending"], "call_zzz"]), max_size=4)
            )
            outputs = [{"tool_call_id": i, "output": "ok"} for i in ids]
            return {"tool_outputs": data.draw(st.just(outputs) | st.sampled_from([None, {}, [{}]]))}
        if trigger in {"complete", "mark_incomplete", "fail"}:
            args: dict[str, Any] = {"usage": data.draw(usages, label="usage")}
            if trigger == "mark_incomplete":
                args["reason"] = data.draw(
                    st.sampled_from(["max_prompt_tokens", "max_completion_tokens", "tokens", 3])
                )
            if trigger == "fail":
                args["code"] = data.draw(
                    st.sampled_from(
                        ["server_error", "rate_limit_exceeded", "invalid_prompt", "oops"]
                    )
                )
                args["message"] = data.draw(st.sampled_from(["boom", None]))
            return args
        return {}

    def _guard_ok(self, trigger: str, args: dict[str, Any], now: int) -> bool:
        m = self.m
        if trigger == "require_action":
            calls = args["tool_calls"]
            if (
                not isinstance(calls, list)
                or not calls
                or not all(isinstance(c, dict) for c in calls)
            ):
                return False
            ids = [c["id"] for c in calls]
            return (
                all(ids)
                and len(set(ids)) == len(ids)
                and all(c["function"]["name"] == "get_weather" for c in calls)
                and (m["parallel"] or len(calls) <= 1)
                and m["tool_choice"] != "none"
            )
        if trigger == "submit_tool_outputs":
            outs = args["tool_outputs"]
            if not isinstance(outs, list) or not all(
                isinstance(o, dict) and "tool_call_id" in o for o in outs
            ):
                return False
            ids = [o["tool_call_id"] for o in outs]
            return sorted(ids) == sorted(m["pending"])
        if trigger in {"complete", "mark_incomplete"}:
            ok = m["started_at"] is not None and _usage_ok(args["usage"])
            if trigger == "mark_incomplete":
                reason = args["reason"]
                ok = ok and reason in m["limits"] and m["limits"][reason] is not None
            return ok
        if trigger == "fail":
            return (
                args["code"] in {"server_error", "rate_limit_exceeded", "invalid_prompt"}
                and isinstance(args["message"], str)
                and _usage_ok(args["usage"])
            )
        if trigger == "expire":
            return now >= m["expires_at"]
        return True

    def _apply(self, trigger: str, args: dict[str, Any], now: int) -> None:
        m = self.m
        m["status"] = SOURCES[trigger][1]
        if trigger == "start":
            m["started_at"] = now
        elif trigger == "require_action":
            m["pending"] = [c["id"] for c in args["tool_calls"]]
        elif trigger in {"submit_tool_outputs", "cancel", "expire"}:
            m["pending"] = []
        if trigger in {"complete", "mark_incomplete"}:
            m["completed_at"] = now
        if trigger == "fail":
            m["failed_at"] = now
        if trigger == "finish_cancel":
            m["cancelled_at"] = now
        if trigger in {"complete", "mark_incomplete", "fail"} and args["usage"] is not None:
            m["usage"] = args["usage"]
        if m["status"] in TERMINAL:
            m["expires_at"] = None

    @rule(trigger=st.sampled_from(sorted(SOURCES)), data=st.data())
    def fire(self, trigger, data):
        args = self._args(data, trigger)
        now = self.clock()
        before = to_json(self.run)
        legal = self.m["status"] in SOURCES[trigger][0]
        ok = legal and self._guard_ok(trigger, args, now)
        note(
            f"{trigger}({args!r}) from {self.m['status']} at {now}: expect {'ok' if ok else 'refusal'}"
        )
        assert getattr(self.run, f"may_{trigger}")(**args) is ok
        assert to_json(self.run) == before
        try:
            getattr(self.run, trigger)(**args)
        except IllegalTransition:
            assert not legal
            assert to_json(self.run) == before
        except GuardRejected:
            assert legal
            assert not ok
            assert to_json(self.run) == before
        else:
            assert ok
            self._apply(trigger, args, now)
            assert self.run.history[-1].trigger == trigger

    @invariant()
    def matches_model(self):
        if not self.m:
            return
        run = self.run
        assert run.status == self.m["status"]
        for stamp in STAMPS:
            assert getattr(run, stamp) == self.m[stamp], stamp
        pending = (
            [c.id for c in run.required_action.submit_tool_outputs.tool_calls]
            if run.required_action
            else []
        )
        assert pending == self.m["pending"]
        usage = runlife.to_dict(run)["usage"]
        assert usage == self.m["usage"]

    @invariant()
    def sound(self):
        if self.m:
            assert runlife.check(self.run) == []


TestLifecycle = LifecycleMachine.TestCase


class StepsMachine(RunLifecycleStateMachine):
    """The reusable machine: run moves, the driver's step moves and refusals, on two runs.

    Its own invariants are checked after every step (one open step at most, none on an
    ended run, the usage sum, outputs of completed calls, refusals that change nothing,
    ``runlife.check`` of each run with its steps); here, also the history's step records.
    """

    max_runs = 2

    def check_run(self, run: Run) -> None:
        ids = [s.id for s in run.steps]
        opened = [
            m["step_id"] for move in run.history for m in move.steps if m["trigger"] == "open"
        ]
        assert opened == ids, (opened, ids)
        ops = [m for m in run.history if m.trigger in runlife.STEP_OPS]
        assert all(m.source == m.dest for m in ops)


TestStepsMachine = StepsMachine.TestCase
