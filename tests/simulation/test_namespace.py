"""The public namespace of ``runlife.simulation``: what __all__ says, and a light import."""

from __future__ import annotations

import doctest
import subprocess
import sys

import runlife.simulation


def test_all_is_sorted_and_complete() -> None:
    """__all__ is sorted, has no duplicates, and names what the package holds."""
    names = runlife.simulation.__all__
    assert names == sorted(names, key=lambda n: (not n.isupper(), n))
    assert len(set(names)) == len(names)
    for name in names:
        assert hasattr(runlife.simulation, name), name


def test_public_members_are_exported() -> None:
    """Every public attribute of the package is in __all__ (its modules aside)."""
    public = {
        n
        for n, v in vars(runlife.simulation).items()
        if not n.startswith("_") and not isinstance(v, type(runlife)) and n != "annotations"
    }
    assert public == set(runlife.simulation.__all__)


def test_import_is_light() -> None:
    """Importing the package starts no process pool and loads neither the CLI nor a store."""
    heavy = ("multiprocessing", "tomllib", "runlife.cli", "runlife.store", "runlife.serve")
    code = (
        f"import sys, runlife.simulation; print(sorted(m for m in {heavy!r} if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_docstring_examples() -> None:
    """The package docstring's example runs."""
    result = doctest.testmod(runlife.simulation)
    assert result.attempted > 0
    assert result.failed == 0
