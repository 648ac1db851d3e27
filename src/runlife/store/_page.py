"""The API's list pagination, written once for every listing (runs of a thread, steps of a run).

A listing is in creation order (a key the store assigns: a run's ``seq``, a step's
``ordinal``), ``desc`` (newest first, the API's default) or ``asc``; ``after`` / ``before``
are ids of the listing's items: the page holds the items that come after (or before) that
one in this order. A page reads ``limit + 1`` rows to tell ``has_more``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal, TypeVar

import attrs

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["Window", "window"]

T = TypeVar("T")


@attrs.frozen
class Window:
    """What a page selects, and how its rows become the page.

    *where*: conditions on the key (with *params*); *direction* (``ASC``/``DESC``) and
    ``LIMIT`` (*fetch*) of the key; *backwards*: the page was read away from the cursor
    (only ``before`` given), then turned around.
    """

    where: list[str]
    params: list[Any]
    direction: str
    fetch: int
    limit: int
    backwards: bool

    def cut(self, items: list[T]) -> tuple[list[T], bool]:
        """The page of *items* (read in ``direction``, at most ``fetch``), and ``has_more``."""
        has_more = len(items) > self.limit
        page = items[: self.limit]
        if self.backwards:
            page.reverse()
        return page, has_more


def window(
    key: str,
    lookup: Callable[[str], Any | None],
    missing: Callable[[str], Exception],
    *,
    limit: int,
    order: Literal["asc", "desc"],
    after: str | None,
    before: str | None,
) -> Window:
    """The window of a page ordered by *key*; *lookup* gives a cursor's key (``None``: none).

    Raises:
        ValueError: *limit* is not 1 to 100, or *order* not ``"asc"`` / ``"desc"``.
        Exception: ``missing(cursor)`` for a cursor that is not an item of the listing.
    """
    if type(limit) is not int or not 1 <= limit <= 100:
        raise ValueError(f"limit: expected an int from 1 to 100, got {limit!r}")
    if order not in {"asc", "desc"}:
        raise ValueError(f"order: expected 'asc' or 'desc', got {order!r}")
    asc = order == "asc"
    where: list[str] = []
    params: list[Any] = []
    for cursor, later in ((after, True), (before, False)):
        if cursor is None:
            continue
        found = lookup(cursor)
        if found is None:
            raise missing(cursor)
        where.append(f"{key} {'>' if later == asc else '<'} ?")
        params.append(found)
    # Travel away from the cursor: backwards when only `before` is given.
    backwards = before is not None and after is None
    direction = "ASC" if asc != backwards else "DESC"
    return Window(where, params, direction, limit + 1, limit, backwards)
