"""Every command's ``--help``: one default convention, and usage errors show the command's usage."""

from __future__ import annotations

import argparse

import pytest

from runlife.cli import build_parser, commands, main
from runlife.cli.shared import EXIT_CODES


def _parsers() -> list[argparse.ArgumentParser]:
    """The top-level parser, every subcommand's, and their own subcommands'."""
    found: list[argparse.ArgumentParser] = []
    todo = [build_parser()]
    while todo:
        parser = todo.pop()
        found.append(parser)
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                todo.extend(action.choices.values())
    return found


@pytest.mark.parametrize("parser", _parsers(), ids=lambda p: p.prog)
def test_every_default_is_shown_one_way(parser: argparse.ArgumentParser) -> None:
    for action in parser._actions:
        if action.help in (None, argparse.SUPPRESS) or action.required:
            continue
        shown = action.default not in (None, False, argparse.SUPPRESS)
        text = str(action.help)
        if shown:
            assert text.endswith(f"(default: {action.default})") or (
                text.rpartition("(default: ")[2].startswith(f"{action.default}")
            ), f"{parser.prog} {action.option_strings}: {text!r} does not end in (default: ...)"
        # A default described rather than given (from a suffix, $ENV, a terminal) is shown
        # the same way: once, at the end.
        assert text.count("(default: ") <= 1, text
        if "(default: " in text:
            assert text.endswith(")"), text


@pytest.mark.parametrize("name", [c.name for c in commands()])
def test_every_help_runs_and_wraps(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main([name, "--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith(f"usage: runlife {name}")
    description = next(c.description for c in commands() if c.name == name)
    if "\n" not in description.strip():
        assert description.split()[0] in out
        head = out.split("\n\n")[1]  # the description paragraph, wrapped to the terminal
        assert all(len(line) <= 80 for line in head.splitlines()), head


_REQUIRED = {"check": ["x.json"], "serve": ["--store", "sqlite:///x.db"]}


@pytest.mark.parametrize("name", ["simulate", "check", "diagram", "serve"])
def test_an_unknown_option_shows_the_commands_usage(
    name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as info:
        main([name, *_REQUIRED.get(name, []), "--bogus"])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith(f"usage: runlife {name} ")
    assert f"runlife {name}: error: unrecognized arguments: --bogus" in err


def test_the_top_level_help_lists_every_exit_code(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    for code, meaning in EXIT_CODES.items():
        assert f"  {code:<4} {meaning}" in out
