"""Findings: what a check of a run's wire dict reports, and the paths that say where.

A :class:`Finding` has a kind (``structure``, ``invariant`` or ``rule``), a stable code, a
JSONPath-like path (``$`` is the run, ``.name`` a key, ``[i]`` an index) and a one-line
message; ``runlife._check`` tables every code.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, Final

import attrs

__all__ = [
    "INVARIANT",
    "MISSING",
    "RULE",
    "STRUCTURE",
    "Check",
    "Finding",
    "key_path",
    "quote",
]

#: The three kinds of finding.
STRUCTURE: Final = "structure"
INVARIANT: Final = "invariant"
RULE: Final = "rule"

#: What ``dict.get`` gives for an absent member, told apart from a null one.
MISSING: Final[Any] = object()


@attrs.frozen
class Finding:
    """One problem found in a run's wire dict.

    Attributes:
        kind: ``"structure"`` (the payload cannot be loaded), ``"invariant"`` (one of the
            lifecycle's eight invariants is broken) or ``"rule"`` (a documented API rule is
            broken; real payloads do that, so it is reported, never refused, on load).
        code: A stable kebab-case code, e.g. ``"missing-field"``; the docstring of
            ``runlife._check`` lists them all.
        path: Where: ``"$"`` is the run, e.g. ``"$.tools[3].type"``.
        message: What is wrong and what is allowed, in one line.
    """

    kind: str
    code: str
    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message} [{self.kind}/{self.code}]"


#: A check of one value: it appends what it finds to the list.
Check = Callable[[Any, list[Finding]], None]


def key_path(parent: str, key: str) -> str:
    """The path of *key* under *parent*: ``.key``, or ``["key"]`` when it is no identifier."""
    if key.isascii() and key.isidentifier():
        return f"{parent}.{key}"
    if len(key) > 100:
        return f'{parent}[{json.dumps(key[:100], ensure_ascii=False)[:-1]}…"]'
    return f"{parent}[{json.dumps(key, ensure_ascii=False)}]"


def quote(value: str) -> str:
    """``repr`` of a string, also for a ``str`` subclass such as :class:`RunStatus`."""
    return repr(str.__str__(value))
