"""A history row's ``changes``: what one move or metadata update changed, and its replay.

Schema version 2 keeps the whole run only in the creation's history row; every later row
holds the top-level wire fields its move set, so a row costs what the move changed, not
what the run weighs. Its JSON::

    {"set": {"status": "requires_action", "required_action": {...}},
     "refs": [["required_action", ["submit_tool_outputs", "tool_calls"], "tool_calls"]]}

``set`` maps each changed field to its new value. A move copies its arguments into the run
(``require_action``'s tool calls, ``complete``'s usage, a metadata update's metadata), and
the row keeps those arguments in its ``args`` column already: ``refs`` says where, in a
``set`` value, an argument goes (*field*, the *path* of keys and indexes inside it, the
argument's name, or ``null`` for the whole arguments object), and ``set`` holds ``null``
there instead of a second copy. So a row is at most its arguments plus its stamps.

``diff`` returns ``None`` when a delta would not rebuild the run byte for byte (a field
added or removed, or fields in another order): such a row keeps the whole body.
"""

from __future__ import annotations

import json
from typing import Any, Final

from ._rows import dumps

__all__ = ["diff", "replay"]

#: Arguments shorter than this (as JSON) are copied, not referenced: a ref costs about this.
_MIN_REF: Final = 32


def _same(a: Any, b: Any) -> bool:
    """Whether two JSON values write the same JSON text (``1``, ``1.0`` and ``True`` differ)."""
    if a is b:
        return True
    kind = type(a)
    if kind is not type(b):
        return False
    if kind is dict:
        if len(a) != len(b):
            return False
        for (ka, va), (kb, vb) in zip(a.items(), b.items(), strict=True):
            if ka != kb or not _same(va, vb):
                return False
        return True
    if kind is list:
        if len(a) != len(b):
            return False
        return all(_same(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


def diff(prev: dict[str, Any], new: dict[str, Any], args: dict[str, Any]) -> str | None:
    """The ``changes`` JSON that turns wire dict *prev* into *new*, given the row's *args*.

    ``None`` when *new* has other keys than *prev*, or the same in another order: then the
    row must keep the whole body.
    """
    if list(prev) != list(new):
        return None
    wanted: dict[str, str | None] = {}
    for name, value in args.items():
        text = dumps(value)
        if len(text) >= _MIN_REF:
            wanted.setdefault(text, name)
    whole = dumps(args)
    if len(whole) >= _MIN_REF:
        wanted.setdefault(whole, None)
    refs: list[list[Any]] = []

    def strip(value: Any, field: str, path: list[str | int]) -> Any:
        if wanted and isinstance(value, dict | list | str):
            text = dumps(value)
            if text in wanted:
                refs.append([field, path, wanted[text]])
                return None
            if isinstance(value, dict):
                return {k: strip(v, field, [*path, k]) for k, v in value.items()}
            if isinstance(value, list):
                return [strip(v, field, [*path, i]) for i, v in enumerate(value)]
        return value

    changed = {k: strip(v, k, []) for k, v in new.items() if not _same(prev[k], v)}
    out: dict[str, Any] = {"set": changed}
    if refs:
        out["refs"] = refs
    return dumps(out)


def replay(prev: dict[str, Any], changes: str, args: dict[str, Any]) -> dict[str, Any]:
    """The wire dict after a row: *prev* (not modified) with the row's *changes* applied."""
    delta = json.loads(changes)
    new = dict(prev)
    new.update(delta["set"])
    for field, path, name in delta.get("refs", ()):
        value = json.loads(dumps(args if name is None else args[name]))  # a copy of its own
        if not path:
            new[field] = value
            continue
        target = new[field]
        for step in path[:-1]:
            target = target[step]
        target[path[-1]] = value
    return new
