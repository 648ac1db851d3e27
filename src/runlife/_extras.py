"""The optional extras: what each one installs, and the error that says which to install.

pyproject.toml's ``[project.optional-dependencies]`` is the source of truth for what an extra
installs; ``EXTRAS`` names, for each extra, the packages it lists there
(``tests/test_extras.py`` holds the two together) and the top-level modules runlife imports
that come with them, their own dependencies included (Starlette brings ``anyio``).
``missing_extra`` turns a ``ModuleNotFoundError`` for one of those modules into one that
says which extra to install, and how (``install_command``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

import attrs

__all__ = ["EXTRAS", "Extra", "install_command", "missing_extra"]


@attrs.frozen
class Extra:
    """One optional extra: its name, packages and the modules runlife imports from them.

    *packages* are as pyproject.toml lists them; *modules* are top-level module names (none:
    the extra installs a program).
    """

    name: str
    packages: tuple[str, ...]
    modules: tuple[str, ...]


#: Every extra a user installs (``dev`` is the project's own, not a user's).
EXTRAS: Final[Mapping[str, Extra]] = {
    extra.name: extra
    for extra in (
        Extra("serve", ("starlette", "uvicorn"), ("starlette", "uvicorn", "anyio")),
        Extra("postgres", ("psycopg",), ("psycopg",)),
        # A layout program, found through its distribution's files: nothing is imported.
        Extra("diagrams", ("graphviz-pure",), ()),
        Extra("testing", ("hypothesis",), ("hypothesis",)),
    )
}


def install_command(extra: str) -> str:
    """How to install *extra*: from a checkout today, and from a package index once published."""
    if extra not in EXTRAS:
        raise ValueError(f"unknown extra {extra!r}; extras: {', '.join(EXTRAS)}")
    return (
        f'pip install ".[{extra}]" from a checkout of runlife, '
        f'or pip install "runlife[{extra}]" once it is on a package index'
    )


def missing_extra(exc: ModuleNotFoundError, *, needed_by: str) -> ModuleNotFoundError | None:
    """A ``ModuleNotFoundError`` naming the extra to install, if *exc* is about one of its modules.

    ``None`` if the missing module belongs to no extra (then *exc* is a real bug to raise).
    """
    top = (exc.name or "").partition(".")[0]
    for extra in EXTRAS.values():
        if top in extra.modules:
            message = (
                f"{needed_by} needs {top}, which the {extra.name} extra installs: "
                f"{install_command(extra.name)}"
            )
            return ModuleNotFoundError(message, name=exc.name)
    return None
