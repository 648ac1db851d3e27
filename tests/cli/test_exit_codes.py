"""Exit codes are the same for every command (``runlife.cli.shared.EXIT_CODES``).

Every subcommand given a bad store URL, a bad option or a missing argument exits 2, a usage
error, and changes nothing; the codes any command returns are the declared ones.
"""

from __future__ import annotations

import pytest

from runlife.cli import commands, main
from runlife.cli.shared import EXIT_CODES

BAD_URL = "bogus://x"


def exit_code(argv: list[str]) -> int:
    """*argv*'s exit code, from main's return or argparse's SystemExit."""
    try:
        return main(argv)
    except SystemExit as exc:
        assert isinstance(exc.code, int)
        return exc.code


@pytest.mark.parametrize(
    "argv",
    [
        ["simulate", "--store", BAD_URL],
        ["store", "init", BAD_URL],
        ["store", "status", BAD_URL],
        ["serve", "--store", BAD_URL, "--port", "0"],
    ],
    ids=" ".join,
)
def test_a_bad_store_url_is_a_usage_error(argv, capsys):
    assert exit_code(argv) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert "unsupported store URL scheme 'bogus' in 'bogus://x'" in err


BAD_ARGUMENTS = [
    ["simulate", "--bogus"],
    ["simulate", "--runs", "0"],
    ["simulate", "--workers", "2"],
    ["simulate", "--store", "sqlite:///x.db", "--workers", "0"],
    ["diagram", "--bogus"],
    ["diagram", "--format", "nope"],
    ["check", "--bogus", "x.json"],
    ["check"],
    ["check", "missing.json"],
    ["store", "--bogus"],
    ["store", "nope"],
    ["store"],
    ["store", "init"],
    ["serve", "--store", "sqlite:///x.db", "--bogus"],
    ["serve", "--store", "sqlite:///x.db", "--port", "99999"],
    ["serve", "--store", "sqlite:///x.db", "--workers", "0"],
    ["serve"],
    ["--bogus"],
    [],
]


@pytest.mark.parametrize("argv", BAD_ARGUMENTS, ids=lambda a: " ".join(a) or "(nothing)")
def test_a_bad_option_or_argument_is_a_usage_error(argv, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert exit_code(argv) == 2
    assert capsys.readouterr().err != ""
    assert list(tmp_path.iterdir()) == []  # nothing created


def test_every_command_is_covered():
    """Each subcommand has a bad-option case above, and the command-less line too."""
    assert {a[0] for a in BAD_ARGUMENTS if a} >= {c.name for c in commands()}


def test_the_codes_are_the_declared_ones():
    assert set(EXIT_CODES) == {0, 1, 2, 130}
    assert EXIT_CODES[2].startswith("a usage error")
