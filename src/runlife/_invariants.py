"""Invariants: the eight invariants of a run's lifecycle that a wire dict breaks.

Each ties a field to the status (``last_error`` is set exactly when the run failed, ...),
except the sixth, the order of the stamps, which holds whatever the status.
"""

from __future__ import annotations

from operator import is_not
from typing import Any, Final

from ._findings import INVARIANT, Finding, quote
from ._json import clip, is_int
from ._status import ACTIVE, RAN, STATUS_BY_VALUE

__all__ = ["invariant_problems"]

_ACTIVE_TEXT: Final = "active: queued, in_progress, requires_action or cancelling"
_ENDS: Final = ("cancelled_at", "failed_at", "completed_at")
_ORDER: Final = "created_at <= started_at <= every end stamp"

#: The "non-null exactly when" invariants 1 to 4: (field, code, statuses, the statuses in words).
_IFF: Final[tuple[tuple[str, str, frozenset[str], str], ...]] = (
    (
        "required_action",
        "invariant-required-action",
        frozenset({"requires_action"}),
        "requires_action",
    ),
    ("last_error", "invariant-last-error", frozenset({"failed"}), "failed"),
    ("incomplete_details", "invariant-incomplete-details", frozenset({"incomplete"}), "incomplete"),
    (
        "completed_at",
        "invariant-end-stamp",
        frozenset({"completed", "incomplete"}),
        "completed or incomplete",
    ),
    ("failed_at", "invariant-end-stamp", frozenset({"failed"}), "failed"),
    ("cancelled_at", "invariant-end-stamp", frozenset({"cancelled"}), "cancelled"),
)


#: The fields of ``_IFF`` that the invariant ties one way only: non-null in its statuses (3:
#: ``incomplete`` has ``incomplete_details``); set elsewhere, it is a rule finding, since
#: real ``completed`` payloads carry it (the engine never writes it there).
_ONLY_IF: Final = frozenset({"incomplete_details"})

_IFF_NAMES: Final = tuple(name for name, _, _, _ in _IFF)
_IFF_NONES: Final = (None,) * len(_IFF)
#: Per status, which of the fields of ``_IFF`` are set when invariants 1 to 4 hold: one list
#: comparison tells a sound run (the usual case) from one whose findings need to be named.
_IFF_SHAPES: Final = {
    status: [status in statuses for _, _, statuses, _ in _IFF] for status in STATUS_BY_VALUE
}


def _iff_message(name: str, status: str, when: str, *, is_set: bool) -> str:
    state = "set" if is_set else "null"
    return (
        f"{name} is {state} but status is {quote(status)} ({name} is non-null exactly when {when})"
    )


def invariant_problems(data: dict[str, Any]) -> list[Finding]:
    """The lifecycle invariants that *data* breaks.

    The eight invariants of the contract: 1. ``required_action`` non-null exactly in
    ``requires_action``; 2. ``last_error`` exactly in ``failed``; 3. ``incomplete_details``
    non-null in ``incomplete`` (set in another status it is a rule finding); 4. ``completed_at`` exactly in ``completed``/``incomplete``,
    ``failed_at`` in ``failed``, ``cancelled_at`` in ``cancelled``; 5. ``started_at`` set in
    ``in_progress``, ``requires_action``, ``completed`` and ``incomplete``; 6. ``created_at <=
    started_at <=`` every end stamp, where set; 7. ``expires_at`` non-null exactly when the status
    is active; 8. ``usage`` null while active.

    Args:
        data: A run dict whose structure is sound (:func:`structure_problems` found nothing).
            Anything else gives a best-effort answer, never an exception.

    Returns:
        The findings, all of kind ``"invariant"``, in the order of the invariants.
    """
    out: list[Finding] = []
    if not isinstance(data, dict):
        return out
    get = data.get
    status = get("status")
    if not isinstance(status, str) or status not in STATUS_BY_VALUE:
        _stamp_order(data, out)  # the only invariant that does not depend on the status
        return out
    status = str.__str__(status)
    if list(map(is_not, map(get, _IFF_NAMES), _IFF_NONES)) != _IFF_SHAPES[status]:
        for name, code, statuses, words in _IFF:
            is_set = get(name) is not None
            if name in _ONLY_IF:
                # Set outside its statuses: a rule finding on load (runlife._rules).
                if is_set or status not in statuses:
                    continue
                msg = (
                    f"{name} is null but status is {quote(status)} "
                    f"({name} is non-null when status is {words})"
                )
                out.append(Finding(INVARIANT, code, f"$.{name}", msg))
            elif is_set != (status in statuses):
                msg = _iff_message(name, status, f"status is {words}", is_set=is_set)
                out.append(Finding(INVARIANT, code, f"$.{name}", msg))
    if status in RAN and get("started_at") is None:
        msg = (
            f"started_at is null but status is {quote(status)} (started_at is set when "
            "status is in_progress, requires_action, completed or incomplete)"
        )
        out.append(Finding(INVARIANT, "invariant-started-at", "$.started_at", msg))
    _stamp_order(data, out)
    active = status in ACTIVE
    if (get("expires_at") is not None) != active:
        msg = _iff_message("expires_at", status, f"the status is {_ACTIVE_TEXT}", is_set=not active)
        out.append(Finding(INVARIANT, "invariant-expires-at", "$.expires_at", msg))
    if active and get("usage") is not None:
        msg = (
            f"usage is set but status is {quote(status)} "
            f"(usage is null while the status is {_ACTIVE_TEXT})"
        )
        out.append(Finding(INVARIANT, "invariant-usage", "$.usage", msg))
    return out


def _stamp_order(data: dict[Any, Any], out: list[Finding]) -> None:
    """Invariant 6: ``created_at <= started_at <=`` every end stamp, where set."""
    get = data.get
    created, started = get("created_at"), get("started_at")
    if type(created) is int and (started is None or (type(started) is int and started >= created)):
        # The usual case, in order: every end stamp null or at least the start (or creation).
        floor = created if started is None else started
        c, f, m = get("cancelled_at"), get("failed_at"), get("completed_at")
        if (
            (c is None or (type(c) is int and c >= floor))
            and (f is None or (type(f) is int and f >= floor))
            and (m is None or (type(m) is int and m >= floor))
        ):
            return
    created = data.get("created_at")
    if not is_int(created):
        created = None
    started = data.get("started_at")
    if not is_int(started):
        started = None
    if created is not None and started is not None and started < created:
        msg = f"started_at {clip(started)} is before created_at {clip(created)} ({_ORDER})"
        out.append(Finding(INVARIANT, "invariant-stamp-order", "$.started_at", msg))
    for name in _ENDS:
        end = data.get(name)
        if not is_int(end):
            continue
        if started is not None and end < started:
            msg = f"{name} {clip(end)} is before started_at {clip(started)} ({_ORDER})"
        elif created is not None and end < created:
            msg = f"{name} {clip(end)} is before created_at {clip(created)} ({_ORDER})"
        else:
            continue
        out.append(Finding(INVARIANT, "invariant-stamp-order", f"$.{name}", msg))
