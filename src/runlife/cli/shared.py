"""What the ``runlife`` commands share: their description, usage errors, int options, store errors."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

import attrs

__all__ = ["Command", "UsageError", "at_least", "count", "error", "int_at_least", "on_store"]


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


def count(text: str, option: str, *, least: int) -> int:
    """*text*, the value of *option*, as an int >= *least*; a ``UsageError`` naming *option*."""
    try:
        return int_at_least(text, least)
    except ValueError as exc:
        raise UsageError(f"{option}: {exc}") from None


def at_least(least: int) -> Callable[[str], int]:
    """An argparse ``type``: an int >= *least* (argparse names the option when it is not)."""

    def parse(text: str) -> int:
        try:
            return int_at_least(text, least)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    return parse


def error(prog: str, message: str) -> None:
    """Write ``PROG: error: MESSAGE`` on standard error."""
    sys.stderr.write(f"{prog}: error: {message}\n")


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
