"""History: the record of moves, the stored document (side channel), and replay."""

from __future__ import annotations

import json
from typing import Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

import runlife
from runlife import (
    InvalidRun,
    ManualClock,
    Move,
    RunEngine,
    RunEvent,
    RunStatus,
    dump,
    initial_wire,
    rebuild,
    restore,
    to_dict,
)
from tests.conftest import PAYLOAD_ORDER, load_payload
from tests.support import CALL, T0, USAGE, VALID_ARGS, fire, new_engine, new_run, run_in

OUTPUTS = VALID_ARGS["submit_tool_outputs"]["tool_outputs"]


class Clock:
    """A clock a test sets freely, backwards too (stamps then clamp)."""

    def __init__(self, now: int) -> None:
        self.now = now

    def __call__(self) -> int:
        return self.now


def full_life() -> tuple[runlife.Run, dict[str, Any]]:
    """A run taken through a tool round trip to completed, and its wire as created."""
    engine, clock = new_engine()
    run = new_run(engine)
    created = to_dict(run)
    for trigger in ("start", "require_action", "submit_tool_outputs", "start", "complete"):
        clock.advance(3)
        fire(run, trigger)
    return run, created


class TestHistory:
    def test_records_each_move(self):
        """Each move is recorded with its trigger, statuses, time and the arguments that matter."""
        run, _ = full_life()
        assert run.history == (
            Move("start", "queued", "in_progress", T0 + 3, {}),
            Move(
                "require_action",
                "in_progress",
                "requires_action",
                T0 + 6,
                {"tool_calls": [CALL]},
                ({"step_id": "step_1", "trigger": "open"},),
            ),
            Move(
                "submit_tool_outputs",
                "requires_action",
                "queued",
                T0 + 9,
                {"tool_outputs": OUTPUTS},
                ({"step_id": "step_1", "trigger": "complete"},),
            ),
            Move("start", "queued", "in_progress", T0 + 12, {}),
            Move("complete", "in_progress", "completed", T0 + 15, {"usage": USAGE}),
        )
        assert run.version == 5

    def test_fail_and_incomplete_args(self):
        """fail records code and message; mark_incomplete records reason (and usage when given)."""
        engine, clock = new_engine()
        failed = run_in(RunStatus.FAILED, engine, clock)
        assert failed.history[-1].args == {"code": "server_error", "message": "boom"}
        incomplete = run_in(RunStatus.INCOMPLETE, engine, clock, id="run_2")
        assert incomplete.history[-1].args == {"reason": "max_completion_tokens", "usage": USAGE}

    def test_refused_moves_are_not_recorded(self):
        """A refused move leaves the history and the version as they were."""
        engine, _ = new_engine()
        run = new_run(engine)
        with pytest.raises(runlife.IllegalTransition):
            run.complete()
        assert run.history == ()
        assert run.version == 0

    def test_history_off_still_counts(self):
        """With record_history=False the history stays empty and the version still counts."""
        engine = RunEngine(clock=ManualClock(T0), record_history=False)
        run = new_run(engine)
        run.start()
        run.cancel()
        assert run.history == ()
        assert run.version == 2
        doc = dump(run)
        assert (doc["history"], doc["origin"], doc["version"]) == ([], None, 2)
        assert restore(doc).version == 2

    def test_history_is_a_copy(self):
        """run.history is a tuple snapshot; the moves' dicts share nothing with the run."""
        run, _ = full_life()
        moves = run.history
        moves[1].to_dict()["args"]["tool_calls"].clear()
        assert run.history[1].args == {"tool_calls": [CALL]}

    def test_to_dict_has_no_history(self):
        """The API's object stays clean: the history is only in the side channel."""
        run, _ = full_life()
        assert "history" not in to_dict(run)
        assert "version" not in to_dict(run)
        assert dump(run)["run"] == to_dict(run)


class TestStoredDocument:
    def test_format(self):
        """dump writes the documented envelope."""
        run, created = full_life()
        doc = dump(run)
        assert list(doc) == ["runlife", "run", "version", "history", "origin", "steps"]
        assert doc["runlife"] == 1
        assert doc["version"] == 5
        assert doc["history"][0] == {
            "trigger": "start",
            "source": "queued",
            "dest": "in_progress",
            "at": T0 + 3,
            "args": {},
        }
        assert doc["origin"].pop("steps") == []  # the run had no steps before its first move
        assert doc["origin"] == {name: created[name] for name in doc["origin"]}
        assert doc["origin"]["status"] == "queued"
        assert doc["origin"]["expires_at"] == T0 + 600

    def test_json_round_trip(self):
        """restore(json(dump(run))) keeps status, stamps, deadline, history and version."""
        engine, clock = new_engine()
        run = run_in(RunStatus.REQUIRES_ACTION, engine, clock)
        doc = json.loads(json.dumps(dump(run)))
        back = restore(doc, engine=engine)
        assert to_dict(back) == to_dict(run)
        assert back.history == run.history
        assert back.version == run.version
        assert back.expires_at == run.expires_at == T0 + 1 + 600 - 1
        assert back.engine is engine
        assert dump(back) == dump(run)

    def test_restored_run_moves_on(self):
        """A restored run moves on, appending to its history and counting on from its version."""
        engine, clock = new_engine()
        run = run_in(RunStatus.REQUIRES_ACTION, engine, clock)
        back = engine.restore(dump(run))
        clock.advance(1)
        back.submit_tool_outputs(OUTPUTS)
        assert back.version == 3
        assert [m.trigger for m in back.history] == [
            "start",
            "require_action",
            "submit_tool_outputs",
        ]
        assert rebuild(initial_wire(back), back.history).history == back.history

    def test_verify_catches_a_tampered_run(self):
        """With verify=True a stored run that its history does not make is refused."""
        run, _ = full_life()
        doc = dump(run)
        doc["run"]["completed_at"] += 100
        assert restore(doc).completed_at == T0 + 115  # trusted without verify
        with pytest.raises(InvalidRun) as info:
            restore(doc, verify=True)
        assert str(info.value) == (
            f"invalid run run_abc: $.run.completed_at: the history makes {T0 + 15}, "
            f"stored {T0 + 115}"
        )

    def test_malformed_documents(self):
        """Every problem of a document is listed, path first."""
        run, _ = full_life()
        doc = dump(run)
        doc["runlife"] = 2
        doc["extra"] = 1
        doc["version"] = 4
        doc["history"][1]["at"] = -1
        del doc["history"][2]["dest"]
        doc["history"][3]["trigger"] = "begin"
        with pytest.raises(InvalidRun) as info:
            restore(doc)
        assert str(info.value).splitlines() == [
            "invalid run run_abc:",
            "$.extra: unknown key; a stored run has runlife, run, version, history, origin, steps",
            "$.runlife: unknown format 2; this runlife reads format 1",
            "$.history[1].at: expected an int of Unix seconds >= 0, got -1",
            "$.history[2].dest: missing",
            (
                "$.history[3].trigger: expected one of start, require_action, "
                "submit_tool_outputs, complete, mark_incomplete, fail, cancel, finish_cancel, "
                "expire, open_message_step, complete_message_step, got 'begin'"
            ),
            "$.version: expected an int >= the 5 moves of the history, got 4",
        ]

    def test_broken_chain(self):
        """A history whose moves do not follow each other, or the run's status, is refused."""
        run, _ = full_life()
        doc = dump(run)
        del doc["history"][1]
        with pytest.raises(InvalidRun) as info:
            restore(doc)
        assert str(info.value) == (
            "invalid run run_abc: $.history[1].source: expected 'in_progress' "
            "($.history[0] ended), got 'requires_action'"
        )
        doc = dump(run)
        doc["run"]["status"] = "failed"
        with pytest.raises(
            InvalidRun, match=r"\$\.run\.status: expected 'completed', where the history ends"
        ):
            restore(doc)

    def test_impossible_move(self):
        """A move the table does not make is refused."""
        run, _ = full_life()
        doc = dump(run)
        doc["history"][0]["dest"] = "completed"
        with pytest.raises(InvalidRun) as info:
            restore(doc)
        assert str(info.value) == (
            "invalid run run_abc: $.history[0]: start does not move a run from 'queued' to "
            "'completed': it moves queued to in_progress"
        )

    def test_origin_needed_with_history(self):
        """A history needs its origin; the origin's fields are checked like the run's."""
        run, _ = full_life()
        doc = dump(run)
        doc["origin"] = None
        with pytest.raises(InvalidRun, match=r"\$\.origin: missing: the history needs"):
            restore(doc)
        doc = dump(run)
        doc["origin"]["started_at"] = "soon"
        with pytest.raises(InvalidRun, match=r"\$\.origin\.started_at: "):
            restore(doc)
        doc = dump(run)
        del doc["origin"]["usage"]
        doc["origin"]["colour"] = "red"
        with pytest.raises(InvalidRun) as info:
            restore(doc)
        assert str(info.value).splitlines()[1:] == [
            "$.origin.usage: missing",
            (
                "$.origin: unknown keys 'colour'; allowed: status, expires_at, started_at, "
                "cancelled_at, failed_at, completed_at, required_action, last_error, "
                "incomplete_details, usage, steps"
            ),
        ]

    def test_bad_run_paths(self):
        """Problems of the stored run are reported under $.run."""
        with pytest.raises(InvalidRun, match=r"\$\.run\.status: unknown status 'done'"):
            restore({"run": {**to_dict(full_life()[0]), "status": "done"}})
        with pytest.raises(InvalidRun, match=r"^invalid run: \$\.run: missing$"):
            restore({"runlife": 1})
        with pytest.raises(InvalidRun, match="expected a stored run"):
            restore([])

    def test_plain_envelope(self):
        """A minimal {"run": ...} document restores a run without history at version 0."""
        run, _ = full_life()
        back = restore({"run": to_dict(run)})
        assert (back.version, back.history) == (0, ())


class TestReplay:
    def test_from_the_created_event(self):
        """The data of thread.run.created and the history rebuild the run exactly."""
        engine, clock = new_engine()
        events: list[RunEvent] = []
        engine.subscribe(events.append)
        run = run_in(RunStatus.CANCELLED, engine, clock)
        again = rebuild(events[0].data, run.history)
        assert to_dict(again) == to_dict(run)
        assert again.history == run.history
        assert again.version == run.version

    def test_initial_wire_is_the_creation(self):
        """initial_wire of a created run is the run as created."""
        run, created = full_life()
        assert initial_wire(run) == created
        assert initial_wire(dump(run)) == created

    def test_from_a_snapshot(self):
        """A snapshot (a dump at version k) and the moves since rebuild the run."""
        engine, clock = new_engine()
        run = new_run(engine)
        snapshots = []
        for trigger in ("start", "require_action", "submit_tool_outputs", "start", "complete"):
            snapshots.append(dump(run))
            clock.advance(1)
            fire(run, trigger)
        for k, snapshot in enumerate(snapshots):
            again = rebuild(snapshot, run.history[k:])
            assert dump(again) == dump(run)
            plain = rebuild(snapshot["run"], run.history[k:])
            assert to_dict(plain) == to_dict(run)
            # A plain wire has no steps: after creation, its step moves are not made again.
            made = [attrs.evolve(m, steps=()) for m in plain.history]
            assert made == [attrs.evolve(m, steps=()) for m in run.history[k:]]

    def test_loaded_payloads(self, payloads):
        """Real API payloads, loaded and moved, replay from the loaded wire (nulls and all)."""
        engine = RunEngine(clock=ManualClock(payloads[0]["created_at"] + 5))
        run = engine.load(load_payload(PAYLOAD_ORDER[2]))  # requires_action
        assert run.required_action is not None
        ids = [c.id for c in run.required_action.submit_tool_outputs.tool_calls]
        run.submit_tool_outputs([{"tool_call_id": i, "output": "ok"} for i in ids])
        run.start()
        run.complete({"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2})
        again = rebuild(load_payload(PAYLOAD_ORDER[2]), run.history)
        assert to_dict(again) == to_dict(run)
        assert initial_wire(run) == load_payload(PAYLOAD_ORDER[2])

    def test_binds_to_engine(self):
        """The replayed run is bound to the engine given, or to the default engine."""
        run, created = full_life()
        engine = RunEngine(clock=ManualClock(T0))
        assert rebuild(created, run.history, engine=engine).engine is engine
        assert rebuild(created, run.history).engine is not engine

    def test_no_events(self):
        """Replay makes no event: the moves happened already."""
        run, created = full_life()
        engine = RunEngine(clock=ManualClock(T0))
        heard: list[RunEvent] = []
        engine.subscribe(heard.append)
        rebuild(created, run.history, engine=engine)
        assert heard == []

    def test_wrong_start(self):
        """A history that starts elsewhere than the initial wire is refused at that move."""
        run, created = full_life()
        with pytest.raises(InvalidRun) as info:
            rebuild(created, run.history[1:])
        assert str(info.value) == (
            "invalid run run_abc: $.history[0].source: the run is 'queued' here, not 'in_progress'"
        )

    def test_refused_move(self):
        """A move the guards refuse at its time is named with the reason."""
        _, created = full_life()
        early = Move("expire", "queued", "expired", T0 + 1)
        with pytest.raises(InvalidRun) as info:
            rebuild(created, [early])
        assert str(info.value) == (
            "invalid run run_abc: $.history[0]: does not replay: expire() refused for run "
            f"run_abc: expires_at: the run expires at {T0 + 600}, and it is {T0 + 1}: not due yet"
        )

    def test_missing_and_different_args(self):
        """Missing arguments are named; arguments the engine would record otherwise are refused."""
        run, created = full_life()
        moves = [m.to_dict() for m in run.history]
        del moves[1]["args"]["tool_calls"]
        with pytest.raises(InvalidRun, match=r"\$\.history\[1\]\.args\.tool_calls: missing"):
            rebuild(created, moves)
        moves = [m.to_dict() for m in run.history]
        moves[0]["args"] = {"note": "hi"}
        with pytest.raises(InvalidRun) as info:
            rebuild(created, moves)
        assert str(info.value) == (
            "invalid run run_abc: $.history[0].args: recorded {'note': 'hi'}, replaying makes {}"
        )

    @given(data=st.data())
    def test_any_life_replays(self, data: st.DataObject):
        """Any sequence of moves, at any times (the clock even going back), replays exactly."""
        clock = Clock(T0)
        engine = RunEngine(clock=clock, ttl=data.draw(st.integers(1, 50), label="ttl"))
        run = new_run(engine, parallel_tool_calls=data.draw(st.booleans(), label="parallel"))
        created = to_dict(run)
        for _ in range(data.draw(st.integers(0, 12), label="steps")):
            clock.now = max(0, clock.now + data.draw(st.integers(-3, 30), label="dt"))
            trigger = data.draw(st.sampled_from(runlife.TRIGGERS), label="trigger")
            args = data.draw(_args_for(trigger), label="args")
            try:
                getattr(run, trigger)(**args)
            except (runlife.IllegalTransition, runlife.GuardRejected):
                continue
        again = rebuild(created, run.history)
        assert to_dict(again) == to_dict(run)
        assert again.history == run.history
        assert again.version == run.version
        assert initial_wire(run) == created
        back = restore(json.loads(json.dumps(dump(run))), verify=True)
        assert dump(back) == dump(run)
        assert runlife.check(again) == []


def _args_for(trigger: str) -> st.SearchStrategy[dict[str, Any]]:
    usage = st.none() | st.builds(
        lambda p, c: {"prompt_tokens": p, "completion_tokens": c, "total_tokens": p + c},
        st.integers(0, 100),
        st.integers(0, 100),
    )
    if trigger == "require_action":
        calls = st.lists(
            st.sampled_from(["call_1", "call_2", "call_3"]), min_size=1, max_size=2, unique=True
        )
        return calls.map(
            lambda ids: {
                "tool_calls": [
                    {
                        "id": i,
                        "type": "function",
                        "function": {"name": "get_weather", "arguments": "{}"},
                    }
                    for i in ids
                ]
            }
        )
    if trigger == "submit_tool_outputs":
        return st.just({"tool_outputs": OUTPUTS}) | st.just(
            {"tool_outputs": [{"tool_call_id": i, "output": "x"} for i in ("call_1", "call_2")]}
        )
    if trigger in {"complete", "mark_incomplete", "fail"}:
        base = dict(VALID_ARGS[trigger])
        return usage.map(lambda u: {**base, "usage": u})
    return st.just({})


class TestMoveDicts:
    def test_round_trip(self):
        """Move.from_dict(move.to_dict()) is the move; args may be left out."""
        run, _ = full_life()
        for move in run.history:
            assert Move.from_dict(move.to_dict()) == move
        assert Move.from_dict(
            {"trigger": "cancel", "source": "queued", "dest": "cancelling", "at": 5}
        ) == Move("cancel", "queued", "cancelling", 5)

    def test_problems(self):
        """Missing and unknown keys and bad values are all listed."""
        with pytest.raises(InvalidRun) as info:
            Move.from_dict({"trigger": "start", "at": 1.5, "args": [], "why": 1}, path="$.m")
        assert str(info.value).splitlines() == [
            "invalid run:",
            "$.m.source: missing",
            "$.m.dest: missing",
            "$.m.why: unknown key; a move has trigger, source, dest, at, args, steps",
            "$.m.at: expected an int of Unix seconds >= 0, got 1.5",
            "$.m.args: expected an object, got list",
        ]
        with pytest.raises(InvalidRun, match=r"^invalid run: \$: expected a move object, got str$"):
            Move.from_dict("start")
