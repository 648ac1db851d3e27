"""The simulation's report: text without timing, and JSON with it under one key."""

from __future__ import annotations

import json

from runlife.simulation import DEFAULT_POLICY, format_json, format_text, simulate, timing_text


class TestOutput:
    def test_json(self):
        """The JSON report has the figures of the text, and the timing under one key."""
        report = simulate(runs=200, seed=1)
        data = json.loads(format_json(report))
        assert set(data) == {
            "runs",
            "seed",
            "policy",
            "statuses",
            "moves",
            "tool_calls",
            "steps",
            "virtual_time",
            "violations",
            "timing",
        }
        assert list(data["statuses"]) == [
            "completed",
            "incomplete",
            "failed",
            "cancelled",
            "expired",
        ]
        assert sum(s["count"] for s in data["statuses"].values()) == data["runs"] == 200
        assert data["policy"] == DEFAULT_POLICY.to_json()
        assert data["violations"] == {"count": 0, "checked": "final", "first": None}
        assert set(data["timing"]) == {"elapsed_s", "runs_per_s", "moves_per_s", "processes"}
        assert list(data["steps"]) == ["message_creation", "tool_calls"]
        assert data["steps"]["tool_calls"]["completed"] > 0

    def test_steps_by_type_and_status(self):
        """The text counts the steps by type, then status; with steps off it says they are off."""
        report = simulate(runs=300, seed=1)
        data = json.loads(format_json(report))["steps"]
        lines = format_text(report).splitlines()
        at = next(i for i, line in enumerate(lines) if line.startswith("steps "))
        total = sum(sum(by.values()) for by in data.values())
        assert lines[at].split()[:2] == ["steps", f"{total:,}"]
        for line, (kind, by_status) in zip(lines[at + 1 :], data.items(), strict=False):
            shown = ", ".join(f"{s} {n:,}" for s, n in by_status.items())
            assert line.split()[0] == kind
            assert line.endswith(shown)
        off = simulate(runs=300, seed=1, steps=False)
        assert json.loads(format_json(off))["steps"] is None
        assert "steps                    off   (steps=False: runs kept no steps)" in format_text(
            off
        )

    def test_text_is_free_of_timing(self):
        """The text report has no wall-clock figure; timing_text has them."""
        report = simulate(runs=50, seed=1)
        assert "real time" not in format_text(report)
        assert "s of real time" in timing_text(report)
