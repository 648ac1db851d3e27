"""``runlife.EXTRAS``: the extras as pyproject.toml declares them, and the errors naming them.

Each missing-extra case runs in a fresh interpreter where a ``sys.meta_path`` finder, set up
before runlife is imported, makes the extra's module unimportable (``ModuleNotFoundError``,
as when it is not installed).
"""

from __future__ import annotations

import importlib.metadata
import re
import subprocess
import sys
import textwrap
import tomllib
from pathlib import Path

import pytest

import runlife
from runlife import EXTRAS, install_command, missing_extra

PYPROJECT = Path(__file__).parents[1] / "pyproject.toml"


def _name(requirement: str) -> str:
    """A requirement's distribution name, normalised (``psycopg[binary]>=3.1`` -> ``psycopg``)."""
    found = re.match(r"[A-Za-z0-9._-]+", requirement)
    assert found, requirement
    return re.sub(r"[-_.]+", "-", found.group()).lower()


def test_the_table_is_pyproject_extras():
    """Every user extra of pyproject.toml, with exactly its packages (dev is the project's)."""
    declared = tomllib.loads(PYPROJECT.read_text())["project"]["optional-dependencies"]
    users = {name: deps for name, deps in declared.items() if name != "dev"}
    assert set(EXTRAS) == set(users)
    for name, deps in users.items():
        assert sorted(_name(d) for d in deps) == sorted(EXTRAS[name].packages), name


def test_every_module_comes_with_its_extra():
    """Each module named is installed by one of the extra's packages or their dependencies."""
    owners = importlib.metadata.packages_distributions()
    for extra in EXTRAS.values():
        brought = {_name(p) for p in extra.packages}
        for package in extra.packages:
            brought |= {_name(r) for r in importlib.metadata.requires(package) or ()}
        for module in extra.modules:
            assert {_name(d) for d in owners[module]} & brought, (extra.name, module)


def test_install_command_works_from_a_checkout_and_once_published():
    assert install_command("serve") == (
        'pip install ".[serve]" from a checkout of runlife, '
        'or pip install "runlife[serve]" once it is on a package index'
    )
    with pytest.raises(ValueError, match=r"^unknown extra 'nope'; extras: serve, postgres, "):
        install_command("nope")


def test_missing_extra_names_only_the_extras_modules():
    found = missing_extra(ModuleNotFoundError("x", name="anyio._backends"), needed_by="me")
    assert found is not None
    assert found.name == "anyio._backends"
    assert (
        str(found) == f"me needs anyio, which the serve extra installs: {install_command('serve')}"
    )
    assert missing_extra(ModuleNotFoundError("x", name="yaml"), needed_by="me") is None
    assert missing_extra(ModuleNotFoundError("x"), needed_by="me") is None


_HIDE = """\
import sys

class Hide:
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] == {module!r}:
            raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)
        return None

sys.meta_path.insert(0, Hide())
"""


def without(module: str, code: str, *args: str) -> subprocess.CompletedProcess[str]:
    """*code* run in a fresh interpreter where *module* cannot be imported."""
    source = _HIDE.format(module=module) + textwrap.dedent(code)
    return subprocess.run(
        [sys.executable, "-c", source, *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )


def _last_line(done: subprocess.CompletedProcess[str]) -> str:
    return done.stderr.strip().splitlines()[-1]


@pytest.mark.parametrize("module", ["starlette", "anyio"])
def test_serve_names_its_extra(module):
    """A serve-extra module missing: runlife.serve's names say which, and what to install.

    (uvicorn is imported by ``serve()`` alone: the command's case is below.)
    """
    done = without(module, "import runlife.serve\nfrom runlife.serve import create_app")
    assert done.returncode == 1
    assert _last_line(done) == (
        f"ModuleNotFoundError: runlife.serve.create_app needs {module}, which the serve extra "
        f"installs: {install_command('serve')}"
    ), done.stderr


def test_runlife_serve_command_names_its_extra():
    """`runlife serve` without uvicorn: exit 2 and the install command."""
    done = without(
        "uvicorn",
        "import sys\nfrom runlife.cli import main\nsys.exit(main(sys.argv[1:]))",
        "serve",
        "--store",
        "sqlite:///:memory:",
    )
    assert done.returncode == 2
    assert done.stderr == f"runlife serve: uvicorn is missing: {install_command('serve')}\n"


def test_postgres_names_its_extra():
    """A PostgreSQL URL without psycopg: a StoreError naming the extra."""
    done = without(
        "psycopg",
        "from runlife.store import open_store\nopen_store('postgresql://u@127.0.0.1:1/db')",
    )
    assert done.returncode == 1
    assert _last_line(done) == (
        "runlife.store._errors.StoreError: the PostgreSQL store needs psycopg, which the postgres "
        f"extra installs: {install_command('postgres')}"
    ), done.stderr


def test_store_command_without_psycopg_exits_1():
    """`runlife store init postgresql://...` without psycopg: exit 1 (the store cannot be used)."""
    done = without(
        "psycopg",
        "import sys\nfrom runlife.cli import main\nsys.exit(main(sys.argv[1:]))",
        "store",
        "init",
        "postgresql://u@127.0.0.1:1/db",
    )
    assert done.returncode == 1
    assert install_command("postgres") in done.stderr


def test_testing_names_its_extra():
    done = without("hypothesis", "import runlife.testing")
    assert done.returncode == 1
    assert _last_line(done) == (
        "ModuleNotFoundError: runlife.testing needs hypothesis, which the testing extra "
        f"installs: {install_command('testing')}"
    )


def test_the_core_needs_no_extra():
    """`import runlife` and a simulation run with every extra's modules missing."""
    modules = [m for e in EXTRAS.values() for m in e.modules]
    hide = "".join(_HIDE.format(module=m).split("\n", 1)[1] for m in modules)
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys\n" + hide + "import runlife.simulation as s\n"
            "print(s.simulate(runs=10, seed=1).stats.runs)",
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert (done.returncode, done.stdout) == (0, "10\n"), done.stderr
    assert runlife.EXTRAS is EXTRAS
