"""Tests of ``runlife._invariants``: the eight lifecycle invariants a run's wire dict breaks."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from runlife import check
from runlife._invariants import invariant_problems
from runlife._rules import rule_problems
from runlife._structure import structure_problems
from tests.check_support import (
    PAYLOADS,
    REQUIRES_ACTION,
    only,
    payload,
    run,
    set_to,
)

if TYPE_CHECKING:
    from collections.abc import Callable


INVARIANT_BREAKS: list[tuple[str, str, Callable[[dict[str, Any]], object], str, str]] = [
    # Each case: an id, the status of the run, the change, the code and the path.
    (
        "1 required_action while queued",
        "queued",
        set_to(("required_action",), PAYLOADS[REQUIRES_ACTION]["required_action"]),
        "invariant-required-action",
        "$.required_action",
    ),
    (
        "1 no required_action in requires_action",
        "requires_action",
        set_to(("required_action",), None),
        "invariant-required-action",
        "$.required_action",
    ),
    (
        "2 last_error while queued",
        "queued",
        set_to(("last_error",), {"code": "server_error", "message": "m"}),
        "invariant-last-error",
        "$.last_error",
    ),
    (
        "2 no last_error when failed",
        "failed",
        set_to(("last_error",), None),
        "invariant-last-error",
        "$.last_error",
    ),
    (
        "3 no incomplete_details when incomplete",
        "incomplete",
        set_to(("incomplete_details",), None),
        "invariant-incomplete-details",
        "$.incomplete_details",
    ),
    (
        "4 completed_at while in_progress",
        "in_progress",
        set_to(("completed_at",), 1761861690),
        "invariant-end-stamp",
        "$.completed_at",
    ),
    (
        "4 no completed_at when completed",
        "completed",
        set_to(("completed_at",), None),
        "invariant-end-stamp",
        "$.completed_at",
    ),
    (
        "4 no completed_at when incomplete",
        "incomplete",
        set_to(("completed_at",), None),
        "invariant-end-stamp",
        "$.completed_at",
    ),
    (
        "4 failed_at when completed",
        "completed",
        set_to(("failed_at",), 1761861696),
        "invariant-end-stamp",
        "$.failed_at",
    ),
    (
        "4 no failed_at when failed",
        "failed",
        set_to(("failed_at",), None),
        "invariant-end-stamp",
        "$.failed_at",
    ),
    (
        "4 cancelled_at while cancelling",
        "cancelling",
        set_to(("cancelled_at",), 1761861690),
        "invariant-end-stamp",
        "$.cancelled_at",
    ),
    (
        "4 no cancelled_at when cancelled",
        "cancelled",
        set_to(("cancelled_at",), None),
        "invariant-end-stamp",
        "$.cancelled_at",
    ),
    (
        "5 no started_at when completed",
        "completed",
        set_to(("started_at",), None),
        "invariant-started-at",
        "$.started_at",
    ),
    (
        "5 no started_at in requires_action",
        "requires_action",
        set_to(("started_at",), None),
        "invariant-started-at",
        "$.started_at",
    ),
    (
        "6 started before created",
        "in_progress",
        set_to(("started_at",), 1761861678),
        "invariant-stamp-order",
        "$.started_at",
    ),
    (
        "6 completed before started",
        "completed",
        set_to(("completed_at",), 1761861694),
        "invariant-stamp-order",
        "$.completed_at",
    ),
    (
        "6 cancelled before created",
        "cancelled",
        set_to(("cancelled_at",), 1761861678),
        "invariant-stamp-order",
        "$.cancelled_at",
    ),
    (
        "7 expires_at when completed",
        "completed",
        set_to(("expires_at",), 1761862279),
        "invariant-expires-at",
        "$.expires_at",
    ),
    (
        "7 no expires_at while queued",
        "queued",
        set_to(("expires_at",), None),
        "invariant-expires-at",
        "$.expires_at",
    ),
    (
        "8 usage while in_progress",
        "in_progress",
        set_to(("usage",), {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}),
        "invariant-usage",
        "$.usage",
    ),
]


class TestInvariants:
    """Each of the eight invariants, broken on its own, gives one invariant finding."""

    @pytest.mark.parametrize(
        ("status", "change", "code", "path"),
        [case[1:] for case in INVARIANT_BREAKS],
        ids=[case[0] for case in INVARIANT_BREAKS],
    )
    def test_invariant_break(
        self, status: str, change: Callable[[dict[str, Any]], object], code: str, path: str
    ) -> None:
        """One broken invariant gives exactly one finding at the offending field."""
        data = run(status)
        change(data)
        assert structure_problems(data) == []
        assert rule_problems(data) == []
        finding = only(invariant_problems(data))
        assert (finding.kind, finding.code, finding.path) == ("invariant", code, path)
        assert check(data) == [finding]

    def test_all_eight_covered(self) -> None:
        """The cases above cover the eight invariants."""
        assert len({case[3] for case in INVARIANT_BREAKS}) == 8

    def test_started_at_kept_after_requeue(self) -> None:
        """A queued run may keep ``started_at`` from an earlier start (real API runs do)."""
        assert invariant_problems(payload("openai-dotnet-queued-2.json")) == []

    def test_messages(self) -> None:
        """Invariant messages name the field, the status and the invariant."""
        data = run("queued")
        data["required_action"] = PAYLOADS[REQUIRES_ACTION]["required_action"]
        data["expires_at"] = None
        data["usage"] = {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}
        assert [f.message for f in invariant_problems(data)] == [
            (
                "required_action is set but status is 'queued' "
                "(required_action is non-null exactly when status is requires_action)"
            ),
            (
                "expires_at is null but status is 'queued' (expires_at is non-null exactly when "
                "the status is active: queued, in_progress, requires_action or cancelling)"
            ),
            (
                "usage is set but status is 'queued' "
                "(usage is null while the status is active: queued, in_progress, requires_action "
                "or cancelling)"
            ),
        ]

    def test_order_message(self) -> None:
        """A stamp out of order names both stamps."""
        data = run("completed")
        data["completed_at"] = 1761861694
        assert only(invariant_problems(data)).message == (
            "completed_at 1761861694 is before started_at 1761861695 "
            "(created_at <= started_at <= every end stamp)"
        )

    def test_several(self) -> None:
        """A failed run with the stamps of a completed one breaks several, in order."""
        data = run("completed")
        data["status"] = "failed"
        assert [f.code for f in invariant_problems(data)] == [
            "invariant-last-error",
            "invariant-end-stamp",
            "invariant-end-stamp",
        ]


@pytest.mark.parametrize("status", ["completed", "failed", "cancelled", "expired", "queued"])
def test_incomplete_details_outside_incomplete_is_a_rule_finding(status: str) -> None:
    """Invariant 3 ties incomplete_details one way: set in another status than incomplete
    (real completed payloads carry it), it is a rule finding, not an invariant violation."""
    data = run(status)
    data["incomplete_details"] = {"reason": "max_prompt_tokens"}
    assert invariant_problems(data) == []
    assert [(f.kind, f.code, f.path) for f in check(data)] == [
        ("rule", "incomplete-details-set", "$.incomplete_details")
    ]
