"""The ``runlife`` command line: ``simulate``, ``diagram``, ``check``, ``store``, ``serve``.

Exit codes, the same for every command (``runlife.cli.shared.EXIT_CODES``, shown by
``runlife --help``): 0 done, 1 findings or a store that cannot be used, 2 usage errors (a bad
option, an unsupported store URL, an unreadable file: in every command, tests/cli/test_exit_codes.py),
130 interrupted.
Each subcommand lives in a module of its own here (``runlife.cli.check``...), whose
``COMMAND`` says what its parser holds and what it runs; ``build_parser`` wires them up.
``runlife.cli.shared`` holds what they share: the ``Command`` record, usage errors, the
checks of int options, and the reporting of a store's errors.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from .shared import EXIT_CODES, Command, HelpFormatter

__all__ = ["build_parser", "commands", "main"]

Handler = Callable[[argparse.Namespace], int]


def commands() -> tuple[Command, ...]:
    """Every subcommand, in the order of ``runlife --help``: each module's ``COMMAND``."""
    # Imported when called, not with this package: `python -m runlife.serve` imports
    # runlife.cli.serve (so this package) and needs no other command's imports.
    from . import check, diagram, serve, simulate, store  # noqa: PLC0415

    return (simulate.COMMAND, diagram.COMMAND, check.COMMAND, store.COMMAND, serve.COMMAND)


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version  # noqa: PLC0415

    try:
        return version("runlife")
    except PackageNotFoundError:  # pragma: no cover - running from a source tree
        return "0+unknown"


def _exit_codes() -> str:
    return "Exit codes (every command):\n" + "\n".join(
        f"  {code:<4} {meaning}" for code, meaning in EXIT_CODES.items()
    )


def build_parser() -> argparse.ArgumentParser:
    """The top-level parser with every subcommand registered."""
    parser = argparse.ArgumentParser(
        prog="runlife",
        description="Drive, check, simulate and draw the lifecycle of Assistants API runs.",
        epilog=_exit_codes(),
        formatter_class=HelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"runlife {_version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for command in commands():
        command_parser = sub.add_parser(
            command.name,
            help=command.help,
            description=command.description,
            epilog=command.epilog,
            formatter_class=HelpFormatter,
            allow_abbrev=command.allow_abbrev,
        )
        command.add_arguments(command_parser)
        command_parser.set_defaults(handler=command.run, command_parser=command_parser)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI with *argv* (``sys.argv[1:]`` by default) and return the exit code."""
    parser = build_parser()
    args, unknown = parser.parse_known_args(argv)
    if unknown:
        # The subcommand's usage line, not the top level's: `runlife check --bogus` shows
        # how `runlife check` is called. argparse exits 2.
        owner: argparse.ArgumentParser = getattr(args, "command_parser", parser)
        owner.error(f"unrecognized arguments: {' '.join(unknown)}")
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
