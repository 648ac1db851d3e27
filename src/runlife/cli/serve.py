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

from .shared import Command, at_least, on_store

# The defaults of the options below are ServeConfig's (this module imports no part of the
# serve extra, so it cannot read them; tests/serve/test_cli_edges.py holds them equal).
DEFAULT_HEADER_TIMEOUT = 10.0
DEFAULT_BODY_TIMEOUT = 30.0
DEFAULT_MAX_CONNECTIONS = 500

__all__ = ["COMMAND", "add_arguments", "run"]

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
INSTALL = 'pip install ".[serve]" from a checkout, or pip install "runlife[serve]"'


def positive_seconds(text: str) -> float:
    """An argparse ``type``: a number of seconds > 0 (``0.5``, ``10``)."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"expected a number of seconds > 0, got {text!r}")
    return value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``runlife serve`` on *parser*."""
    parser.add_argument("--store", required=True, metavar="URL", help="the store's URL")
    parser.add_argument(
        "--port",
        type=at_least(0, 65535),
        default=8000,
        metavar="PORT",
        help="TCP port, 0 for any free one (default: 8000)",
    )
    parser.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to listen on; any other than loopback needs an API key (default: 127.0.0.1)",
    )
    parser.add_argument(
        "--workers",
        type=at_least(0),
        default=2,
        metavar="K",
        help="worker processes, at least 1 (default: 2)",
    )
    parser.add_argument(
        "--executor",
        default="demo",
        metavar="SPEC",
        help="demo or package.module:function (default: demo)",
    )
    parser.add_argument(
        "--app-dir",
        default=".",
        metavar="DIR",
        help=(
            "import the executor's module from DIR first, as uvicorn's --app-dir does "
            "(so --executor mymod:fn finds ./mymod.py without PYTHONPATH) (default: .)"
        ),
    )
    parser.add_argument(
        "--api-key",
        default=os.environ.get("RUNLIFE_API_KEY") or None,
        metavar="KEY",
        help="require 'Authorization: Bearer KEY' (default: $RUNLIFE_API_KEY)",
    )
    parser.add_argument(
        "--concurrency",
        type=at_least(1),
        default=4,
        metavar="N",
        help="executor threads per worker, hence runs held at once per worker (default: 4)",
    )
    parser.add_argument(
        "--lease",
        type=at_least(1),
        default=30,
        metavar="SECONDS",
        help="a worker that stops heartbeating loses its runs after this (default: 30)",
    )
    parser.add_argument(
        "--ttl",
        type=at_least(1),
        default=600,
        metavar="SECONDS",
        help="runs expire after (default: 600)",
    )
    parser.add_argument(
        "--poll-after-ms",
        type=at_least(0),
        default=25,
        metavar="MS",
        help="the openai-poll-after-ms header of retrieve (default: 25)",
    )
    parser.add_argument(
        "--poll-wait-ms",
        type=at_least(0),
        default=250,
        metavar="MS",
        help="how long an SDK poll may wait for the run to stop moving, 0: never (default: 250)",
    )
    parser.add_argument(
        "--max-body-bytes",
        type=at_least(1),
        default=1 << 20,
        metavar="BYTES",
        help="larger request bodies get 413 (default: 1048576, 1 MiB)",
    )
    parser.add_argument(
        "--header-timeout",
        type=positive_seconds,
        default=DEFAULT_HEADER_TIMEOUT,
        metavar="SECONDS",
        help=(
            "a connection that has not sent a request's complete headers this long after "
            f"opening (or after the previous answer) is closed (default: {DEFAULT_HEADER_TIMEOUT})"
        ),
    )
    parser.add_argument(
        "--body-timeout",
        type=positive_seconds,
        default=DEFAULT_BODY_TIMEOUT,
        metavar="SECONDS",
        help=(
            "a request whose body is not complete this long after its headers gets 408 "
            f"and is closed (default: {DEFAULT_BODY_TIMEOUT})"
        ),
    )
    parser.add_argument(
        "--max-connections",
        type=at_least(1),
        default=DEFAULT_MAX_CONNECTIONS,
        metavar="N",
        help=(
            "connections held open at once; a connection beyond them is answered 503 and "
            f"closed (default: {DEFAULT_MAX_CONNECTIONS})"
        ),
    )
    parser.add_argument(
        "--default-model",
        default="runlife-demo",
        metavar="NAME",
        help="the model of runs created without one (default: runlife-demo)",
    )
    parser.add_argument(
        "--log-level",
        default="warning",
        choices=["critical", "error", "warning", "info", "debug"],
        help="the server's and workers' log level (default: warning)",
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
        store=args.store,
        port=args.port,
        host=args.host,
        workers=args.workers,
        executor=args.executor,
        api_key=args.api_key,
        concurrency=args.concurrency,
        lease=args.lease,
        ttl=args.ttl,
        poll_after_ms=args.poll_after_ms,
        poll_wait_ms=args.poll_wait_ms,
        max_body_bytes=args.max_body_bytes,
        default_model=args.default_model,
        log_level=args.log_level,
        header_timeout=args.header_timeout,
        body_timeout=args.body_timeout,
        max_connections=args.max_connections,
        app_dir=args.app_dir,
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
