"""``runlife.serve``: its public names, imported on first use."""

from __future__ import annotations

import pytest
from tests.serve.conftest import heavy_imports, run_python

import runlife
import runlife.serve


def test_every_public_name_resolves():
    for name in runlife.serve.__all__:
        assert getattr(runlife.serve, name) is not None
    from runlife.serve import APIError, create_app

    assert APIError.__module__ == "runlife.serve._errors"
    assert create_app.__module__ == "runlife.serve._app"


def test_dir_lists_the_public_names():
    assert set(runlife.serve.__all__) <= set(dir(runlife.serve))
    assert "sse" not in runlife.serve.__all__


def test_an_unknown_name_is_an_attribute_error():
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        _ = runlife.serve.nope


def test_importing_the_package_imports_nothing_heavy():
    assert heavy_imports("import runlife.serve") == []


def test_without_the_extra_the_error_names_it():
    """A name that needs starlette raises ModuleNotFoundError naming it and the extra."""
    done = run_python(
        "try:\n"
        "    from runlife.serve import create_app\n"
        "except ModuleNotFoundError as exc:\n"
        "    print(exc.name.split('.')[0], '|', exc)\n",
        missing=("starlette",),
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == (
        "starlette | runlife.serve.create_app needs starlette, which the serve extra installs: "
        + runlife.install_command("serve")
    )
