"""The public namespace: exactly what __all__ says, nothing heavy imported on the way."""

from __future__ import annotations

import subprocess
import sys

import runlife

SPEC_NAMES = {
    "Run",
    "RunStatus",
    "RunEngine",
    "to_dict",
    "from_dict",
    "to_json",
    "from_json",
    "check",
    "RunlifeError",
    "IllegalTransition",
    "GuardRejected",
    "InvalidRun",
    "ManualClock",
    "SystemClock",
}


def test_all_is_sorted_and_complete() -> None:
    """__all__ has no duplicates (ruff keeps it sorted), every name exists, the spec's are there."""
    assert len(set(runlife.__all__)) == len(runlife.__all__)
    for name in runlife.__all__:
        assert hasattr(runlife, name), name
    assert set(runlife.__all__) >= SPEC_NAMES


def test_public_members_are_exported() -> None:
    """Every public attribute of the package is in __all__ (modules and __version__ aside)."""
    public = {
        n
        for n, v in vars(runlife).items()
        if not n.startswith("_") and not isinstance(v, type(runlife)) and n != "annotations"
    }
    assert public == set(runlife.__all__)


def test_version() -> None:
    """__version__ comes from the installed metadata."""
    assert runlife.__version__.count(".") >= 2


def test_import_is_light() -> None:
    """import runlife does not import hypothesis, openai or a diagram renderer."""
    code = "import sys, runlife; print(sorted(m for m in ('hypothesis', 'openai', 'graphviz', 'psycopg') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_errors_hierarchy() -> None:
    """The errors share one base and the builtin bases the spec names."""
    from transitions import MachineError

    assert issubclass(runlife.IllegalTransition, runlife.RunlifeError)
    assert issubclass(runlife.IllegalTransition, MachineError)
    assert issubclass(runlife.GuardRejected, ValueError)
    assert issubclass(runlife.InvalidRun, ValueError)
    assert issubclass(runlife.RunNotFound, LookupError)


def test_the_json_depth_limit_is_public() -> None:
    """runlife.MAX_JSON_DEPTH is the one depth limit (the service refuses by it too)."""
    assert "MAX_JSON_DEPTH" in runlife.__all__
    assert runlife.MAX_JSON_DEPTH == 100


def test_dir_shows_no_future_import() -> None:
    assert "annotations" not in dir(runlife)
    assert not hasattr(runlife, "annotations")
