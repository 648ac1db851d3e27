"""The ``runlife`` command line: ``diagram``, ``check``, ``simulate``.

Exit codes: 0 ok, 1 findings (``check``) or a failed run, 2 usage errors.
Each subcommand lives in its own ``_cli_*`` module, which registers its parser here.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from importlib import import_module

__all__ = ["main"]

# Every subcommand's module; each has register(subparsers).
_SUBCOMMANDS: tuple[str, ...] = (
    "runlife._cli_simulate",
    "runlife._cli_diagram",
    "runlife._cli_check",
    "runlife._cli_store",
    "runlife._cli_serve",
)

Handler = Callable[[argparse.Namespace], int]


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version  # noqa: PLC0415

    try:
        return version("runlife")
    except PackageNotFoundError:  # pragma: no cover - running from a source tree
        return "0+unknown"


def build_parser() -> argparse.ArgumentParser:
    """The top-level parser with every subcommand registered."""
    parser = argparse.ArgumentParser(
        prog="runlife",
        description="Drive, check, simulate and draw the lifecycle of Assistants API runs.",
    )
    parser.add_argument("--version", action="version", version=f"runlife {_version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in _SUBCOMMANDS:
        import_module(name).register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI with *argv* (``sys.argv[1:]`` by default) and return the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    handler: Handler | None = getattr(args, "handler", None)
    if handler is None:
        parser.print_help(sys.stderr)
        return 2
    try:
        return handler(args)
    except BrokenPipeError:  # pragma: no cover - `runlife ... | head`
        return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
