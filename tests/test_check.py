"""Tests of ``runlife.check`` (``runlife._check.inspect``): every kind of finding together."""

from __future__ import annotations

import math
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from runlife import _check as check_module
from runlife import check
from runlife._invariants import invariant_problems
from runlife._rules import rule_problems
from runlife._structure import structure_problems
from tests.check_support import (
    FIELDS,
    PAYLOAD_NAMES,
    PAYLOADS,
    check_findings,
    json_values,
    mutated_payloads,
    only,
    payload,
    put,
    run,
)
from tests.test_invariants import INVARIANT_BREAKS
from tests.test_rules import RULE_BREAKS
from tests.test_structure import STRUCTURE_CODES


class TestRealPayloads:
    """The recorded API run checks clean."""

    def test_found_all(self) -> None:
        """The six recorded payloads are there to be checked."""
        assert len(PAYLOAD_NAMES) == 6

    @pytest.mark.parametrize("name", PAYLOAD_NAMES)
    def test_clean(self, name: str) -> None:
        """A recorded payload has no finding of any kind."""
        data = payload(name)
        assert check(data) == []
        assert structure_problems(data) == []
        assert invariant_problems(data) == []
        assert rule_problems(data) == []

    @pytest.mark.parametrize("name", PAYLOAD_NAMES)
    def test_unchanged(self, name: str) -> None:
        """Checking does not touch the payload."""
        data = payload(name)
        check(data)
        assert data == PAYLOADS[name]

    @pytest.mark.parametrize(
        "status",
        [
            "queued",
            "in_progress",
            "requires_action",
            "cancelling",
            "cancelled",
            "failed",
            "completed",
            "incomplete",
            "expired",
        ],
    )
    def test_every_status_clean(self, status: str) -> None:
        """A sound run in each of the nine statuses has no finding."""
        assert check(run(status)) == []


class TestInspect:
    """``inspect`` puts it together: structure, then invariants and rules."""

    def test_structure_does_not_hide_the_rest(self) -> None:
        """With a structure finding, the invariants and rules of the sound fields are still
        reported; nothing more is said of the broken field."""
        data = run("queued")
        data.update(id=None, metadata=None, expires_at=None)
        assert [(f.kind, f.code, f.path) for f in check(data)] == [
            ("structure", "wrong-type", "$.id"),
            ("invariant", "invariant-expires-at", "$.expires_at"),
            ("rule", "null-field", "$.metadata"),
        ]

    def test_missing_keys_do_not_hide_the_rest(self) -> None:
        """An expired run with completed_at set and missing keys: both are reported, and
        the missing fields have no invariant or rule findings of their own."""
        data = run("expired")
        data["completed_at"] = data["created_at"] + 1
        del data["required_action"], data["truncation_strategy"], data["tools"]
        data["tool_choice"] = "required"
        assert [(f.kind, f.code, f.path) for f in check(data)] == [
            ("structure", "missing-field", "$.required_action"),
            ("structure", "missing-field", "$.tools"),
            ("structure", "missing-field", "$.truncation_strategy"),
            ("invariant", "invariant-end-stamp", "$.completed_at"),
        ]

    def test_order(self) -> None:
        """Invariant findings come before rule findings."""
        data = run("queued")
        data.update(metadata=None, expires_at=None)
        assert [(f.kind, f.code) for f in check(data)] == [
            ("invariant", "invariant-expires-at"),
            ("rule", "null-field"),
        ]


class TestNeverRaises:
    """No value makes a check raise."""

    @given(json_values)
    def test_any_json_value(self, value: object) -> None:
        """Any JSON value gets findings, not an exception."""
        findings = check(value)
        check_findings(findings, {"structure", "invariant", "rule"})
        if not isinstance(value, dict):
            assert [f.code for f in findings] == ["not-an-object"]
        assert rule_problems(value) is not None  # type: ignore[arg-type]
        assert invariant_problems(value) is not None  # type: ignore[arg-type]

    @given(st.dictionaries(st.sampled_from(FIELDS), json_values))
    def test_any_object_of_fields(self, value: dict[str, Any]) -> None:
        """An object of the known fields with any values gets findings, not an exception."""
        check_findings(check(value), {"structure", "invariant", "rule"})
        check_findings(rule_problems(value), {"rule"})
        check_findings(invariant_problems(value), {"invariant"})

    @given(mutated_payloads())
    def test_mutated_payloads(self, data: dict[str, Any]) -> None:
        """A recorded payload with values replaced or deleted at any depth never breaks a check."""
        structure = structure_problems(data)
        check_findings(structure, {"structure"})
        rules = rule_problems(data)
        check_findings(rules, {"rule"})
        invariants = invariant_problems(data)
        check_findings(invariants, {"invariant"})
        if not structure:
            assert check(data) == invariants + rules
        else:  # the others are kept on the fields the structure findings do not name
            found = check(data)
            assert found[: len(structure)] == structure
            assert set(found[len(structure) :]) <= set(invariants + rules)

    @pytest.mark.parametrize(
        "value",
        [
            10**5000,
            -(10**5000),
            math.inf,
            -math.inf,
            math.nan,
            "é" * 100_000,
            {"k" * 10_000: "v"},
            list(range(100_000)),
            (1, 2),
            {1, 2},
            b"bytes",
            object(),
        ],
        ids=[
            "huge int",
            "huge negative",
            "inf",
            "-inf",
            "nan",
            "long str",
            "long key",
            "long list",
            "tuple",
            "set",
            "bytes",
            "object",
        ],
    )
    def test_odd_values_everywhere(self, value: object) -> None:
        """Odd values, in every field and at the root, give short one-line findings."""
        findings = check(value)
        for name in FIELDS:
            findings += check(put(payload(), (name,), value))
            findings += rule_problems(put(payload(), (name,), value))
            findings += invariant_problems(put(payload(), (name,), value))
        check_findings(findings, {"structure", "invariant", "rule"})
        assert all(len(f.message) < 300 for f in findings)

    def test_deep_and_cyclic(self) -> None:
        """Deeply nested and self-containing values are described without recursion errors."""
        deep: list[Any] = []
        for _ in range(100_000):
            deep = [deep]
        cyclic: list[Any] = []
        cyclic.append(cyclic)
        loop: dict[str, Any] = {}
        loop["self"] = loop
        assert only(check(deep)).code == "not-an-object"
        assert only(check(cyclic)).code == "not-an-object"
        found = check(loop)
        assert len(found) == 26  # every field missing, and the loop too deep
        assert (found[-1].code, found[-1].path) == ("too-deep", "$" + ".self" * 100)
        for value in (deep, cyclic, loop):
            finding = only(check(put(payload(), ("id",), value)))
            assert finding.code == "wrong-type"
            assert len(finding.message) < 100

    def test_unrepresentable(self) -> None:
        """An object whose repr raises is described by its type."""

        class Bad:
            def __repr__(self) -> str:
                raise RuntimeError

        finding = only(check(put(payload(), ("id",), Bad())))
        assert finding.message == "expected a string, got Bad <Bad>"

    def test_message_is_clipped(self) -> None:
        """A long value is shown cut to 60 characters with an ellipsis."""
        finding = only(check(put(payload(), ("created_at",), "9" * 1000)))
        assert finding.message == f"expected an int (Unix seconds), got str '{'9' * 58}…"


class TestCodes:
    """The codes are stable and documented."""

    def test_documented_and_tested(self) -> None:
        """The module docstring's table lists exactly the codes the tests above produce."""
        doc = check_module.__doc__ or ""
        documented = {
            line.split("``")[1]: line.split()[1]
            for line in doc.splitlines()
            if line.startswith("``") and line.split()[1] in {"structure", "invariant", "rule"}
        }
        tested = dict.fromkeys(STRUCTURE_CODES, "structure")
        tested |= {case[3]: "rule" for case in RULE_BREAKS}
        tested |= {case[3]: "invariant" for case in INVARIANT_BREAKS}
        tested["filled-missing-field"] = "rule"  # tests/test_old_shapes.py
        assert documented == tested
