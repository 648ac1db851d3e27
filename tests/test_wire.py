"""The wire format: exact API JSON out, lossless in, the official SDK as the judge."""

from __future__ import annotations

import copy
import json
import pickle
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from openai.types.beta.threads import Run as SdkRun

import runlife
from runlife import InvalidRun, RunStatus, from_dict, from_json, to_dict, to_json
from tests.conftest import PAYLOAD_ORDER, load_payload
from tests.strategies import json_values, shuffled, wire_dicts
from tests.support import CALL, PATHS, WEATHER_TOOL, fire, new_engine, new_run, run_in

#: The API's top-level key order (every recording in tests/data/payloads shows it).
API_ORDER = [
    *("id", "object", "created_at", "assistant_id", "thread_id", "status", "started_at"),
    *("expires_at", "cancelled_at", "failed_at", "completed_at", "required_action"),
    *("last_error", "model", "instructions", "tools", "tool_resources", "metadata"),
    *("temperature", "top_p", "reasoning_effort", "max_completion_tokens", "max_prompt_tokens"),
    *("truncation_strategy", "incomplete_details", "usage", "response_format", "tool_choice"),
    "parallel_tool_calls",
]
#: The two keys the seed does not have: written only when a payload or a caller gave them.
POSITIONED = ("tool_resources", "reasoning_effort")
TOOL_NAME = "get_favorite_food_for_day_of_week"


class TestPayloads:
    @pytest.mark.parametrize("name", PAYLOAD_ORDER)
    def test_round_trip(self, name: str):
        """Each real payload loads, writes back equal, and checks clean."""
        data = load_payload(name)
        run = from_dict(data)
        assert json.dumps(to_dict(run)) == json.dumps(data)
        assert to_json(run) == json.dumps(data, separators=(",", ":"), ensure_ascii=False)
        assert runlife.check(data) == []
        assert runlife.check(run) == []

    def test_floats_kept(self):
        """temperature 1.0 is written back as 1.0, not 1."""
        run = from_dict(load_payload("openai-dotnet-completed-1.json"))
        assert '"temperature":1.0' in to_json(run)

    def test_moves_like_the_real_run(self, payloads: list[dict[str, Any]]):
        """The recorded run, loaded at each step, moves on to the next recorded step."""
        moves = [
            ("start", {}),
            (
                "require_action",
                {"tool_calls": payloads[2]["required_action"]["submit_tool_outputs"]["tool_calls"]},
            ),
            (
                "submit_tool_outputs",
                {
                    "tool_outputs": [
                        {"tool_call_id": "call_b9LqseCoPpctoIx71RVNZ1nB", "output": "pizza"}
                    ]
                },
            ),
            ("start", {}),
            (
                "complete",
                {"usage": {"prompt_tokens": 627, "completion_tokens": 34, "total_tokens": 661}},
            ),
        ]
        for (trigger, args), before, after in zip(moves, payloads[:-1], payloads[1:], strict=True):
            stamp = after["completed_at"] or after["started_at"] or before["created_at"]
            engine = runlife.RunEngine(clock=runlife.ManualClock(stamp))
            run = engine.load(before)
            getattr(run, trigger)(**args)
            got = to_dict(run)
            assert runlife.check(got) == []
            expected = dict(after)
            if trigger == "complete":  # the API's usage carries undocumented details
                got["usage"] = expected["usage"]
            assert got == expected, trigger


class TestSdk:
    @given(status=st.sampled_from(list(RunStatus)), extra=st.booleans())
    def test_every_reachable_run_validates(self, status: RunStatus, extra: bool):
        """The SDK's validating parser accepts every run the engine makes, and its dump round-trips."""
        engine, clock = new_engine()
        run = run_in(status, engine, clock, extra={"tool_resources": {}} if extra else None)
        data = to_dict(run)
        sdk = SdkRun.model_validate(data)
        assert sdk.status == status.value
        dumped = sdk.model_dump(mode="json")
        assert to_dict(from_dict(dumped)) == dumped

    def test_all_paths_validate_at_every_step(self):
        """Every intermediate run on every support path validates."""
        for status, path in PATHS.items():
            engine, clock = new_engine()
            run = new_run(engine, id=f"run_{status.value}")
            SdkRun.model_validate(to_dict(run))
            for trigger in path:
                clock.advance(600)
                fire(run, trigger)
                SdkRun.model_validate(to_dict(run))


class TestLossless:
    @given(wire_dicts())
    def test_structurally_valid_round_trips(self, data: dict[str, Any]):
        """Any structurally valid payload, rule breaks and unknown keys included, round-trips unchanged."""
        assert [f for f in runlife.check(data) if f.kind == "structure"] == []
        run = from_dict(data)
        assert to_dict(run) == data
        assert from_json(to_json(run)) == run
        assert to_json(from_json(to_json(run))) == to_json(run)

    @given(wire_dicts())
    def test_output_shares_nothing(self, data: dict[str, Any]):
        """Mutating the input or the output never changes the run."""
        run = from_dict(data)
        before = to_json(run)
        out = to_dict(run)
        for d in (data, out):
            for v in d.values():
                if isinstance(v, dict):
                    v["zz_mutated"] = 1
                elif isinstance(v, list):
                    v.append(1)
        assert to_json(run) == before

    def test_key_order(self):
        """A real payload's keys come back in the API's order, its extra keys in place."""
        data = load_payload("openai-dotnet-completed-1.json")
        assert list(json.loads(to_json(from_dict(data)))) == API_ORDER

    @given(wire_dicts(), st.randoms(use_true_random=False))
    def test_any_key_order_round_trips(self, data: dict[str, Any], random: Any):
        """A structurally valid payload with its keys in any order at any level is written
        back byte for byte, in that order."""
        data = shuffled(data, random)
        assert json.dumps(to_dict(from_dict(data))) == json.dumps(data)
        assert to_json(from_json(json.dumps(data))) == json.dumps(
            data, separators=(",", ":"), ensure_ascii=False
        )

    @given(wire_dicts(), st.randoms(use_true_random=False))
    def test_order_survives_copies_and_dumps(self, data: dict[str, Any], random: Any):
        """Copies, pickles and dump/restore of a loaded run keep its key order."""
        data = shuffled(data, random)
        run = from_dict(data)
        text = json.dumps(data)
        assert json.dumps(to_dict(copy.copy(run))) == text
        unpickled = pickle.loads(pickle.dumps(run))  # noqa: S301 - our own pickle
        assert json.dumps(to_dict(unpickled)) == text
        assert json.dumps(to_dict(runlife.restore(runlife.dump(run)))) == text

    def test_engine_writes_the_api_order(self):
        """A run the engine makes is written in the API's order at every level, and has
        tool_resources and reasoning_effort only when the caller gave them."""
        engine, _ = new_engine()
        run = new_run(engine, tools=[WEATHER_TOOL])
        assert list(to_dict(run)) == [k for k in API_ORDER if k not in POSITIONED]
        run = new_run(engine, extra={"x_extra": 1, "reasoning_effort": "low", "tool_resources": {}})
        assert list(to_dict(run)) == [*API_ORDER, "x_extra"]
        run.start()
        run.require_action([CALL])
        wire = to_dict(run)
        assert list(wire["required_action"]) == ["type", "submit_tool_outputs"]
        assert list(wire["required_action"]["submit_tool_outputs"]["tool_calls"][0]) == [
            "id",
            "type",
            "function",
        ]
        run.submit_tool_outputs([{"tool_call_id": "call_1", "output": "x"}])
        run.start()
        run.fail(
            "server_error",
            "boom",
            usage={"total_tokens": 3, "prompt_tokens": 1, "completion_tokens": 2},
        )
        wire = to_dict(run)
        assert list(wire["last_error"]) == ["code", "message"]
        assert list(wire["usage"]) == ["prompt_tokens", "completion_tokens", "total_tokens"]

    def test_create_writes_nested_values_in_the_api_order(self):
        """The engine writes the API's order whatever the order of the caller's dicts."""
        engine, _ = new_engine()
        tool = {"function": {"parameters": {"b": 1, "a": 2}, "name": "f"}, "type": "function"}
        run = new_run(
            engine,
            tools=[tool],
            truncation_strategy={"last_messages": 2, "type": "last_messages"},
            tool_choice={"function": {"name": "f"}, "type": "function"},
            response_format={"json_schema": {"name": "s"}, "type": "json_schema"},
        )
        wire = to_dict(run)
        assert list(wire["tools"][0]) == ["type", "function"]
        assert list(wire["tools"][0]["function"]) == ["name", "parameters"]
        assert list(wire["tools"][0]["function"]["parameters"]) == ["b", "a"]  # JSON as given
        assert list(wire["truncation_strategy"]) == ["type", "last_messages"]
        assert list(wire["tool_choice"]) == ["type", "function"]
        assert list(wire["response_format"]) == ["type", "json_schema"]

    def test_a_loaded_run_moves_in_its_own_order(self):
        """After moves, a loaded run's keys stay where the payload had them; the values the
        engine writes (required_action, usage) are in the API's order."""
        data = load_payload("openai-dotnet-in_progress-1.json")
        order = list(reversed(data))
        data = {k: data[k] for k in order}
        engine = runlife.RunEngine(clock=runlife.ManualClock(data["started_at"] + 1))
        run = engine.load(data)
        run.require_action([{**CALL, "function": {**CALL["function"], "name": TOOL_NAME}}])
        wire = to_dict(run)
        assert list(wire) == order
        assert list(wire["required_action"]) == ["type", "submit_tool_outputs"]

    def test_absent_temperature(self):
        """A payload without temperature/top_p is written back without them."""
        data = load_payload("openai-dotnet-queued-1.json")
        del data["temperature"], data["top_p"]
        assert to_dict(from_dict(data)) == data
        assert from_dict(data).temperature is runlife.UNSET


class TestInvalid:
    @given(json_values)
    def test_garbage_raises_invalid_run_only(self, value: Any):
        """Any JSON value that is not a run raises InvalidRun, never another error."""
        with pytest.raises(InvalidRun):
            from_dict(value)

    @given(wire_dicts(), st.data())
    def test_wrong_types_raise_invalid_run_only(self, data: dict[str, Any], draw: st.DataObject):
        """Replacing a field by a random JSON value either loads or raises InvalidRun."""
        key = draw.draw(st.sampled_from(sorted(data)))
        data[key] = draw.draw(json_values)
        try:
            run = from_dict(data)
        except InvalidRun as exc:
            assert str(exc).startswith("invalid run")
        else:
            assert to_dict(run) == data

    def test_all_missing_at_once(self):
        """Every missing field is listed, each on its own line, path first."""
        with pytest.raises(InvalidRun) as info:
            from_dict({"object": "thread.run"})
        lines = str(info.value).splitlines()
        assert lines[0] == "invalid run:"
        assert "$.id: missing" in lines
        assert len([line for line in lines if line.endswith(": missing")]) == 24

    def test_malformed_json(self):
        """Malformed JSON text is an InvalidRun at $."""
        with pytest.raises(InvalidRun) as info:
            from_json("{")
        assert str(info.value).startswith("invalid run: $: malformed JSON: ")
        with pytest.raises(InvalidRun, match="NaN is not valid JSON"):
            from_json('{"x": NaN}')

    def test_unknown_status(self):
        """An unknown status gets a did-you-mean."""
        data = load_payload("openai-dotnet-completed-1.json")
        data["status"] = "complete"
        with pytest.raises(InvalidRun) as info:
            from_dict(data)
        assert str(info.value) == (
            "invalid run run_VSZ30Gv0cSXNu4f67kzJ8NyA: $.status: unknown status 'complete'; "
            "did you mean 'completed'? allowed: queued, in_progress, requires_action, cancelling, "
            "cancelled, failed, completed, incomplete, expired"
        )

    def test_direct_construction_checks_structure(self):
        """Building a Run by hand checks its structure too."""
        with pytest.raises(InvalidRun, match=r"\$\.created_at"):
            runlife.Run(id="r", assistant_id="a", thread_id="t", model="m", created_at=True)
        status: Any = "queued"
        run = runlife.Run(
            id="r", assistant_id="a", thread_id="t", model="m", created_at=1, status=status
        )
        assert run.status is RunStatus.QUEUED


def test_converter_can_be_installed() -> None:
    """configure_converter() makes a user's converter handle Run inside their own classes."""
    import attrs

    @attrs.define
    class Envelope:
        run: runlife.Run
        note: str

    converter = runlife.make_converter()
    data = load_payload("openai-dotnet-completed-1.json")
    env = converter.structure({"run": data, "note": "n"}, Envelope)
    assert converter.unstructure(env) == {"run": data, "note": "n"}
