"""Key order (``runlife._order``): the fenced speed trick, held to a plain reordering.

The public behaviour (payloads written back in their own order) is tested through
``from_dict``/``to_dict`` in ``tests/test_wire.py``; this file tests the helpers' fence:
the cache and the fast paths answer what the plain way answers. It imports the core module
for that reason only.
"""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from runlife import _order

KNOWN = ("a", "b", "c", "d")
keys = st.lists(st.sampled_from([*KNOWN, "x", "y", "z"]), unique=True)


def plain_canonical(ks: list[str]) -> list[str]:
    return sorted((k for k in ks if k in KNOWN), key=KNOWN.index) + [
        k for k in ks if k not in KNOWN
    ]


@given(keys)
def test_key_order_is_none_exactly_for_the_api_order(ks: list[str]) -> None:
    """key_order answers None when the keys are in the API's order, else the keys; twice
    (the second answer from the cache) the same."""
    d = dict.fromkeys(ks, 0)
    want = None if ks == plain_canonical(ks) else tuple(ks)
    assert _order.key_order(d, KNOWN) == want
    assert _order.key_order(d, KNOWN) == want


@given(keys, keys)
def test_arrange_follows_the_order_and_places_new_keys_after_their_predecessor(
    have: list[str], order: list[str]
) -> None:
    """arrange keeps every key of the dict once, the ones the order names in its order, and
    puts each other key right after the key that precedes it in the dict."""
    d: dict[str, Any] = {k: i for i, k in enumerate(plain_canonical(have))}
    got = list(_order.arrange(d, tuple(order)))
    assert sorted(got) == sorted(d)
    named = [k for k in got if k in order]
    assert named == [k for k in order if k in d]
    canon = list(d)
    for k in got:
        if k in order:
            continue
        i = canon.index(k)
        before = canon[i - 1] if i else None
        assert (got.index(before) + 1 if before is not None else 0) == got.index(k)


def test_the_cache_is_bounded() -> None:
    """A stream of distinct odd orders does not grow the cache past its bound."""
    for i in range(_order._CACHE_SIZE + 10):
        _order.key_order({f"k{i}": 0, "b": 0, "a": 0}, KNOWN)
    assert len(_order._CACHE) <= _order._CACHE_SIZE
