"""``runlife.cli``: the commands in order, the entry points, and light imports."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

import runlife.cli
from runlife.cli import commands, main
from runlife.cli.shared import Command

ROOT = Path(__file__).parents[2]
ORDER = ["simulate", "diagram", "check", "store", "serve"]


def test_all_names_what_the_package_holds() -> None:
    """__all__ is sorted and every name exists."""
    names = runlife.cli.__all__
    assert names == sorted(names)
    for name in names:
        assert hasattr(runlife.cli, name), name


def test_every_command_module_is_registered() -> None:
    """Each module of the package but shared is a command, named after it, in commands()."""
    modules = {p.stem for p in Path(runlife.cli.__file__).parent.glob("*.py")} - {
        "__init__",
        "shared",
    }
    assert [c.name for c in commands()] == ORDER
    assert set(ORDER) == modules


def test_help_lists_the_commands_in_order(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    listed = [
        line.split()[0] for line in out.splitlines() if line[:4] == "    " and line[4:5].isalpha()
    ]
    assert listed == ORDER
    for command in commands():
        assert command.help in " ".join(out.split())


@pytest.mark.parametrize("command", commands(), ids=lambda c: c.name)
def test_each_command_has_its_description_and_epilog(
    command: Command, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as info:
        main([command.name, "--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith(f"usage: runlife {command.name} ")
    assert " ".join(command.description.split()) in " ".join(out.split())
    assert out.endswith(command.epilog if command.epilog.endswith("\n") else command.epilog + "\n")


def test_no_command_prints_the_help_and_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith("usage: runlife ")


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0
    assert capsys.readouterr().out.startswith("runlife ")


def test_console_script_is_main() -> None:
    """The `runlife` script and `python -m runlife` both run runlife.cli:main."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert project["scripts"] == {"runlife": "runlife.cli:main"}
    out = subprocess.run(
        [sys.executable, "-m", "runlife", "--help"], capture_output=True, text=True, check=True
    )
    assert out.stdout.startswith("usage: runlife ")


@pytest.mark.parametrize(
    ("module", "heavy"),
    [
        (
            "runlife.cli",
            ("runlife.simulation", "runlife.store", "runlife.serve", "runlife.diagrams"),
        ),
        ("runlife.cli.serve", ("runlife.simulation", "runlife.store", "runlife.diagrams")),
    ],
)
def test_import_is_light(module: str, heavy: tuple[str, ...]) -> None:
    """Importing the CLI (or one command) loads no other command's dependencies."""
    code = f"import sys, {module}; print(sorted(m for m in {heavy!r} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
