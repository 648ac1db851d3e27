"""``runlife store``: create, upgrade and inspect a durable run store.

``runlife store init URL`` creates the schema (or upgrades an older one) and says which;
``runlife store upgrade URL`` upgrades an existing store in place and creates nothing;
``runlife store status URL`` prints the schema version (and any upgrade pending), the runs
per status and the quarantined rows, and changes nothing. Exit codes: 0 ok; 1 the store
cannot be used (unreachable, no schema, schema too new, driver missing), with the reason on
standard error; 2 usage errors (bad URL).
"""

from __future__ import annotations

import argparse
import sys

from .shared import Command, on_store

__all__ = ["COMMAND", "add_arguments", "run"]

_EPILOG = """\
URL: sqlite:///relative/runs.db, sqlite:////absolute/runs.db or
postgresql://user@host:port/db (PostgreSQL needs: pip install ".[postgres]").
Exit codes: 0 ok, 1 the store cannot be used, 2 usage error.
"""

#: The actions: name -> (--help line, description).
_ACTIONS: dict[str, tuple[str, str]] = {
    "init": (
        "create the store's schema at URL, or upgrade an older one",
        "Create the store's schema at URL, or upgrade an older one (idempotent).",
    ),
    "upgrade": (
        "upgrade the existing store at URL to this runlife's schema (creates nothing)",
        (
            "Upgrade the existing store at URL to this runlife's schema, in place "
            "(idempotent; creates nothing)."
        ),
    ),
    "status": (
        "print the schema version, any pending upgrade, the runs per status, quarantined rows",
        (
            "Print the store's schema version (and any pending upgrade), its runs per "
            "status, quarantined rows; changes nothing."
        ),
    ),
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The actions of ``runlife store`` on *parser*, each with its URL."""
    actions = parser.add_subparsers(dest="store_action", metavar="ACTION")
    for name, (help_line, description) in _ACTIONS.items():
        action = actions.add_parser(
            name,
            help=help_line,
            description=description,
            epilog=_EPILOG,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        action.add_argument("url", metavar="URL", help="the store's URL")
    # Without an action, `runlife store` prints this parser's help.
    parser.set_defaults(store_usage=parser.print_help)


def run(args: argparse.Namespace) -> int:
    """Do the store action; the exit code."""
    if args.store_action is None:
        args.store_usage(sys.stderr)
        return 2
    act = {"init": _init, "upgrade": _upgrade, "status": _status}[args.store_action]
    return on_store(f"runlife store {args.store_action}", lambda: act(args.url))


def _init(url: str) -> int:
    return _open_and_say(url, create=True)


def _upgrade(url: str) -> int:
    return _open_and_say(url, create=False)


def _open_and_say(url: str, *, create: bool) -> int:
    from runlife.store import open_store  # noqa: PLC0415

    with open_store(url, create=create, upgrade=True) as store:
        action = store.schema_action
        if store.ephemeral:
            action += "; in memory: it vanishes when this command exits"
        print(f"runlife store at {store.url}: schema version {store.schema_version()} ({action})")
    return 0


def _status(url: str) -> int:
    from runlife.store import SchemaTooOld, open_store  # noqa: PLC0415

    try:
        opened = open_store(url, create=False)
    except SchemaTooOld as old:
        print(
            f"runlife store at {url}: schema version {old.found}, upgrade pending to version "
            f"{old.supported}: run `runlife store upgrade {url}`"
        )
        return 0
    with opened as store:
        print(f"runlife store at {store.url}: schema version {store.schema_version()}")
        counts = store.counts()
        for status, n in sorted(counts.items()):
            print(f"  {status}: {n}")
        if not counts:
            print("  no runs")
        for run_id, problem in store.quarantined():
            print(f"  quarantined {run_id}: {problem.splitlines()[0]}")
    return 0


COMMAND = Command(
    name="store",
    help="create, upgrade and inspect a durable run store (SQLite or PostgreSQL)",
    description="Create, upgrade and inspect a durable run store.",
    epilog=_EPILOG,
    add_arguments=add_arguments,
    run=run,
)
