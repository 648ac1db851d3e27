"""``runlife.cli.shared``: int options, usage errors and a store's errors, for every command."""

from __future__ import annotations

import argparse

import pytest

from runlife.cli.shared import UsageError, at_least, count, error, int_at_least, on_store
from runlife.store import StoreError, StoreURLError


@pytest.mark.parametrize(("text", "least", "value"), [("0", 0, 0), ("7", 1, 7), (" 3 ", 3, 3)])
def test_int_at_least(text: str, least: int, value: int) -> None:
    assert int_at_least(text, least) == value


@pytest.mark.parametrize(("text", "least"), [("0", 1), ("-1", 0), ("many", 0), ("1.5", 0), ("", 1)])
def test_int_at_least_says_what_is_allowed(text: str, least: int) -> None:
    with pytest.raises(ValueError, match=rf"^expected an int >= {least}, got '{text}'$"):
        int_at_least(text, least)


def test_count_names_the_option() -> None:
    assert count("2", "--runs", least=1) == 2
    with pytest.raises(UsageError, match=r"^--runs: expected an int >= 1, got '0'$"):
        count("0", "--runs", least=1)


def test_at_least_is_an_argparse_type(capsys: pytest.CaptureFixture[str]) -> None:
    parser = argparse.ArgumentParser(prog="runlife x")
    parser.add_argument("--port", type=at_least(0), default=8000)
    assert parser.parse_args([]).port == 8000
    assert parser.parse_args(["--port", "0"]).port == 0
    with pytest.raises(SystemExit) as info:
        parser.parse_args(["--port", "http"])
    assert info.value.code == 2
    assert capsys.readouterr().err.endswith(
        "runlife x: error: argument --port: expected an int >= 0, got 'http'\n"
    )


def test_error(capsys: pytest.CaptureFixture[str]) -> None:
    error("runlife x", "what was wrong")
    assert capsys.readouterr() == ("", "runlife x: error: what was wrong\n")


def _raises(exc: Exception) -> int:
    raise exc


@pytest.mark.parametrize(
    ("exc", "code", "options"),
    [
        (StoreURLError("unsupported store URL scheme 'mysql'"), 2, {}),
        (StoreError("no runlife schema in x.db"), 1, {}),
        (ValueError("bad executor"), 2, {"usage": (ValueError,)}),
        (OSError("address in use"), 1, {"failure": (OSError,)}),
    ],
)
def test_on_store(
    exc: Exception,
    code: int,
    options: dict[str, tuple[type[Exception], ...]],
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A bad URL (and *usage*) exits 2, an unusable store (and *failure*) 1, one line each."""
    assert on_store("runlife x", lambda: _raises(exc), **options) == code
    assert capsys.readouterr() == ("", f"runlife x: {exc}\n")


def test_on_store_passes_the_exit_code_and_other_errors() -> None:
    assert on_store("runlife x", lambda: 0) == 0
    with pytest.raises(KeyError):
        on_store("runlife x", lambda: _raises(KeyError("not a store error")))
