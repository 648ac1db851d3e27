"""Checks of a run's steps: each step alone, and the run with its steps.

Like ``runlife._check``, everything here works on plain JSON values and never raises. A
step's findings have paths under ``$.steps[i]`` (the run is ``$``). The codes:

================================  =========  ====================================================
code                              kind       meaning
================================  =========  ====================================================
(structure codes)                 structure  as a run's: ``missing-field``, ``wrong-type``,
                                             ``wrong-object``, ``unknown-status``, ...
``step-end-stamp``                invariant  ``completed_at`` iff ``completed``, ``cancelled_at``
                                             iff ``cancelled``, ``failed_at`` iff ``failed``,
                                             ``expired_at`` iff ``expired`` (when the payload
                                             has it: the live API writes ``expires_at``)
``step-last-error``               invariant  ``last_error`` set iff the step ``failed``
``step-usage``                    invariant  ``usage`` set while the step is ``in_progress``
``steps-one-open``                invariant  more than one step ``in_progress``
``steps-open-on-terminal-run``    invariant  a step ``in_progress`` on a terminal run
``steps-usage-sum``               invariant  the run's usage is not the sum of its steps' usage
                                             (when the run's and every step's usage is set)
``steps-output-missing``          invariant  a completed ``tool_calls`` step with a function
                                             call that has no ``output``
``step-other-run``                invariant  a step whose ``run_id`` is not the run's
``step-duplicate-id``             invariant  two steps of the run have one id
``steps-waiting-without-tool-``   invariant  a ``requires_action`` run whose last step is not an
``calls``                                    open ``tool_calls`` step
``step-details-type``             rule       ``step_details.type`` is not the step's ``type``
``unknown-error-code``            rule       a step's ``last_error.code`` is not
                                             ``server_error`` or ``rate_limit_exceeded``
================================  =========  ====================================================
"""

from __future__ import annotations

from collections import Counter
from typing import Any, Final

from ._constraints import STEP_ERROR_CODES
from ._findings import INVARIANT, RULE, Finding
from ._json import describe
from ._status import TERMINAL
from ._step_table import STEP_TABLE
from ._step_wire import step_structure_problems

__all__ = ["step_problems", "steps_problems"]

#: Each end status of a step and its stamp (the step table's rows).
_STAMPS: Final = tuple((r.dest.value, r.stamp) for r in STEP_TABLE.rows)
_TERMINAL_VALUES: Final = frozenset(s.value for s in TERMINAL)


def _one_step(step: dict[str, Any], at: str, out: list[Finding]) -> None:
    status = step["status"]
    for end, stamp in _STAMPS:
        if stamp not in step:
            continue  # ``expired_at``, absent from the live API's payloads: nothing to judge
        is_set = step.get(stamp) is not None
        if is_set != (status == end):
            state = "set" if is_set else "null"
            msg = f"{stamp} is {state} in status {status!r}; it is set iff the step is {end}"
            out.append(Finding(INVARIANT, "step-end-stamp", f"{at}.{stamp}", msg))
    if (step["last_error"] is not None) != (status == "failed"):
        msg = f"last_error is set iff the step failed; the step is {status!r}"
        out.append(Finding(INVARIANT, "step-last-error", f"{at}.last_error", msg))
    if step["usage"] is not None and status == "in_progress":
        msg = "usage is null while the step is in_progress"
        out.append(Finding(INVARIANT, "step-usage", f"{at}.usage", msg))
    if step["step_details"]["type"] != step["type"]:
        msg = (
            f"step_details.type {describe(step['step_details']['type'])} is not the "
            f"step's type {describe(step['type'])}"
        )
        out.append(Finding(RULE, "step-details-type", f"{at}.step_details.type", msg))
    error = step["last_error"]
    if error is not None and error["code"] not in STEP_ERROR_CODES:
        msg = f"expected one of {', '.join(STEP_ERROR_CODES)}, got {describe(error['code'])}"
        out.append(Finding(RULE, "unknown-error-code", f"{at}.last_error.code", msg))
    details = step["step_details"]
    if status == "completed" and details["type"] == "tool_calls":
        for j, call in enumerate(details.get("tool_calls", ())):
            fn = call.get("function")
            if isinstance(fn, dict) and fn.get("output") is None:
                msg = f"call {describe(call['id'])} of a completed tool_calls step has no output"
                where = f"{at}.step_details.tool_calls[{j}].function.output"
                out.append(Finding(INVARIANT, "steps-output-missing", where, msg))


def _usage_sum(run: dict[str, Any], steps: list[dict[str, Any]], out: list[Finding]) -> None:
    usage = run.get("usage")
    if not isinstance(usage, dict) or not steps:
        return
    if any(not isinstance(s["usage"], dict) for s in steps):
        return
    try:
        p = sum(s["usage"]["prompt_tokens"] for s in steps)
        c = sum(s["usage"]["completion_tokens"] for s in steps)
        want = (usage["prompt_tokens"], usage["completion_tokens"], usage["total_tokens"])
    except (KeyError, TypeError):
        return  # the run's own structure finding says what is wrong
    if want != (p, c, p + c):
        msg = (
            f"expected the sum of the steps' usage (prompt_tokens {p}, completion_tokens {c}, "
            f"total_tokens {p + c}), got {describe(usage)}"
        )
        out.append(Finding(INVARIANT, "steps-usage-sum", "$.usage", msg))


def step_problems(step: object) -> list[Finding]:
    """Every finding of one step's wire dict on its own (paths from ``$``, the step). Never raises."""
    found = step_structure_problems(step)
    if not found and isinstance(step, dict):
        _one_step(step, "$", found)
    return found


def steps_problems(run: object, steps: object) -> list[Finding]:
    """Every finding of *steps* (a list of step wire dicts) as the steps of *run* (its wire dict).

    Never raises. Steps with structure findings are left out of the other checks.
    """
    if not isinstance(steps, list):
        return [
            Finding(
                "structure",
                "wrong-type",
                "$.steps",
                f"expected an array of run steps, got {describe(steps)}",
            )
        ]
    out: list[Finding] = []
    sound: list[dict[str, Any]] = []
    open_at: list[int] = []
    for i, step in enumerate(steps):
        at = f"$.steps[{i}]"
        problems = step_structure_problems(step)
        if problems:
            out.extend(Finding(p.kind, p.code, at + p.path[1:], p.message) for p in problems)
            continue
        assert isinstance(step, dict)  # noqa: S101 - no structure finding
        sound.append(step)
        if step["status"] == "in_progress":
            open_at.append(i)
        _one_step(step, at, out)
        if isinstance(run, dict) and step["run_id"] != run.get("id"):
            msg = (
                f"step {describe(step['id'])} is of run {describe(step['run_id'])}, "
                f"not {describe(run.get('id'))}"
            )
            out.append(Finding(INVARIANT, "step-other-run", f"{at}.run_id", msg))
    if len(open_at) > 1:
        msg = f"{len(open_at)} steps are in_progress (steps {open_at}); a run has at most one"
        out.append(Finding(INVARIANT, "steps-one-open", "$.steps", msg))
    status = run.get("status") if isinstance(run, dict) else None
    twice = sorted(i for i, n in Counter(s["id"] for s in sound).items() if n > 1)
    if twice:
        msg = f"step ids {twice} appear more than once; each step has its own id"
        out.append(Finding(INVARIANT, "step-duplicate-id", "$.steps", msg))
    if status == "requires_action" and sound and len(sound) == len(steps):
        last = sound[-1]
        if last["status"] != "in_progress" or last["type"] != "tool_calls":
            msg = (
                "a run waiting in requires_action has its tool_calls step open (the last); "
                f"its last step is {last['type']} {last['status']}"
            )
            out.append(Finding(INVARIANT, "steps-waiting-without-tool-calls", "$.steps", msg))
    if open_at and status in _TERMINAL_VALUES:
        msg = f"the run is {status}, and its step {open_at[0]} is still in_progress"
        out.append(
            Finding(INVARIANT, "steps-open-on-terminal-run", f"$.steps[{open_at[0]}].status", msg)
        )
    if isinstance(run, dict) and len(sound) == len(steps):
        _usage_sum(run, sound, out)
    return out
