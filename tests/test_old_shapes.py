"""Older API shapes: ``from_dict(data, fill_missing=True)`` loads them, ``check`` says what was filled.

The fixtures are in ``tests/data/old-shapes`` (their sources in its README).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from runlife import InvalidRun, check, from_dict, from_json, to_dict
from tests.conftest import load_payload
from tests.strategies import shuffled
from tests.test_contract_tables import documented_defaults

OLD = Path(__file__).parent / "data" / "old-shapes"
SHAPES = sorted(p.name for p in OLD.glob("*.json"))

#: What the API gives a run that never set each field: docs/lifecycle.md's table, the one
#: the contract states (tests/test_contract_tables.py holds the library to it).
DEFAULTS: dict[str, Any] = documented_defaults()


def shape(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((OLD / name).read_text(encoding="utf-8"))
    return data


def test_there_are_at_least_twelve() -> None:
    assert len(SHAPES) >= 12


@pytest.mark.parametrize("name", SHAPES)
def test_strict_from_dict_refuses_an_old_shape(name: str) -> None:
    """Without the flag a missing field is a structure error, each named."""
    data = shape(name)
    missing = [k for k in DEFAULTS if k not in data]
    assert missing
    with pytest.raises(InvalidRun) as info:
        from_dict(data)
    assert [p for p, _ in info.value.errors] == sorted(f"$.{k}" for k in missing)


@pytest.mark.parametrize("name", SHAPES)
def test_fill_missing_loads_it_losslessly(name: str) -> None:
    """With fill_missing each absent field takes the API's default at its API position; the
    payload's own keys keep their values and order; check() reports each filled field."""
    data = shape(name)
    missing = [k for k in DEFAULTS if k not in data]
    run = from_dict(data, fill_missing=True)
    assert run.filled == tuple(missing)
    wire = to_dict(run)
    assert {k: wire[k] for k in missing} == {k: DEFAULTS[k] for k in missing}
    kept = {k: v for k, v in wire.items() if k not in missing}
    assert json.dumps(kept) == json.dumps(data)
    assert from_json(json.dumps(data), fill_missing=True) == run
    findings = check(run)
    filled = [(f.kind, f.path) for f in findings if f.code == "filled-missing-field"]
    assert filled == [("rule", f"$.{k}") for k in missing]
    assert not [f for f in findings if f.kind == "structure"]
    assert check(data, fill_missing=True) == findings


def test_filled_fields_go_at_their_api_position() -> None:
    """A filled field goes right after the field that precedes it in the API's order."""
    run = from_dict(shape("v2-2024-04-queued.json"), fill_missing=True)
    assert list(to_dict(run))[-2:] == ["tool_choice", "parallel_tool_calls"]
    run = from_dict(shape("api-reference-create-run.json"), fill_missing=True)
    keys = list(to_dict(run))
    assert keys[keys.index("completed_at") + 1] == "required_action"


@given(st.sampled_from(SHAPES), st.randoms(use_true_random=False))
def test_any_key_order_is_kept_when_filling(name: str, random: Any) -> None:
    """An old shape with its keys in any order keeps that order for the keys it has."""
    data = shuffled(shape(name), random)
    run = from_dict(data, fill_missing=True)
    kept = {k: v for k, v in to_dict(run).items() if k not in run.filled}
    assert json.dumps(kept) == json.dumps(data)


def test_check_reports_every_layer_of_an_old_shape() -> None:
    """An expired run with completed_at set and missing keys: the structure findings and
    the invariant finding, together; with fill_missing, the filled fields and the invariant."""
    data = shape("compatible-expired-with-completed_at.json")
    assert [(f.kind, f.code, f.path) for f in check(data)] == [
        ("structure", "missing-field", "$.incomplete_details"),
        ("structure", "missing-field", "$.metadata"),
        ("structure", "missing-field", "$.usage"),
        ("invariant", "invariant-end-stamp", "$.completed_at"),
    ]
    assert [(f.kind, f.code, f.path) for f in check(data, fill_missing=True)] == [
        ("invariant", "invariant-end-stamp", "$.completed_at"),
        ("rule", "filled-missing-field", "$.metadata"),
        ("rule", "filled-missing-field", "$.incomplete_details"),
        ("rule", "filled-missing-field", "$.usage"),
    ]


def test_identity_fields_have_no_default() -> None:
    """A payload without an id (or model, thread_id ...) stays refused with fill_missing."""
    data = load_payload("openai-dotnet-queued-1.json")
    del data["id"], data["model"], data["tool_choice"]
    with pytest.raises(InvalidRun) as info:
        from_dict(data, fill_missing=True)
    assert [p for p, _ in info.value.errors] == ["$.id", "$.model"]


def test_a_current_payload_fills_nothing() -> None:
    """A payload that lacks nothing is loaded as strictly as without the flag."""
    data = load_payload("openai-dotnet-completed-1.json")
    run = from_dict(data, fill_missing=True)
    assert run.filled == ()
    assert check(run) == []
    assert json.dumps(to_dict(run)) == json.dumps(data)


def test_a_filled_run_moves() -> None:
    """A run loaded from an old shape moves like any other; the filled fields stay reported."""
    import runlife

    data = shape("v2-2024-04-queued.json")
    engine = runlife.RunEngine(clock=runlife.ManualClock(data["created_at"] + 5))
    run = from_dict(data, engine=engine, fill_missing=True)
    run.start()
    assert run.status == "in_progress"
    assert [f.path for f in check(run)] == ["$.parallel_tool_calls"]
