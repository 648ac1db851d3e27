"""``runlife serve``: an Assistants-compatible runs service over a runlife store.

Runs in the foreground until SIGTERM or SIGINT, with its worker processes. Prints one line,
``runlife serve: listening on http://HOST:PORT/v1``, on standard output once it accepts
requests (``--port 0`` picks a free port). Exit codes: 0 stopped by a signal; 1 the store or
the address cannot be used; 2 usage errors (a bad option or executor, a non-loopback host
without an API key; the ASGI stack missing).
"""

from __future__ import annotations

import argparse
import os
import sys

__all__ = ["register"]

_EPILOG = """\
STORE: sqlite:///relative/runs.db, sqlite:////absolute/runs.db or
postgresql://user@host:port/db (schema created on first use).
EXECUTOR: demo, or package.module:function (see docs/serve.md for the protocol).
Point the official SDK at it: OpenAI(base_url="http://127.0.0.1:PORT/v1", api_key=KEY).
Needs: pip install "runlife[serve]". Exit codes: 0 stopped by a signal, 1 the store or the
address cannot be used, 2 usage error.
"""


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected an int >= 1, got {text}")
    return value


def _non_negative(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected an int >= 0, got {text}")
    return value


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``serve`` subcommand to the ``runlife`` parser."""
    parser = subparsers.add_parser(
        "serve",
        help="serve the Assistants API's runs endpoints over a store, with workers",
        description=(
            "Serve the Assistants API's runs endpoints (/v1/threads/{thread_id}/runs...) over "
            "a runlife store, with worker processes that move runs through an executor."
        ),
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_arguments(parser)
    parser.set_defaults(handler=run)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``runlife serve`` on *parser*."""
    parser.add_argument("--store", required=True, metavar="URL", help="the store's URL")
    parser.add_argument(
        "--port", type=_non_negative, default=8000, help="TCP port (0: any free one; 8000)"
    )
    parser.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to listen on (127.0.0.1; any other needs an API key)",
    )
    parser.add_argument(
        "--workers", type=_non_negative, default=2, metavar="K", help="worker processes (2)"
    )
    parser.add_argument(
        "--executor", default="demo", metavar="SPEC", help="demo or package.module:function"
    )
    parser.add_argument(
        "--api-key",
        default=os.environ.get("RUNLIFE_API_KEY") or None,
        metavar="KEY",
        help="require 'Authorization: Bearer KEY' (default: $RUNLIFE_API_KEY)",
    )
    parser.add_argument(
        "--concurrency",
        type=_positive,
        default=4,
        metavar="N",
        help="executor threads per worker, hence runs held at once per worker (4)",
    )
    parser.add_argument(
        "--lease",
        type=_positive,
        default=30,
        metavar="SECONDS",
        help="a worker that stops heartbeating loses its runs after this (30)",
    )
    parser.add_argument(
        "--ttl", type=_positive, default=600, metavar="SECONDS", help="runs expire after (600)"
    )
    parser.add_argument(
        "--poll-after-ms",
        type=_non_negative,
        default=25,
        metavar="MS",
        help="the openai-poll-after-ms header of retrieve (25)",
    )
    parser.add_argument(
        "--poll-wait-ms",
        type=_non_negative,
        default=250,
        metavar="MS",
        help="how long an SDK poll may wait for the run to stop moving (250; 0: never)",
    )
    parser.add_argument(
        "--max-body-bytes",
        type=_positive,
        default=1 << 20,
        metavar="BYTES",
        help="larger request bodies get 413 (1 MiB)",
    )
    parser.add_argument(
        "--default-model",
        default="runlife-demo",
        metavar="NAME",
        help="the model of runs created without one (runlife-demo)",
    )
    parser.add_argument(
        "--log-level",
        default="warning",
        choices=["critical", "error", "warning", "info", "debug"],
        help="warning",
    )


def run(args: argparse.Namespace) -> int:
    """Serve until a signal; the exit code."""
    try:
        import uvicorn  # noqa: F401, PLC0415

        from .serve import ServeConfig, serve  # noqa: PLC0415
    except ModuleNotFoundError as exc:
        print(
            f'runlife serve: {exc.name} is missing: pip install "runlife[serve]"', file=sys.stderr
        )
        return 2
    from .store import StoreError, StoreURLError  # noqa: PLC0415

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
    )

    def ready(url: str) -> None:
        print(f"runlife serve: listening on {url}", flush=True)

    try:
        return serve(config, ready=ready)
    except StoreURLError as exc:
        print(f"runlife serve: {exc}", file=sys.stderr)
        return 2
    except ValueError as exc:
        print(f"runlife serve: {exc}", file=sys.stderr)
        return 2
    except (StoreError, OSError) as exc:
        print(f"runlife serve: {exc}", file=sys.stderr)
        return 1
