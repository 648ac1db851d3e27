"""JSON values: plain copies, read-only copies, and how a value is shown in a message.

A run shares no mutable JSON with anyone: what comes in is copied (``thaw`` for the
plain dicts and lists the wire format writes, ``freeze`` for the read-only containers the
record keeps in ``metadata`` and ``extra``), and what goes out is a fresh plain copy.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final, NoReturn, TypeGuard

from ._constraints import MAX_JSON_DEPTH

__all__ = [
    "ATOMS",
    "EMPTY",
    "KEPT",
    "FrozenDict",
    "NotJSON",
    "clip",
    "describe",
    "freeze",
    "is_int",
    "render",
    "thaw",
]

#: The JSON scalars' types: immutable, kept as they are.
ATOMS: Final = frozenset({str, int, float, bool, type(None)})


class FrozenDict(dict[str, Any]):
    """A read-only ``dict``: what a run's ``metadata`` and every ``extra`` hold.

    It is a real ``dict`` (``json.dumps`` writes it, ``isinstance(d, dict)`` holds, equality
    is a dict's), but every method that would change it raises ``TypeError``, so a run's
    rules cannot be bypassed by writing into its record. Nested objects are ``FrozenDict``
    and nested arrays tuples. Copy it with ``dict(d)`` to get a mutable one.
    """

    __slots__ = ()

    def _refuse(self, *_: object, **__: object) -> NoReturn:
        raise TypeError(
            "a run's metadata and extra are read-only; change metadata with "
            "RunEngine.update(run, metadata=...)"
        )

    __setitem__ = __delitem__ = _refuse
    clear = pop = popitem = setdefault = update = _refuse
    __ior__ = _refuse

    def __reduce__(self) -> tuple[Any, ...]:
        return (FrozenDict, (dict(self),))

    def __copy__(self) -> FrozenDict:
        return self

    def __deepcopy__(self, memo: object) -> FrozenDict:
        return self

    def __repr__(self) -> str:
        return dict.__repr__(self)


#: The empty read-only dict: shared by every record with no unknown keys.
EMPTY: Final = FrozenDict()


def thaw(value: Any) -> Any:
    """A deep copy of a JSON value in plain types: objects as ``dict``, arrays as ``list``.

    Mappings (``FrozenDict`` included) are copied as dicts, lists and tuples (and their
    subclasses) as lists; scalars are immutable and kept.
    """
    t = type(value)
    if t is dict or t is FrozenDict:
        # Scalars are passed over inline, without a call: most members are scalars.
        return {k: v if type(v) in ATOMS else thaw(v) for k, v in value.items()}
    if t is list or t is tuple:
        return [v if type(v) in ATOMS else thaw(v) for v in value]
    if t in ATOMS:
        return value
    if isinstance(value, Mapping):
        return {k: thaw(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [thaw(v) for v in value]
    return value


#: What ``freeze`` keeps as it is: JSON scalars but floats (checked), and frozen objects.
KEPT: Final = frozenset({str, int, bool, type(None), FrozenDict})


class NotJSON(ValueError):
    """Raised by :func:`freeze` on what JSON cannot hold; the loader then names where.

    A value nested deeper than ``MAX_JSON_DEPTH``, a NaN or infinite float, a key that is
    not a string, or an object that is no JSON value (a set, bytes, ...).
    """


def freeze(value: Any, level: int = 2) -> Any:
    """A deep read-only copy of a JSON value: objects as ``FrozenDict``, arrays as tuples.

    *level* is where the value sits in the run (the run is level 1, a top-level field's
    value level 2); a container beyond ``MAX_JSON_DEPTH`` is refused. Checking here, in
    the one walk a load makes of the values it does not type, is what keeps the check
    free; members that are kept as they are (strings, ints ...) are passed over inline,
    without a call.

    Raises:
        NotJSON: *value* holds what JSON cannot (too deep, NaN or infinity, a non-string key,
            a non-JSON object).
    """
    t = type(value)
    if t in KEPT:
        return value
    if t is dict:
        if level > MAX_JSON_DEPTH:
            raise NotJSON
        if not value:
            return EMPTY
        down = level + 1
        copy = {}
        for k, v in value.items():
            copy[k] = v if type(v) in KEPT else freeze(v, down)
        try:
            # Keyword arguments are strings: C checks every key (faster than any loop here).
            return FrozenDict(**copy)
        except TypeError:
            raise NotJSON from None
    if t is float:
        if value - value == 0.0:  # NaN and ±infinity give NaN
            return value
        raise NotJSON
    if t is list or t is tuple:
        if level > MAX_JSON_DEPTH:
            raise NotJSON
        down = level + 1
        return tuple([v if type(v) in KEPT else freeze(v, down) for v in value])
    return _freeze_other(value, level)


def _freeze_other(value: Any, level: int) -> Any:
    if level > MAX_JSON_DEPTH and isinstance(value, Mapping | list | tuple):
        raise NotJSON
    if isinstance(value, bool | int | str):
        return value  # a subclass (an IntEnum, a StrEnum): JSON writes its value
    if isinstance(value, float):
        return freeze(float(value), level)
    if isinstance(value, Mapping):
        if not all(isinstance(k, str) for k in value):
            raise NotJSON
        return FrozenDict({k: freeze(v, level + 1) for k, v in value.items()}) or EMPTY
    if isinstance(value, list | tuple):
        return tuple([freeze(v, level + 1) for v in value])
    raise NotJSON


def is_int(value: object) -> TypeGuard[int]:
    """Whether *value* is a JSON integer (never a bool)."""
    return type(value) is int or (isinstance(value, int) and not isinstance(value, bool))


# --- values in messages: one renderer for every error and finding --------------------------

_CLIP: Final = 60
_DEPTH: Final = 3
_INT_BITS: Final = 128


def render(value: object, budget: int, depth: int = 0) -> str:
    """A repr of *value* that stops soon after *budget* characters and never recurses deeply."""
    budget = max(budget, 1)
    if isinstance(value, str):
        return repr(str.__getitem__(value, slice(budget)))
    if value is None or isinstance(value, bool):
        return repr(value)
    if isinstance(value, float):
        return float.__repr__(value)
    if isinstance(value, int):  # a huge int's repr raises past 4300 digits: show its size
        bits = int.bit_length(value)
        return int.__repr__(value) if bits <= _INT_BITS else f"<int of {bits} bits>"
    if isinstance(value, list | tuple | dict):
        opening, closing = ("{", "}") if isinstance(value, dict) else ("[", "]")
        if isinstance(value, tuple):
            opening, closing = "(", ")"
        if depth >= _DEPTH:
            return f"{opening}…{closing}" if value else f"{opening}{closing}"
        parts: list[str] = []
        used = 2
        items: Any = value.items() if isinstance(value, dict) else value
        for item in items:
            if used >= budget:
                parts.append("…")
                break
            if isinstance(value, dict):
                key, member = item
                head = render(key, budget - used, depth + 1)
                piece = f"{head}: {render(member, budget - used - len(head), depth + 1)}"
            else:
                piece = render(item, budget - used, depth + 1)
            parts.append(piece)
            used += len(piece) + 2
        return f"{opening}{', '.join(parts)}{closing}"
    try:
        return repr(value)
    except Exception:  # noqa: BLE001 - a foreign object's repr must not break a check
        return f"<{type(value).__name__}>"


def clip(value: object) -> str:
    """A repr of *value* of at most 60 characters."""
    text = render(value, _CLIP + 1, 0)
    return text if len(text) <= _CLIP else f"{text[: _CLIP - 1]}…"


def describe(value: object) -> str:
    """The type and a short repr of *value*, e.g. ``bool True``, or ``null``."""
    if value is None:
        return "null"
    return f"{type(value).__name__} {clip(value)}"
