"""Key order: the order in which a wire object's keys are written.

runlife writes the API's order (each record class's known keys in the order the API writes
them, then the keys it does not know, in the order they came). A payload read with its keys
in another order keeps that order: its records hold the payload's keys in ``key_order``, and
the encoders write them back in it, so that ``json.dumps(to_dict(from_dict(d))) ==
json.dumps(d)``.

A speed trick, fenced: almost every payload has the API's order, so :func:`key_order` answers
``None`` (the API's order) after one tuple comparison, and the orders it has worked out are
kept in a bounded cache, so that a second payload with the same odd order costs a lookup
and shares its tuple. :func:`arrange` is the one way back, tested against a plain
reordering (``tests/test_order.py``).
"""

from __future__ import annotations

from typing import Any, Final

__all__ = ["arrange", "canonical", "key_order"]

#: At most this many distinct (known, keys) orders are remembered; beyond it each is worked
#: out again (a hostile stream of shuffled payloads cannot grow memory).
_CACHE_SIZE: Final = 4096
_CACHE: dict[tuple[tuple[str, ...], tuple[Any, ...]], tuple[Any, ...] | None] = {}


def canonical(keys: tuple[Any, ...], known: tuple[str, ...]) -> tuple[Any, ...]:
    """*keys* in the API's order: those of *known* in its order, then the others as they came."""
    present = set(keys)
    return (*[k for k in known if k in present], *[k for k in keys if k not in known])


def key_order(d: dict[Any, Any], known: tuple[str, ...]) -> tuple[Any, ...] | None:
    """The order of *d*'s keys to keep: ``None`` when it is the API's order for *known* keys."""
    keys = tuple(d)
    if keys == known:
        return None  # the usual case: every known key, in order, and nothing else
    cache_key = (known, keys)
    try:
        return _CACHE[cache_key]
    except KeyError:
        pass
    order = None if canonical(keys, known) == keys else keys
    if len(_CACHE) < _CACHE_SIZE:
        _CACHE[cache_key] = order
    return order


def arrange(d: dict[str, Any], order: tuple[Any, ...]) -> dict[str, Any]:
    """*d* (written in the API's order) with its keys in *order*.

    A key of *d* that *order* does not have (a field that appeared since the payload was
    read) goes right after the key that precedes it in *d*, or first if none does; a key of
    *order* that *d* does not have is skipped.
    """
    if len(order) == len(d):
        try:
            return {k: d[k] for k in order}
        except KeyError:
            pass  # not the same keys: arranged the long way
    placed = [k for k in dict.fromkeys(order) if k in d]
    if len(placed) < len(d):
        spot = set(placed)
        previous = None
        for k in d:
            if k not in spot:
                placed.insert(0 if previous is None else placed.index(previous) + 1, k)
                spot.add(k)
            previous = k
    return {k: d[k] for k in placed}
