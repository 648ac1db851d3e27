"""The public namespace of runlife.store, and what importing it costs."""

from __future__ import annotations

import subprocess
import sys

import runlife.store


def test_all_is_complete() -> None:
    """__all__ names every public member, and each exists."""
    public = {
        n
        for n, v in vars(runlife.store).items()
        if not n.startswith("_") and not isinstance(v, type(runlife)) and n != "annotations"
    }
    assert public == set(runlife.store.__all__)
    assert runlife.store.__all__ == sorted(
        runlife.store.__all__, key=lambda n: (not n.isupper(), n)
    )


def test_imports_stay_light() -> None:
    """`import runlife` loads no store; `import runlife.store` loads no database driver."""
    code = (
        "import sys, runlife; assert 'runlife.store' not in sys.modules; "
        "import runlife.store; "
        "assert 'psycopg' not in sys.modules and 'sqlite3' not in sys.modules, sorted(sys.modules)"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
