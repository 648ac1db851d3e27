"""The simulation policy: defaults, JSON/TOML values, and every problem at once."""

from __future__ import annotations

import pytest

from runlife.simulation import DEFAULT_POLICY, FIELDS, Policy, PolicyError, policy_text

#: A bad value for each kind of field (and two for ranges), in no particular order.
BAD_VALUES = {
    "ttl": 0,
    "cancel": 1.5,
    "step": [9, 2],
    "tool_calls": [0, 2],
    "token_limit": 16,
    "arrival_rate": 0,
    "max_tool_rounds": -1,
    "fail_codes": {"oops": 1},
}


class TestPolicy:
    def test_defaults_round_trip(self):
        """The defaults read back from their JSON form."""
        assert Policy.from_mapping(DEFAULT_POLICY.to_json()) == DEFAULT_POLICY
        assert DEFAULT_POLICY.changes() == {}

    def test_from_mapping(self):
        """Values come as JSON/TOML would give them; a single int is a fixed range."""
        policy = Policy.from_mapping({"cancel": 0.5, "step": 7, "fail_codes": {"server_error": 1}})
        assert (policy.cancel, policy.step, policy.fail_codes) == (
            0.5,
            (7, 7),
            (("server_error", 1.0),),
        )
        assert policy.changes() == {
            "step": [7, 7],
            "cancel": 0.5,
            "fail_codes": {"server_error": 1.0},
        }
        assert policy_text(policy) == (
            "policy: defaults with step=7..7, cancel=0.5, fail_codes=server_error=1"
        )

    def test_all_problems_at_once(self):
        """Every bad value is reported, one (key, problem) each, in field order."""
        with pytest.raises(PolicyError) as info:
            Policy.from_mapping({"cancle": 0.1, **BAD_VALUES})
        assert info.value.problems == [("cancle", info.value.problems[0][1])]
        assert str(info.value) == (
            "cancle: unknown policy key; did you mean 'cancel'? (keys: " + ", ".join(FIELDS) + ")"
        )
        with pytest.raises(PolicyError) as info:
            Policy.from_mapping(BAD_VALUES)
        assert str(info.value).splitlines() == [
            "arrival_rate: expected a number > 0, got 0",
            "ttl: expected an int of seconds >= 1, got 0",
            "token_limit: expected an int >= 256 (the API's minimum), got 16",
            "step: expected 0 <= LO <= HI, got 9..2",
            "max_tool_rounds: expected an int >= 0, got -1",
            "tool_calls: expected 1 <= LO <= HI, got 0..2",
            "cancel: expected a probability from 0 to 1, got 1.5",
            "fail_codes: unknown code 'oops'; codes: server_error, rate_limit_exceeded, invalid_prompt",
        ]

    @pytest.mark.parametrize(
        ("values", "message"),
        [
            ({"cancel": "0.1"}, "cancel: expected a number, got '0.1'"),
            ({"cancel": True}, "cancel: expected a number, got True"),
            ({"ttl": 1.5}, "ttl: expected an int, got 1.5"),
            ({"step": [1, 2, 3]}, "step: expected [lo, hi] (two ints) or one int, got [1, 2, 3]"),
            ({"fail_codes": [1]}, "fail_codes: expected a table of code = weight, got [1]"),
            (
                {"fail_codes": {"server_error": 0}},
                "fail_codes: expected weights >= 0 with a sum > 0, got server_error=0",
            ),
        ],
        ids=["string", "bool", "float-int", "long-range", "weights-list", "zero-weights"],
    )
    def test_wrong_types(self, values, message):
        """Values of the wrong type are named with what was expected."""
        with pytest.raises(PolicyError) as info:
            Policy.from_mapping(values)
        assert str(info.value) == message
