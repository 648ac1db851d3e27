"""``runlife store``: create, upgrade and inspect a durable run store.

``runlife store init URL`` creates the schema (or upgrades an older one) and says which;
``runlife store status URL`` prints the schema version, the runs per status and the
quarantined rows. Exit codes: 0 ok; 1 the store cannot be used (unreachable, schema too
new, driver missing), with the reason on standard error; 2 usage errors (bad URL).
"""

from __future__ import annotations

import argparse
import sys

__all__ = ["register"]

_EPILOG = """\
URL: sqlite:///relative/runs.db, sqlite:////absolute/runs.db or
postgresql://user@host:port/db (PostgreSQL needs: pip install "runlife[postgres]").
Exit codes: 0 ok, 1 the store cannot be used, 2 usage error.
"""


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``store`` subcommand to the ``runlife`` parser."""
    parser = subparsers.add_parser(
        "store",
        help="create, upgrade and inspect a durable run store (SQLite or PostgreSQL)",
        description="Create, upgrade and inspect a durable run store.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    actions = parser.add_subparsers(dest="store_action", metavar="ACTION")
    init = actions.add_parser(
        "init",
        help="create the store's schema at URL, or upgrade an older one",
        description="Create the store's schema at URL, or upgrade an older one (idempotent).",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    init.add_argument("url", metavar="URL", help="the store's URL")
    init.set_defaults(handler=_init)
    status = actions.add_parser(
        "status",
        help="print the schema version, the runs per status and quarantined rows",
        description="Print the store's schema version, its runs per status, quarantined rows.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    status.add_argument("url", metavar="URL", help="the store's URL")
    status.set_defaults(handler=_status)

    def usage(_: argparse.Namespace) -> int:
        parser.print_help(sys.stderr)
        return 2

    parser.set_defaults(handler=usage)


def _init(args: argparse.Namespace) -> int:
    from .store import StoreError, StoreURLError, open_store  # noqa: PLC0415

    try:
        with open_store(args.url) as store:
            print(
                f"runlife store at {store.url}: schema version {store.schema_version()} "
                f"({store.schema_action})"
            )
    except StoreURLError as exc:
        print(f"runlife store init: {exc}", file=sys.stderr)
        return 2
    except StoreError as exc:
        print(f"runlife store init: {exc}", file=sys.stderr)
        return 1
    return 0


def _status(args: argparse.Namespace) -> int:
    from .store import StoreError, StoreURLError, open_store  # noqa: PLC0415

    try:
        with open_store(args.url, create=False) as store:
            print(f"runlife store at {store.url}: schema version {store.schema_version()}")
            counts = store.counts()
            for status, n in sorted(counts.items()):
                print(f"  {status}: {n}")
            if not counts:
                print("  no runs")
            for run_id, problem in store.quarantined():
                print(f"  quarantined {run_id}: {problem.splitlines()[0]}")
    except StoreURLError as exc:
        print(f"runlife store status: {exc}", file=sys.stderr)
        return 2
    except StoreError as exc:
        print(f"runlife store status: {exc}", file=sys.stderr)
        return 1
    return 0
