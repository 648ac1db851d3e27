"""Run steps: the record and its wire, the coupling of run moves and steps, atomicity, checks.

The coupling is written out here independently of ``runlife.COUPLING`` (``EXPECTED``), as
``tests/support.SPEC`` writes out the run's table; a property test drives random calls
(run triggers and the driver's step moves, good and bad arguments) and holds every refused
call to leaving run, steps, version and history byte-identical.
"""

from __future__ import annotations

import copy
import json
import pickle
import random
from typing import Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

import runlife
from runlife import (
    COUPLING,
    STEP_OPS,
    STEP_TABLE,
    GuardRejected,
    IllegalTransition,
    RunEngine,
    RunlifeError,
    RunStatus,
    RunStep,
    StepStatus,
    check,
    dump,
    restore,
    step_from_dict,
    step_from_json,
    step_to_dict,
    step_to_json,
)
from tests.support import CALL, STEP_KEYS, T0, USAGE, VALID_ARGS, fire, new_engine, new_run, run_in

OUTPUTS = VALID_ARGS["submit_tool_outputs"]["tool_outputs"]

#: A step as the live API writes it (the recorded order: ``expires_at``, no ``metadata``).
RECORDED_STEP: dict[str, Any] = {
    "id": "step_abc123",
    "object": "thread.run.step",
    "created_at": 1699063291,
    "run_id": "run_abc123",
    "assistant_id": "asst_abc123",
    "thread_id": "thread_abc123",
    "type": "tool_calls",
    "status": "completed",
    "cancelled_at": None,
    "completed_at": 1699063295,
    "expires_at": None,
    "failed_at": None,
    "last_error": None,
    "step_details": {
        "type": "tool_calls",
        "tool_calls": [
            {
                "id": "call_1",
                "type": "function",
                "function": {"name": "get_weather", "arguments": "{}", "output": "sunny"},
            },
            {"id": "call_2", "type": "code_interpreter", "code_interpreter": {"input": "1+1"}},
        ],
    },
    "usage": {"prompt_tokens": 5, "completion_tokens": 2, "total_tokens": 7},
}

#: run trigger -> (what ends the open step, the type of step it opens), written out.
EXPECTED: dict[str, tuple[str | None, str | None]] = {
    "start": (None, None),
    "require_action": ("completed", "tool_calls"),
    "submit_tool_outputs": ("completed", None),
    "complete": ("completed", None),
    "mark_incomplete": ("completed", None),
    "fail": ("failed", None),
    "cancel": (None, None),
    "finish_cancel": ("cancelled", None),
    "expire": ("expired", None),
}


def state(run: runlife.Run) -> str:
    """Everything a refused call must leave as it was, as one string."""
    return json.dumps(
        {
            "run": runlife.to_dict(run),
            "steps": [step_to_dict(s) for s in run.steps],
            "version": run.version,
            "history": [m.to_dict() for m in run.history],
        }
    )


def running(**fields: Any) -> tuple[runlife.Run, RunEngine, Any]:
    engine, clock = new_engine()
    run = new_run(engine, **fields)
    clock.advance(1)
    run.start()
    return run, engine, clock


class TestWire:
    def test_recorded_step_round_trips_byte_for_byte(self) -> None:
        step = step_from_dict(RECORDED_STEP)
        assert json.dumps(step_to_dict(step)) == json.dumps(RECORDED_STEP)
        assert step.expired_at is runlife.UNSET  # the wire's ``expires_at`` is kept as is
        assert step.extra == {"expires_at": None}
        assert step_from_json(step_to_json(step)) == step
        assert step.status is StepStatus.COMPLETED

    @given(st.permutations(list(RECORDED_STEP)))
    def test_any_key_order_round_trips(self, keys: list[str]) -> None:
        shuffled = {k: RECORDED_STEP[k] for k in keys}
        assert json.dumps(step_to_dict(step_from_dict(shuffled))) == json.dumps(shuffled)

    def test_made_steps_write_the_documented_keys_in_order(self) -> None:
        run, _, _ = running()
        run.require_action([CALL])
        (step,) = run.steps
        assert tuple(step_to_dict(step)) == STEP_KEYS

    @pytest.mark.parametrize(
        ("change", "path", "words"),
        [
            ({"status": "incomplete"}, "$.status", "unknown step status"),
            ({"object": "thread.run"}, "$.object", "thread.run.step"),
            ({"created_at": "now"}, "$.created_at", "an int"),
            ({"step_details": {"type": "tool_calls"}}, "$.step_details.tool_calls", "missing"),
            ({"usage": {"prompt_tokens": 1}}, "$.usage.completion_tokens", "missing"),
        ],
    )
    def test_structure_is_refused_with_its_path(
        self, change: dict[str, Any], path: str, words: str
    ) -> None:
        with pytest.raises(runlife.InvalidRun) as caught:
            step_from_dict({**RECORDED_STEP, **change})
        assert any(p == path and words in m for p, m in caught.value.errors), caught.value.errors

    def test_the_converter_has_the_step_hooks(self) -> None:
        converter = runlife.make_converter()
        step = converter.structure(RECORDED_STEP, RunStep)
        assert converter.unstructure(step) == RECORDED_STEP


class TestCoupling:
    def test_the_table_is_the_written_out_one(self) -> None:
        assert set(COUPLING) == set(runlife.TRIGGERS)
        for trigger, (ends, opens) in EXPECTED.items():
            row = COUPLING[trigger]
            assert (None if row.ends is None else STEP_TABLE.row(row.ends).dest.value) == ends
            assert row.opens == opens

    @pytest.mark.parametrize("trigger", sorted(EXPECTED))
    def test_each_trigger_moves_the_open_step_as_written(self, trigger: str) -> None:
        """From every source of the trigger, with an open step where one can be."""
        ends, opens = EXPECTED[trigger]
        for source in runlife.TABLE.row(trigger).sources:
            engine, clock = new_engine()
            run = run_in(source, engine, clock)
            if source is RunStatus.IN_PROGRESS and trigger != "require_action":
                run.open_message_step("msg_1")
            before = run.steps
            clock.advance(engine.ttl if trigger == "expire" else 1)
            fire(run, trigger)
            opened = run.steps[len(before) :]
            assert [s.type for s in opened] == ([opens] if opens else [])
            if before and before[-1].is_open:
                ended = run.steps[len(before) - 1]
                want = StepStatus.IN_PROGRESS.value if ends is None else ends
                if (
                    ends == "completed"
                    and before[-1].type == "tool_calls"
                    and not run.steps[len(before) - 1].step_details.tool_calls[0].function.output
                ):
                    want = "cancelled"  # never answered (cancelled while waiting)
                assert ended.status.value == want, (source, trigger)
            assert check(run) == [], (source, trigger)

    def test_function_calling_life(self) -> None:
        run, engine, _ = running()
        heard: list[runlife.RunEvent] = []
        engine.subscribe(heard.append)
        run.open_message_step("msg_1")
        run.complete_message_step({"prompt_tokens": 3, "completion_tokens": 4, "total_tokens": 7})
        run.require_action([CALL])
        run.submit_tool_outputs(OUTPUTS)
        run.start()
        run.open_message_step("msg_2")
        run.complete({"prompt_tokens": 20, "completion_tokens": 10, "total_tokens": 30})
        message, tools, answer = run.steps
        assert [s.status.value for s in run.steps] == ["completed"] * 3
        assert tools.step_details.tool_calls[0].function.output == "sunny"
        assert tools.usage is None  # completed by submitted outputs: no tokens known
        assert answer.usage is None  # a step without usage: the share is unknown
        assert message.usage is not None
        assert [[e["event"] for e in ev.stream_events()] for ev in heard] == [
            ["thread.run.step.created", "thread.run.step.in_progress"],
            ["thread.run.step.completed"],
            [
                "thread.run.step.created",
                "thread.run.step.in_progress",
                "thread.run.step.delta",
                "thread.run.requires_action",
            ],
            ["thread.run.step.completed", "thread.run.queued"],
            ["thread.run.in_progress"],
            ["thread.run.step.created", "thread.run.step.in_progress"],
            ["thread.run.step.completed", "thread.run.completed"],
        ]
        created = heard[2].step_events[0].data
        assert created["step_details"] == {"type": "tool_calls", "tool_calls": []}
        delta = heard[2].step_events[2].data
        assert delta["delta"]["step_details"]["tool_calls"][0]["index"] == 0
        assert check(run) == []

    def test_a_cancelling_run_that_completes_cancels_its_unanswered_calls(self) -> None:
        run, _, _ = running()
        run.require_action([CALL])
        run.cancel()
        run.complete(USAGE)
        (step,) = run.steps
        assert step.status is StepStatus.CANCELLED
        assert step.cancelled_at is not None
        assert check(run) == []

    def test_fail_gives_the_step_the_runs_error_as_a_step_code(self) -> None:
        run, _, _ = running()
        run.open_message_step("msg_1")
        run.fail("invalid_prompt", "bad prompt")
        (step,) = run.steps
        assert step.status is StepStatus.FAILED
        assert step.last_error is not None
        assert (step.last_error.code, step.last_error.message) == ("server_error", "bad prompt")


class TestUsage:
    def test_the_open_step_gets_what_the_others_did_not_use(self) -> None:
        run, _, _ = running()
        run.open_message_step("msg_1")
        run.complete_message_step({"prompt_tokens": 3, "completion_tokens": 4, "total_tokens": 7})
        run.open_message_step("msg_2")
        run.complete({"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15})
        assert runlife.step_usage_sum(run.steps) == runlife.Usage(
            prompt_tokens=10, completion_tokens=5, total_tokens=15
        )
        assert run.steps[1].usage == runlife.Usage(
            prompt_tokens=7, completion_tokens=1, total_tokens=8
        )

    @pytest.mark.parametrize("open_step", [True, False])
    def test_a_usage_that_contradicts_the_steps_is_refused(self, open_step: bool) -> None:
        run, _, _ = running()
        run.open_message_step("msg_1")
        run.complete_message_step(USAGE)
        if open_step:
            run.open_message_step("msg_2")
        before = state(run)
        small = {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}
        with pytest.raises(GuardRejected, match="usage"):
            run.complete(small)
        assert not run.may_complete(small)
        assert state(run) == before
        if not open_step:
            run.complete(USAGE)  # the sum itself is accepted
            assert run.status is RunStatus.COMPLETED


class TestStepMoves:
    def test_refusals_name_what_is_wrong(self) -> None:
        run, _, _ = running()
        before = state(run)
        with pytest.raises(GuardRejected, match="message_id"):
            run.open_message_step("")
        with pytest.raises(GuardRejected, match="expected an open message_creation step"):
            run.complete_message_step()
        run.open_message_step("msg_1")
        with pytest.raises(GuardRejected, match="at most one is open"):
            run.open_message_step("msg_2")
        assert len(run.steps) == 1
        run.complete_message_step()
        run.require_action([CALL])
        before = state(run)
        with pytest.raises(IllegalTransition, match="open_message_step"):
            run.open_message_step("msg_3")
        assert state(run) == before

    def test_unknown_step_move_and_arguments(self) -> None:
        run, engine, _ = running()
        with pytest.raises(TypeError, match="unknown step move"):
            engine.fire_step(run, "close_step", {})
        with pytest.raises(TypeError, match="missing message_id"):
            engine.fire_step(run, "open_message_step", {})
        with pytest.raises(TypeError, match="unknown colour"):
            engine.fire_step(run, "complete_message_step", {"colour": 1})

    def test_steps_off_cost_nothing_and_refuse_step_moves(self) -> None:
        engine = RunEngine(clock=runlife.ManualClock(T0), steps=False)
        run = new_run(engine)
        heard: list[runlife.RunEvent] = []
        engine.subscribe(heard.append)
        run.start()
        run.require_action([CALL])
        assert run.steps == ()
        assert all(e.step_events == () for e in heard)
        assert all(m.steps == () for m in run.history)
        with pytest.raises(RunlifeError, match="keeps no steps"):
            run.open_message_step("msg_1")


#: The calls the property test draws from: good and bad arguments for every move.
CALLS: list[tuple[str, dict[str, Any]]] = [
    *[(t, a) for t, a in VALID_ARGS.items()],
    ("complete", {"usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0}}),
    ("complete", {"usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 5}}),
    ("submit_tool_outputs", {"tool_outputs": [{"tool_call_id": "call_9", "output": "x"}]}),
    ("require_action", {"tool_calls": []}),
    ("open_message_step", {"message_id": "msg_1"}),
    ("open_message_step", {"message_id": ""}),
    ("complete_message_step", {"usage": USAGE}),
    ("complete_message_step", {"usage": {"prompt_tokens": -1}}),
    ("complete_message_step", {}),
]


@given(st.lists(st.sampled_from(range(len(CALLS))), max_size=25), st.randoms())
def test_every_refused_call_changes_nothing(picks: list[int], rnd: random.Random) -> None:
    """Run triggers and step moves in any order: each succeeds whole or changes nothing."""
    engine, clock = new_engine()
    run = new_run(engine, max_completion_tokens=500)
    for pick in picks:
        trigger, args = CALLS[pick]
        clock.advance(rnd.choice([1, 1, 1, engine.ttl]))
        before = state(run)
        try:
            if trigger in STEP_OPS:
                engine.fire_step(run, trigger, args)
            else:
                engine.fire(run, trigger, args)
        except (IllegalTransition, GuardRejected):
            assert state(run) == before
        assert check(run) == [], state(run)
    again = restore(dump(run), verify=True)
    assert [step_to_dict(s) for s in again.steps] == [step_to_dict(s) for s in run.steps]


class TestCheck:
    def life(self) -> runlife.Run:
        run, _, _ = running()
        run.require_action([CALL])
        run.submit_tool_outputs(OUTPUTS)
        run.start()
        run.open_message_step("msg_1")
        run.complete(USAGE)
        return run

    def codes(self, run: runlife.Run, steps: list[dict[str, Any]]) -> set[str]:
        return {f.code for f in check(runlife.to_dict(run), steps=steps)}

    def test_a_sound_run_with_its_steps(self) -> None:
        run = self.life()
        assert check(run) == []
        assert check(runlife.to_dict(run), steps=list(run.steps)) == []

    def test_each_broken_invariant_is_found(self) -> None:
        run = self.life()
        tools, message = (step_to_dict(s) for s in run.steps)
        open_tools = {**tools, "status": "in_progress", "completed_at": None}
        assert "steps-open-on-terminal-run" in self.codes(run, [open_tools, message])
        open_message = {**message, "status": "in_progress", "completed_at": None, "usage": None}
        assert "steps-one-open" in self.codes(run, [open_tools, open_message])
        no_output = json.loads(json.dumps(tools))
        no_output["step_details"]["tool_calls"][0]["function"]["output"] = None
        assert "steps-output-missing" in self.codes(run, [no_output, message])
        with_usage = {
            **tools,
            "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
        }
        message_usage = {**message, "usage": with_usage["usage"]}
        assert "steps-usage-sum" in self.codes(run, [with_usage, message_usage])
        assert "step-end-stamp" in self.codes(run, [{**tools, "completed_at": None}, message])
        assert "step-other-run" in self.codes(run, [{**tools, "run_id": "run_other"}, message])
        broken = {**tools, "status": 3}
        found = check(runlife.to_dict(run), steps=[broken])
        assert any(f.path == "$.steps[0].status" and f.kind == "structure" for f in found)

    def test_check_never_raises(self) -> None:
        run = self.life()
        cases: tuple[Any, ...] = (None, "x", [1], [{}], [{"status": None}])
        for steps in cases:
            check(runlife.to_dict(run), steps=steps)


def test_copies_and_pickles_keep_the_steps() -> None:

    run, _, _ = running()
    run.require_action([CALL])
    pickled = pickle.loads(pickle.dumps(run))  # noqa: S301 - our own bytes
    for twin in (copy.copy(run), copy.deepcopy(run), pickled):
        assert twin.steps == run.steps
    assert attrs.evolve(run.steps[0], status=StepStatus.COMPLETED) != run.steps[0]


def test_check_of_a_step_alone() -> None:
    """check() takes a step (a RunStep, or a dict of object thread.run.step) on its own."""
    assert check(RECORDED_STEP) == []
    assert check(step_from_dict(RECORDED_STEP)) == []
    failed = {**RECORDED_STEP, "status": "failed", "completed_at": None, "failed_at": 1699063295}
    codes = [(f.code, f.path) for f in check(failed)]
    assert codes == [("step-last-error", "$.last_error")]
    odd = {**RECORDED_STEP, "last_error": {"code": "invalid_prompt", "message": "x"}}
    assert ("unknown-error-code", "$.last_error.code") in [(f.code, f.path) for f in check(odd)]


def test_the_engines_fast_made_steps_are_what_attrs_makes() -> None:
    """The fence of the step makers: each step (and nested value) the engine builds with
    ``runlife._makers`` equals the one ``attrs`` builds from the same fields."""
    run = TestCheck().life()
    for step in run.steps:
        plain = RunStep(**{f.name: getattr(step, f.name) for f in attrs.fields(RunStep)})
        assert plain == step
        assert attrs.asdict(plain) == attrs.asdict(step)
        assert step_to_dict(plain) == step_to_dict(step)
        details = step.step_details
        cls = type(details)
        again = cls(**{f.name: getattr(details, f.name) for f in attrs.fields(cls)})
        assert again == details


def test_events_with_steps_pickle_and_compare() -> None:
    run, engine, _ = running()
    heard: list[runlife.RunEvent] = []
    engine.subscribe(heard.append)
    run.require_action([CALL])
    (event,) = heard
    again = pickle.loads(pickle.dumps(event))  # noqa: S301 - our own bytes
    assert again == event
    assert [e.data for e in again.step_events] == [e.data for e in event.step_events]
    assert again.stream_events() == event.stream_events()


class TestRedTeam:
    """Each case a review found, held here."""

    def test_verify_catches_tampered_steps_and_steps_of_another_run(self) -> None:
        run, _, _ = running()
        run.require_action([CALL])
        run.submit_tool_outputs(OUTPUTS)
        doc = json.loads(json.dumps(dump(run)))
        assert restore(doc, verify=True).steps == run.steps
        tampered = json.loads(json.dumps(doc))
        tampered["steps"][0]["step_details"]["tool_calls"][0]["function"]["output"] = "x"
        tampered["steps"].append({**doc["steps"][0], "id": "step_extra"})
        with pytest.raises(runlife.InvalidRun, match=r"\$\.steps"):
            restore(tampered, verify=True)
        other = json.loads(json.dumps(doc))
        other["steps"][0]["run_id"] = "run_other"
        with pytest.raises(runlife.InvalidRun, match=r"\$\.steps\[0\]\.run_id"):
            restore(other)

    def test_a_run_loaded_mid_life_verifies(self) -> None:
        src, engine, _ = running()
        run = engine.load(runlife.to_dict(src))
        run.open_message_step("msg_1")
        run.complete_message_step(USAGE)
        run.complete(USAGE)
        again = restore(json.loads(json.dumps(dump(run))), verify=True)
        assert [step_to_dict(s) for s in again.steps] == [step_to_dict(s) for s in run.steps]

    def test_an_engine_without_steps_holds_none(self) -> None:
        run, _, _ = running()
        run.open_message_step("msg_1")
        off = RunEngine(clock=runlife.ManualClock(T0 + 5), steps=False)
        held = restore(dump(run), engine=off)
        assert held.steps == ()
        held.cancel()
        held.finish_cancel()
        assert check(held) == []
        with pytest.raises(runlife.InvalidRun, match=r"does not replay.*keeps no steps"):
            runlife.rebuild(runlife.initial_wire(run), run.history, engine=off)

    def test_a_call_without_output_round_trips(self) -> None:
        step = json.loads(json.dumps(RECORDED_STEP))
        del step["step_details"]["tool_calls"][0]["function"]["output"]
        assert json.dumps(step_to_dict(step_from_dict(step))) == json.dumps(step)

    def test_a_step_moves_stream_event_is_its_step_event(self) -> None:
        run, engine, _ = running()
        heard: list[runlife.RunEvent] = []
        engine.subscribe(heard.append)
        run.open_message_step("msg_1")
        (event,) = heard
        assert event.is_step_move
        assert event.dest == "in_progress"
        assert event.to_stream_event()["data"]["object"] == "thread.run.step"
        assert [e["event"] for e in event.stream_events()] == [
            "thread.run.step.created",
            "thread.run.step.in_progress",
        ]

    def test_a_step_built_by_hand_is_checked(self) -> None:
        fields: dict[str, Any] = {
            "id": "step_1",
            "created_at": T0,
            "run_id": "run_1",
            "assistant_id": "asst_1",
            "thread_id": "thread_1",
            "type": "message_creation",
            "status": "completed",
            "completed_at": T0,
            "step_details": runlife.MessageCreationDetails(
                message_creation=runlife.MessageCreation(message_id="msg_1")
            ),
        }
        step = RunStep(**fields)
        assert step.status is StepStatus.COMPLETED
        with pytest.raises(runlife.InvalidRun, match=r"\$\.status"):
            RunStep(**{**fields, "status": "done"})
        with pytest.raises(runlife.InvalidRun):
            attrs.evolve(step, usage=5)  # type: ignore[arg-type]
        with pytest.raises(runlife.InvalidRun, match=r"\$\.created_at"):
            attrs.evolve(step, created_at="now")  # type: ignore[arg-type]

    def test_the_live_apis_expired_step_is_no_stamp_finding(self) -> None:
        expired = {**RECORDED_STEP, "status": "expired", "completed_at": None, "expires_at": T0}
        assert check(expired) == []

    @pytest.mark.parametrize("made", [42, "", "step_1"])
    def test_step_ids_are_checked_before_the_move(self, made: object) -> None:
        ids = iter(["step_1", made])
        engine = RunEngine(clock=runlife.ManualClock(T0), step_id_factory=lambda: next(ids))  # type: ignore[arg-type, return-value]
        run = new_run(engine)
        run.start()
        run.open_message_step("msg_1")
        run.complete_message_step()
        before = state(run)
        with pytest.raises(runlife.InvalidRun, match="step_id_factory returned"):
            run.require_action([CALL])
        assert state(run) == before

    def test_duplicate_step_ids_are_found(self) -> None:
        run = TestCheck().life()
        tools, message = (step_to_dict(s) for s in run.steps)
        found = {
            f.code
            for f in check(runlife.to_dict(run), steps=[tools, {**message, "id": tools["id"]}])
        }
        assert "step-duplicate-id" in found

    def test_a_requires_action_run_without_its_tool_calls_step_is_found(self) -> None:
        run, _, _ = running()
        run.require_action([CALL])
        (tools,) = (step_to_dict(s) for s in run.steps)
        done = {**tools, "status": "completed", "completed_at": T0 + 1}
        found = {f.code for f in check(runlife.to_dict(run), steps=[done])}
        assert "steps-waiting-without-tool-calls" in found

    def test_may_draws_no_step_id(self) -> None:
        run, engine, _ = running()
        for _ in range(3):
            assert run.may_require_action([CALL])
        run.require_action([CALL])
        assert run.steps[0].id == "step_1"
        assert engine.may(run, "cancel")

    def test_a_run_ended_without_usage_gets_its_steps_sum(self) -> None:
        run, _, _ = running()
        run.open_message_step("msg_1")
        run.complete_message_step(USAGE)
        run.complete()
        assert run.usage == runlife.Usage(prompt_tokens=10, completion_tokens=5, total_tokens=15)
        assert check(run) == []

    def test_an_unanswered_step_of_a_table_of_ones_own_is_cancelled(self) -> None:
        back = runlife.TableRow(
            "resume",
            (RunStatus.REQUIRES_ACTION,),
            RunStatus.IN_PROGRESS,
            clears=("required_action",),
        )
        engine = RunEngine(clock=runlife.ManualClock(T0), table=runlife.TABLE.with_row(back))
        run = new_run(engine)
        run.start()
        run.require_action([CALL])
        engine.fire(run, "resume")
        run.require_action([CALL])
        assert [s.status.value for s in run.steps] == ["cancelled", "in_progress"]
        assert check(run) == []


@pytest.mark.parametrize(
    "bad",
    [
        {"odd": float("nan")},
        {"odd": {1: "x"}},
        {"odd": {"x"}},
        {"odd": b"x"},
        {"metadata": {"k": float("inf")}},
        {
            "step_details": {
                "type": "message_creation",
                "message_creation": {"message_id": "m", "x": {2: 1}},
            }
        },
    ],
)
def test_what_json_cannot_hold_is_refused_and_found(bad: dict[str, Any]) -> None:
    """The fast load (shape, then the decoder's copy) refuses what the full check finds."""
    data = {**RECORDED_STEP, **bad}
    with pytest.raises(runlife.InvalidRun):
        step_from_dict(data)
    assert any(f.kind == "structure" for f in check(data))


@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(max_size=3),
        lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=3), c, max_size=3),
        max_leaves=12,
    )
)
def test_any_extra_value_loads_and_round_trips(value: Any) -> None:
    data = {**RECORDED_STEP, "extra_key": value}
    assert json.dumps(step_to_dict(step_from_dict(data))) == json.dumps(data)
    assert check(data) == []


def test_the_engines_idle_triggers_are_those_that_never_plan_steps() -> None:
    """The fence of ``_Trigger.steps_idle`` (the engine skips planning for them): for every
    trigger and every step the run could have open, an idle trigger's plan is ``None``."""
    from runlife import _steps  # the fence's own check: not public API

    idle = {r.trigger for r in runlife.TABLE.rows if _steps.steps_idle(r.trigger, r.dest)}
    assert idle == {"start", "cancel"}
    for trigger in sorted(idle):
        for source in runlife.TABLE.row(trigger).sources:
            engine, clock = new_engine()
            run = run_in(source, engine, clock)
            if source is RunStatus.IN_PROGRESS:
                run.open_message_step("msg_1")
            problems: list[tuple[str, str]] = []
            row = runlife.TABLE.row(trigger)
            made = _steps.plan_move(
                run, run.steps, trigger, row.dest, {}, None, clock(), lambda: "step_x", problems
            )
            assert made is None
            assert problems == []


def test_a_commit_that_fails_puts_the_steps_back() -> None:
    """If the history's append raises inside the commit, run and steps are as they were."""
    run, _, _ = running()
    run.open_message_step("msg_1")
    before = state(run)

    class Boom(list):  # type: ignore[type-arg]
        def append(self, _: object) -> None:
            raise MemoryError

    run._state.history = Boom(run.history)
    with pytest.raises(MemoryError):
        run.require_action([CALL])
    run._state.history = list(run.history)
    assert state(run) == before
