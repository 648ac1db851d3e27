"""``runlife serve``: an Assistants-compatible runs service over a runlife store.

Runs in the foreground until SIGTERM or SIGINT, with its worker processes. Prints one line,
``runlife serve: listening on http://HOST:PORT/v1``, on standard output once it accepts
requests (``--port 0`` picks a free port). Exit codes: 0 stopped by a signal; 1 the store or
the address cannot be used (the message names the address); 2 usage errors (a bad option or
executor, a non-loopback host without an API key; the ASGI stack missing).
"""

from __future__ import annotations

import argparse
import math
import os
import sys
from collections.abc import Callable
from typing import Any

import attrs

from runlife import install_command

from .shared import Command, at_least, on_store

__all__ = ["COMMAND", "OPTIONS", "Option", "add_arguments", "run"]

_EPILOG = """\
STORE: sqlite:///relative/runs.db, sqlite:////absolute/runs.db or
postgresql://user@host:port/db (schema created on first use).
EXECUTOR: demo, or package.module:function (see docs/serve.md for the protocol),
imported from --app-dir (the working directory by default), then from sys.path.
Point the official SDK at it: OpenAI(base_url="http://127.0.0.1:PORT/v1", api_key=KEY).
Needs the serve extra: pip install ".[serve]" from a checkout (pip install "runlife[serve]"
once published). Exit codes: 0 stopped by a signal, 1 the store or the address cannot be
used (a port in use: "cannot listen on HOST:PORT: Address already in use"), 2 usage error.
Slow clients: --header-timeout, --body-timeout, --max-connections (docs/serve.md,
"Connections, limits and timeouts").

No --workers 0: to run the workers elsewhere, mount runlife.serve.create_app in your own
ASGI server and run runlife.serve.Worker in other processes (docs/serve.md, "Mounting the
app in your own server").
"""

#: What ``serve --help`` and the missing-extra message tell a user to install.
INSTALL = install_command("serve")


def positive_seconds(text: str) -> float:
    """An argparse ``type``: a number of seconds > 0 (``0.5``, ``10``)."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"expected a number of seconds > 0, got {text!r}")
    return value


@attrs.frozen(kw_only=True)
class Option:
    """One option of ``runlife serve``: its flag, default and help, declared once.

    Its value becomes the ``ServeConfig`` field of the same name (``--poll-wait-ms`` is
    ``poll_wait_ms``); its help ends in ``(default: X)``, X being *shown* or the default.
    The defaults are ServeConfig's own (this module imports no part of the serve extra, so
    it cannot read them; tests/serve/test_cli_edges.py holds them equal).
    """

    flag: str
    default: object
    help: str
    metavar: str | None = None
    type: Callable[[str], object] | None = None
    choices: tuple[str, ...] | None = None
    #: The environment variable that gives the default, when set.
    env: str | None = None
    shown: str | None = None

    @property
    def field(self) -> str:
        """The ``ServeConfig`` field: the flag in snake case."""
        return self.flag.removeprefix("--").replace("-", "_")


#: The options of ``runlife serve`` (besides ``--store``), in the order of ``--help``.
OPTIONS = (
    Option(
        flag="--port",
        default=8000,
        type=at_least(0, 65535),
        metavar="PORT",
        help="TCP port, 0 for any free one",
    ),
    Option(
        flag="--host",
        default="127.0.0.1",
        help="address to listen on; any other than loopback needs an API key",
    ),
    Option(
        flag="--workers",
        default=2,
        type=at_least(0),
        metavar="K",
        help="worker processes, at least 1",
    ),
    Option(
        flag="--executor",
        default="demo",
        metavar="SPEC",
        help="demo or package.module:function",
    ),
    Option(
        flag="--app-dir",
        default=".",
        metavar="DIR",
        help=(
            "import the executor's module from DIR first, as uvicorn's --app-dir does "
            "(so --executor mymod:fn finds ./mymod.py without PYTHONPATH)"
        ),
    ),
    Option(
        flag="--api-key",
        default=None,
        env="RUNLIFE_API_KEY",
        shown="$RUNLIFE_API_KEY",
        metavar="KEY",
        help="require 'Authorization: Bearer KEY'",
    ),
    Option(
        flag="--concurrency",
        default=4,
        type=at_least(1),
        metavar="N",
        help="executor threads per worker, hence runs held at once per worker",
    ),
    Option(
        flag="--lease",
        default=30,
        type=at_least(1),
        metavar="SECONDS",
        help="a worker that stops heartbeating loses its runs after this",
    ),
    Option(
        flag="--ttl", default=600, type=at_least(1), metavar="SECONDS", help="runs expire after"
    ),
    Option(
        flag="--poll-after-ms",
        default=25,
        type=at_least(0),
        metavar="MS",
        help="the openai-poll-after-ms header of retrieve",
    ),
    Option(
        flag="--poll-wait-ms",
        default=250,
        type=at_least(0),
        metavar="MS",
        help="how long an SDK poll may wait for the run to stop moving, 0: never",
    ),
    Option(
        flag="--max-body-bytes",
        default=1 << 20,
        shown="1048576, 1 MiB",
        type=at_least(1),
        metavar="BYTES",
        help="larger request bodies get 413",
    ),
    Option(
        flag="--header-timeout",
        default=10.0,
        type=positive_seconds,
        metavar="SECONDS",
        help=(
            "a connection that has not sent a request's complete headers this long after "
            "opening (or after the previous answer) is closed"
        ),
    ),
    Option(
        flag="--body-timeout",
        default=30.0,
        type=positive_seconds,
        metavar="SECONDS",
        help="a request whose body is not complete this long after its headers gets 408 "
        "and is closed",
    ),
    Option(
        flag="--max-connections",
        default=500,
        type=at_least(1),
        metavar="N",
        help="connections held open at once; a connection beyond them is answered 503 and closed",
    ),
    Option(
        flag="--default-model",
        default="runlife-demo",
        metavar="NAME",
        help="the model of runs created without one",
    ),
    Option(
        flag="--log-level",
        default="warning",
        choices=("critical", "error", "warning", "info", "debug"),
        help="the server's and workers' log level",
    ),
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``runlife serve`` on *parser*: ``--store`` and ``OPTIONS``."""
    parser.add_argument("--store", required=True, metavar="URL", help="the store's URL")
    for option in OPTIONS:
        default = (os.environ.get(option.env) or None) if option.env else option.default
        extra: dict[str, Any] = {"metavar": option.metavar} if option.metavar else {}
        if option.type is not None:
            extra["type"] = option.type
        if option.choices is not None:
            extra["choices"] = option.choices
        shown = option.shown if option.shown is not None else option.default
        parser.add_argument(
            option.flag, default=default, help=f"{option.help} (default: {shown})", **extra
        )


def run(args: argparse.Namespace) -> int:
    """Serve until a signal; the exit code."""
    if args.workers == 0:
        # Nothing would ever move a run: every one would sit queued until it expired.
        print(
            "runlife serve: error: argument --workers: 0 workers would leave every run queued; "
            "give --workers 1 or more, or, to run the workers elsewhere, mount "
            "runlife.serve.create_app in your own ASGI server and run runlife.serve.Worker "
            "in other processes (docs/serve.md)",
            file=sys.stderr,
        )
        return 2
    try:
        import uvicorn  # noqa: F401, PLC0415

        from runlife.serve import ServeConfig, serve  # noqa: PLC0415
    except ModuleNotFoundError as exc:
        print(f"runlife serve: {exc.name} is missing: {INSTALL}", file=sys.stderr)
        return 2
    config = ServeConfig(
        store=args.store, **{option.field: getattr(args, option.field) for option in OPTIONS}
    )

    def ready(url: str) -> None:
        print(f"runlife serve: listening on {url}", flush=True)

    return on_store(
        "runlife serve",
        lambda: serve(config, ready=ready),
        usage=(ValueError,),
        failure=(OSError,),
    )


COMMAND = Command(
    name="serve",
    help="serve the Assistants API's runs endpoints over a store, with workers",
    description=(
        "Serve the Assistants API's runs endpoints (/v1/threads/{thread_id}/runs...) over "
        "a runlife store, with worker processes that move runs through an executor."
    ),
    epilog=_EPILOG,
    add_arguments=add_arguments,
    run=run,
)
