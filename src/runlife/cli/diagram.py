"""``runlife diagram``: draw the lifecycle, or one run's path through it, or a run step's lifecycle.

Text formats (``mermaid``, ``dot``) and ``svg`` go to standard output unless ``--output`` is
given; ``png`` is binary, so it goes to standard output only when that is not a terminal.
Exit codes: 0 written; 1 the picture could not be rendered (renderer not installed or
failed); 2 usage errors (bad option, unreadable or malformed ``--run`` file, unwritable
``--output``), with a message on standard error that names the file and what was wrong.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any, Literal, cast

from runlife import STEP_TABLE, TABLE, InvalidRun, RunlifeError, diagrams

from .shared import Command, UsageError, error

__all__ = ["COMMAND", "add_arguments", "run"]

_PROG = "runlife diagram"

#: The format an ``--output`` file's suffix names, used when ``--format`` is not given.
_SUFFIXES: dict[str, str] = {
    ".mmd": "mermaid",
    ".mermaid": "mermaid",
    ".dot": "dot",
    ".gv": "dot",
    ".svg": "svg",
    ".png": "png",
}

_EPILOG = """\
Without --format, the format is the one --output's suffix names (.mmd, .mermaid, .dot, .gv,
.svg, .png), else mermaid. mermaid, dot and svg are written to standard output unless --output
is given; png only when standard output is not a terminal.

--run FILE (or - for standard input) holds a run's wire JSON, or
{"run": {...}, "history": [{"trigger": ..., "source": ..., "dest": ...}, ...]}: the diagram
then shows the run's status and the path its history took.

--steps draws a run step's lifecycle instead (runlife.STEP_TABLE): a step opens in_progress
and ends completed, failed, cancelled or expired, each arrow naming the run's moves that make
it (runlife.COUPLING). It takes no --run and no --guards.

svg and png need the renderer: pip install ".[diagrams]" (or --engine graphviz to use
the system's Graphviz dot). Exit codes: 0 ok, 1 could not render, 2 usage error.
"""

#: How an error message names the type of a JSON value (what ``json.loads`` gives).
_JSON_TYPES: dict[type, str] = {
    dict: "an object",
    list: "an array",
    str: "a str",
    int: "a number",
    float: "a number",
    bool: "a boolean",
    type(None): "null",
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``runlife diagram`` on *parser*."""
    parser.add_argument(
        "--format",
        choices=diagrams.FORMATS,
        default=None,
        help="output format (default: from --output's suffix, else mermaid)",
    )
    parser.add_argument(
        "--output",
        "-o",
        metavar="PATH",
        default=None,
        help="write to PATH instead of standard output",
    )
    parser.add_argument(
        "--run",
        metavar="FILE",
        default=None,
        help="highlight this run's status and path (JSON file, - for standard input)",
    )
    parser.add_argument(
        "--guards",
        action="store_true",
        help="label edges with the triggers' guards too",
    )
    parser.add_argument(
        "--steps",
        action="store_true",
        help="draw a run step's lifecycle (runlife.STEP_TABLE) instead of the run's",
    )
    parser.add_argument(
        "--engine",
        choices=diagrams.ENGINES,
        default="graphviz-pure",
        help="program that lays out svg and png (default: graphviz-pure, from the extra)",
    )


def run(args: argparse.Namespace) -> int:
    """Draw the diagram; the exit code."""
    fmt: str = args.format or _SUFFIXES.get(Path(args.output or "").suffix.lower(), "mermaid")
    try:
        data = _draw(args, fmt)
        _write(data, args.output, fmt)
    except UsageError as exc:
        error(_PROG, str(exc))
        return 2
    except RunlifeError as exc:  # DiagramsUnavailable, or the renderer failed
        error(_PROG, str(exc))
        return 1
    return 0


def _draw(args: argparse.Namespace, fmt: str) -> bytes:
    name, wire, history, status_path = "", None, None, "$.status"
    if args.steps:
        given = [o for o, v in (("--run", args.run is not None), ("--guards", args.guards)) if v]
        if given:
            raise UsageError(
                f"--steps: {' and '.join(given)} do{'es' if len(given) == 1 else ''} not apply "
                "(a step's diagram draws no run's path, and a step's moves have no guards)"
            )
    if args.run is not None:
        name, wire, history, status_path = _read_run_file(args.run)
    table = STEP_TABLE if args.steps else TABLE
    try:
        if fmt == "mermaid":
            text = diagrams.mermaid(run=wire, history=history, guards=args.guards, table=table)
            return text.encode("utf-8")
        source = diagrams.dot(run=wire, history=history, guards=args.guards, table=table)
    except InvalidRun as exc:
        # The run's status is at $.run.status in a {"run": ..., "history": ...} file.
        errors = [(status_path if path == "$.status" else path, p) for path, p in exc.errors]
        raise UsageError(_problems(name, errors)) from None
    if fmt == "dot":
        return source.encode("utf-8")
    if fmt == "png" and args.output is None and sys.stdout.isatty():
        raise UsageError(
            "refusing to write a PNG to a terminal; give --output PATH or redirect standard output"
        )
    picture = cast("Literal['svg', 'png']", fmt)  # the formats left
    return diagrams.render(
        picture, run=wire, history=history, guards=args.guards, engine=args.engine, table=table
    )


def _problems(name: str, errors: list[tuple[str, str]]) -> str:
    lines = [f"{path}: {problem}" for path, problem in errors]
    if len(lines) == 1:
        return f"run file {name}: {lines[0]}"
    return f"run file {name}:\n" + "\n".join(lines)


def _read_run_file(given: str) -> tuple[str, object, list[object] | None, str]:
    """Read ``--run``: its display name, the run's wire dict, its history, the status path."""
    name = "<stdin>" if given == "-" else given
    try:
        raw = sys.stdin.buffer.read() if given == "-" else Path(given).read_bytes()
    except OSError as exc:
        raise UsageError(f"cannot read run file {name}: {exc.strerror or exc}") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UsageError(
            f"run file {name} is not UTF-8 text: {exc.reason} at byte {exc.start}"
        ) from None
    try:
        data: Any = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UsageError(
            # Some of json's messages end in " at" ("Invalid control character at"): one "at".
            f"run file {name} is not valid JSON: {exc.msg.removesuffix(' at')} "
            f"at line {exc.lineno}, column {exc.colno}"
        ) from None
    if not isinstance(data, dict):
        raise UsageError(
            f"run file {name}: $: expected a run (a JSON object) or "
            f'{{"run": {{...}}, "history": [...]}}, got {_JSON_TYPES[type(data)]}'
        )
    if "run" not in data:
        return name, data, None, "$.status"
    run, history = data["run"], data.get("history", [])
    errors = []
    if not isinstance(run, dict):
        errors.append(("$.run", f"expected a run (a JSON object), got {_JSON_TYPES[type(run)]}"))
    if not isinstance(history, list):
        errors.append(("$.history", f"expected an array, got {_JSON_TYPES[type(history)]}"))
    if errors:
        raise UsageError(_problems(name, errors))
    return name, run, history, "$.run.status"


def _write(data: bytes, output: str | None, fmt: str) -> None:
    if output is not None:
        try:
            Path(output).write_bytes(data)
        except OSError as exc:
            raise UsageError(f"cannot write {fmt} to {output}: {exc.strerror or exc}") from None
        return
    buffer = getattr(sys.stdout, "buffer", None)
    if buffer is None:  # stdout replaced by a text-only stream (io.StringIO, some IDEs)
        if fmt == "png":
            raise UsageError("standard output takes no binary data here; give --output PATH")
        sys.stdout.write(data.decode("utf-8"))
        return
    # Bytes, not text, so that the output is identical on every platform (no "\r\n").
    sys.stdout.flush()
    buffer.write(data)
    buffer.flush()


COMMAND = Command(
    name="diagram",
    help="draw the run lifecycle (Mermaid, DOT, SVG, PNG), or one run's path through it",
    description="Draw the run lifecycle from the transition table, or one run's path.",
    epilog=_EPILOG,
    add_arguments=add_arguments,
    run=run,
)
