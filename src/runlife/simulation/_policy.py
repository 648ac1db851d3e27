"""What happens to simulated runs: the policy, its fields, defaults, checks and problems.

A policy is read from JSON/TOML values (``Policy.from_mapping``): ranges as ``[lo, hi]`` or one
int, failure codes as a table of weights. Every bad value is reported at once, one
``(key, problem)`` pair each, by ``PolicyError``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, Final, Literal, TypeAlias

import attrs

from runlife import ERROR_CODES

__all__ = [
    "CHECKS",
    "DEFAULT_POLICY",
    "FIELDS",
    "Check",
    "Policy",
    "PolicyError",
    "Range",
    "policy_text",
    "value_text",
]

#: ``--check``: what is checked, when (see ``simulate``).
CHECKS: Final = ("final", "moves", "full", "none")
Check: TypeAlias = Literal["final", "moves", "full", "none"]

Range: TypeAlias = tuple[int, int]


class PolicyError(ValueError):
    """Policy values that are not acceptable: *problems* holds ``(key, problem)`` pairs.

    The message has one line per problem: ``key: problem``.
    """

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        self.problems = problems
        super().__init__("\n".join(f"{key}: {problem}" for key, problem in problems))


def _field(default: Any, kind: str, help: str) -> Any:  # noqa: A002 - argparse's word
    return attrs.field(default=default, metadata={"kind": kind, "help": help})


@attrs.frozen(kw_only=True)
class Policy:
    """What happens to simulated runs: rates, probabilities and durations (virtual seconds).

    A range ``(lo, hi)`` draws an int uniformly from ``lo`` to ``hi`` inclusive. Every
    probability is per run unless it says otherwise.
    """

    arrival_rate: float = _field(10.0, "rate", "runs created per virtual second")
    ttl: int = _field(600, "seconds", "seconds from creation to expires_at")
    parallel: float = _field(0.8, "probability", "share of runs that allow parallel tool calls")
    limited: float = _field(
        0.5, "probability", "share of runs with a max_completion_tokens limit (token_limit)"
    )
    token_limit: int = _field(4096, "limit", "the max_completion_tokens of limited runs")
    queue_wait: Range = _field((0, 4), "range", "seconds queued before each start")
    step: Range = _field((1, 20), "range", "seconds in_progress before the next event")
    tool_round: float = _field(
        0.35, "probability", "chance that a step ends by asking for tool calls"
    )
    early_message: float = _field(
        0.5,
        "probability",
        "chance that the model starts a message as a run starts (its message step is open "
        "while the run works; with steps only)",
    )
    max_tool_rounds: int = _field(4, "count", "at most this many tool-call rounds a run")
    tool_calls: Range = _field((1, 3), "range", "calls a round (1 without parallel tool calls)")
    output_delay: Range = _field((1, 20), "range", "seconds the client takes to submit outputs")
    late: float = _field(
        0.02, "probability", "chance that a round's outputs come too late: the run expires"
    )
    cancel: float = _field(
        0.03, "probability", "share of runs the client cancels (if still active by then)"
    )
    cancel_after: Range = _field((0, 60), "range", "seconds after creation the client cancels")
    cancel_delay: Range = _field((1, 5), "range", "seconds a run spends cancelling")
    cancel_ignored: float = _field(
        0.1,
        "probability",
        "chance that a started run completes anyway once cancelling (cancelling is not a promise)",
    )
    fail: float = _field(0.02, "probability", "chance that a step (or a cancellation) fails")
    fail_codes: tuple[tuple[str, float], ...] = _field(
        (("server_error", 6.0), ("rate_limit_exceeded", 3.0), ("invalid_prompt", 1.0)),
        "weights",
        "relative weights of the failures' last_error.code",
    )
    incomplete: float = _field(
        0.1, "probability", "chance that a limited run runs out of tokens at its last step"
    )
    prompt_tokens: Range = _field((200, 4000), "range", "prompt tokens of a run that ends")
    completion_tokens: Range = _field(
        (20, 800), "range", "completion tokens (at most token_limit when limited)"
    )

    def __attrs_post_init__(self) -> None:
        problems = [
            (f.name, p) for f in attrs.fields(Policy) if (p := _problem(f, getattr(self, f.name)))
        ]
        if problems:
            raise PolicyError(problems)

    def changes(self) -> dict[str, Any]:
        """The fields that differ from the defaults, in field order, as JSON values."""
        mine, default = self.to_json(), DEFAULT_POLICY.to_json()
        return {k: v for k, v in mine.items() if v != default[k]}

    def to_json(self) -> dict[str, Any]:
        """Every field as a JSON value (ranges as ``[lo, hi]``, weights as an object)."""
        return {f.name: _to_json(getattr(self, f.name)) for f in attrs.fields(Policy)}

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any], *, base: Policy | None = None) -> Policy:
        """*base* (the defaults) with the fields *values* gives, as JSON/TOML values.

        Raises:
            PolicyError: an unknown key (with a did-you-mean) or a bad value, one line each.
        """
        problems: list[tuple[str, str]] = []
        changes: dict[str, Any] = {}
        for key, raw in values.items():
            field = FIELDS.get(key)
            if field is None:
                problems.append((key, _unknown_key(key)))
                continue
            try:
                changes[key] = _from_json(field.metadata["kind"], raw)
            except ValueError as exc:
                problems.append((key, str(exc)))
        if problems:
            raise PolicyError(problems)
        return attrs.evolve(base or DEFAULT_POLICY, **changes)


FIELDS: Final[dict[str, attrs.Attribute[Any]]] = {f.name: f for f in attrs.fields(Policy)}


def _unknown_key(key: str) -> str:
    import difflib  # noqa: PLC0415 - only on errors

    close = difflib.get_close_matches(key, list(FIELDS), n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    return f"unknown policy key{hint} (keys: {', '.join(FIELDS)})"


def _to_json(value: Any) -> Any:
    if isinstance(value, tuple) and value and isinstance(value[0], tuple):
        return dict(value)
    if isinstance(value, tuple):
        return list(value)
    return value


def _number(raw: Any) -> float:
    if isinstance(raw, bool) or not isinstance(raw, int | float) or not math.isfinite(raw):
        raise ValueError(f"expected a number, got {raw!r}")
    return float(raw)


def _int(raw: Any) -> int:
    if isinstance(raw, float) and raw.is_integer():
        raw = int(raw)
    if isinstance(raw, bool) or not isinstance(raw, int):
        raise ValueError(f"expected an int, got {raw!r}")  # noqa: TRY004 - a value problem
    return raw


def _from_json(kind: str, raw: Any) -> Any:
    """Convert a JSON/TOML value to the field's type; ranges and weights are checked later."""
    if kind in {"probability", "rate"}:
        return _number(raw)
    if kind in {"seconds", "count", "limit"}:
        return _int(raw)
    if kind == "range":
        if isinstance(raw, int | float) and not isinstance(raw, bool):
            value = _int(raw)
            return (value, value)
        if isinstance(raw, list | tuple) and len(raw) == 2:
            return (_int(raw[0]), _int(raw[1]))
        raise ValueError(f"expected [lo, hi] (two ints) or one int, got {raw!r}")
    if kind == "weights":
        if not isinstance(raw, Mapping):
            raise ValueError(f"expected a table of code = weight, got {raw!r}")
        return tuple((str(k), _number(v)) for k, v in raw.items())
    raise AssertionError(kind)  # pragma: no cover


def _problem(field: attrs.Attribute[Any], value: Any) -> str | None:
    """Why *value* is not acceptable for *field*, or ``None``."""
    kind, name = field.metadata["kind"], field.name
    if kind == "probability" and not 0 <= value <= 1:
        return f"expected a probability from 0 to 1, got {_num(value)}"
    if kind == "rate" and not value > 0:
        return f"expected a number > 0, got {_num(value)}"
    if kind == "seconds" and value < 1:
        return f"expected an int of seconds >= 1, got {value}"
    if kind == "count" and value < 0:
        return f"expected an int >= 0, got {value}"
    if kind == "limit" and value < 256:
        return f"expected an int >= 256 (the API's minimum), got {value}"
    if kind == "range":
        lo, hi = value
        least = 1 if name == "tool_calls" else 0
        if not least <= lo <= hi:
            return f"expected {least} <= LO <= HI, got {_range(value)}"
    if kind == "weights":
        unknown = [code for code, _ in value if code not in ERROR_CODES]
        if unknown:
            return f"unknown code {', '.join(map(repr, unknown))}; codes: {', '.join(ERROR_CODES)}"
        if any(w < 0 for _, w in value) or sum(w for _, w in value) <= 0:
            return f"expected weights >= 0 with a sum > 0, got {value_text(value)}"
    return None


def _range(value: Range) -> str:
    return f"{value[0]}..{value[1]}"


DEFAULT_POLICY: Final = Policy()


def policy_text(policy: Policy) -> str:
    """The policy for the report's header: ``defaults``, or the fields changed from them."""
    changes = policy.changes()
    if not changes:
        return "default policy"
    parts = [f"{k}={value_text(getattr(policy, k))}" for k in changes]
    return "policy: defaults with " + ", ".join(parts)


def value_text(value: Any) -> str:
    """A policy value as an option takes it: ``0..4``, ``server_error=6,invalid_prompt=1``, ``0.8``."""
    if isinstance(value, tuple) and value and isinstance(value[0], tuple):
        return ",".join(f"{k}={_num(w)}" for k, w in value)
    if isinstance(value, tuple):
        return _range(value)
    return _num(value)


def _num(value: float) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)
