"""What the ``runlife`` commands share: their description, usage errors, int options, store errors."""

from __future__ import annotations

import argparse
import sys
import textwrap
from collections.abc import Callable
from typing import TextIO

import attrs

__all__ = [
    "EXIT_CODES",
    "Command",
    "HelpFormatter",
    "UsageError",
    "at_least",
    "count",
    "error",
    "int_at_least",
    "int_in_range",
    "on_store",
]

#: The exit codes of every ``runlife`` command, declared once (``runlife --help`` shows them).
EXIT_CODES: dict[int, str] = {
    0: "done",
    1: (
        "findings, violations or a failed run; a store or an address (serve: a port in use) "
        "that cannot be used (the command says which)"
    ),
    2: "a usage error: a bad option, store URL, file or argument (nothing was changed)",
    130: "interrupted (simulate)",
}


@attrs.frozen(kw_only=True)
class Command:
    """One subcommand: what its ``--help`` says, its options, and what it does.

    *run* returns the exit code; *allow_abbrev* ``False`` keeps options from being
    abbreviated (so that options added later cannot change what an abbreviation means).
    """

    name: str
    help: str
    description: str
    epilog: str
    add_arguments: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], int]
    allow_abbrev: bool = True


class UsageError(Exception):
    """A problem with what the user gave us: reported on stderr, exit code 2."""


def int_at_least(text: str, least: int) -> int:
    """*text* as an int >= *least*; ``ValueError`` saying what is allowed otherwise."""
    try:
        value = int(text)
    except ValueError:
        value = None
    if value is None or value < least:
        raise ValueError(f"expected an int >= {least}, got {text!r}")
    return value


def int_in_range(text: str, least: int, most: int) -> int:
    """*text* as an int in ``least..most``; ``ValueError`` saying what is allowed otherwise."""
    try:
        value = int(text)
    except ValueError:
        value = None
    if value is None or not least <= value <= most:
        raise ValueError(f"expected an int from {least} to {most}, got {text!r}")
    return value


def count(text: str, option: str, *, least: int) -> int:
    """*text*, the value of *option*, as an int >= *least*; a ``UsageError`` naming *option*."""
    try:
        return int_at_least(text, least)
    except ValueError as exc:
        raise UsageError(f"{option}: {exc}") from None


def at_least(least: int, most: int | None = None) -> Callable[[str], int]:
    """An argparse ``type``: an int >= *least* (and <= *most*), else a message naming the option.

    The check raises ``ArgumentTypeError``, whose message argparse prints after the option's
    name (``argument --port: expected an int from 0 to 65535, got '99999'``), so the
    function's own name never reaches the user.
    """

    def parse(text: str) -> int:
        try:
            return int_at_least(text, least) if most is None else int_in_range(text, least, most)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    return parse


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """The help of every command: one-paragraph descriptions wrapped, epilogs kept as written.

    The default convention: an option's help ends in ``(default: X)`` whenever it has a
    default (``tests/cli/test_help.py`` holds every command to it).
    """

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        if "\n" in text.strip():
            return super()._fill_text(text, width, indent)
        return textwrap.fill(text, width, initial_indent=indent, subsequent_indent=indent)


def error(prog: str, message: str, *, stream: TextIO | None = None) -> None:
    """Write ``PROG: error: MESSAGE`` on *stream* (standard error by default)."""
    (sys.stderr if stream is None else stream).write(f"{prog}: error: {message}\n")


def on_store(
    prog: str,
    body: Callable[[], int],
    *,
    usage: tuple[type[Exception], ...] = (),
    failure: tuple[type[Exception], ...] = (),
) -> int:
    """*body*'s exit code; a store's errors as ``PROG: MESSAGE`` on standard error.

    A bad store URL (and any of *usage*) exits 2; a store that cannot be used (and any of
    *failure*) exits 1.
    """
    from runlife.store import StoreError, StoreURLError  # noqa: PLC0415 - only with a store

    exit_2: tuple[type[Exception], ...] = (StoreURLError, *usage)
    exit_1: tuple[type[Exception], ...] = (StoreError, *failure)
    try:
        return body()
    except exit_2 as exc:
        print(f"{prog}: {exc}", file=sys.stderr)
        return 2
    except exit_1 as exc:
        print(f"{prog}: {exc}", file=sys.stderr)
        return 1
