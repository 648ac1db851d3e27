"""``runlife check FILE...``: validate run payloads, one line per problem.

Each FILE holds a JSON object (one run), a JSON array of runs, or JSON Lines (one run per
line); ``-`` reads standard input. A run step (``"object": "thread.run.step"``) is checked as
a step, and a list page (``{"object": "list", "data": [...]}``, as the API lists runs or
steps) as its items. Problems are printed as ``WHERE PATH: MESSAGE [kind/code]``
where WHERE is ``file`` (one object), ``file[i]`` (an array's item) or ``file:LINE`` (JSON
Lines). ``structure`` and ``invariant`` findings and malformed JSON are errors; ``rule``
findings (real API payloads have them) are warnings that fail only with ``--strict``.
``--fill-missing`` reads older API shapes: a missing top-level field takes the API's default
and is a ``rule`` warning (``filled-missing-field``) instead of a structure error.

A file that cannot be read (missing, a directory, not UTF-8) is named on standard error
with the reason, and the other files are still checked and reported.

Exit codes: 0 sound, 1 problems found, 2 a file could not be read (whatever the others held).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TextIO

from runlife import Finding, check

from .shared import Command, error

__all__ = ["COMMAND", "UnreadableFile", "add_arguments", "check_files", "run"]

_EPILOG = """\
Each file is checked in turn; one that cannot be read is named on standard error, with the
reason, and the others are still checked.
Exit codes: 0 every run is sound; 1 a structure or invariant problem, malformed JSON, or
(with --strict) a rule warning; 2 a file could not be read (the others are still reported).
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The arguments of ``runlife check`` on *parser*."""
    parser.add_argument("files", nargs="+", metavar="FILE", help="a file of runs, or - for stdin")
    parser.add_argument(
        "--strict", action="store_true", help="treat rule warnings as errors (exit 1)"
    )
    parser.add_argument("--quiet", "-q", action="store_true", help="print only the summary line")
    parser.add_argument(
        "--fill-missing",
        action="store_true",
        help="load older API shapes: a missing top-level field takes the API's default "
        "and is a warning (filled-missing-field), not an error",
    )


def _items(name: str, text: str) -> Iterator[tuple[str, Any, str | None]]:
    """Yield (where, value, parse error) for each run in a file's text."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        if exc.msg != "Extra data":
            yield name, None, f"malformed JSON: {exc}"
            return
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                yield f"{name}:{number}", json.loads(line), None
            except json.JSONDecodeError as line_exc:
                yield f"{name}:{number}", None, f"malformed JSON: {line_exc}"
        return
    if isinstance(data, list):
        for index, item in enumerate(data):
            yield f"{name}[{index}]", item, None
    elif (
        isinstance(data, dict)
        and data.get("object") == "list"
        and isinstance(data.get("data"), list)
    ):
        for index, item in enumerate(data["data"]):
            yield f"{name}.data[{index}]", item, None
    else:
        yield name, data, None


def _is_step(value: Any) -> bool:
    return isinstance(value, dict) and value.get("object") == "thread.run.step"


def _read(name: str, stdin: TextIO) -> str:
    """The text of file *name* (``-``: *stdin*).

    Raises:
        UnreadableFile: it cannot be read, with the file's name and the reason.
    """
    try:
        return stdin.read() if name == "-" else Path(name).read_text(encoding="utf-8")
    except OSError as exc:
        raise UnreadableFile(f"{name}: cannot read: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise UnreadableFile(
            f"{name}: not UTF-8 text (byte 0x{exc.object[exc.start]:02x} at offset {exc.start})"
        ) from None


class UnreadableFile(Exception):
    """A file given to ``runlife check`` that cannot be read: its name and the reason."""


def check_files(
    files: list[str],
    *,
    strict: bool = False,
    quiet: bool = False,
    fill_missing: bool = False,
    out: TextIO,
    stdin: TextIO,
    err: TextIO | None = None,
) -> int:
    """Check *files* (``-`` is *stdin*), print findings and a summary to *out*; return the exit code.

    A file that cannot be read is named on *err* (standard error by default) with the
    reason, and the next file is checked: the exit code is then 2, else 1 for errors, else 0.
    """
    errors_to = sys.stderr if err is None else err
    runs = steps = errors = warnings = bad_runs = unreadable = 0
    for name in files:
        try:
            text = _read(name, stdin)
        except UnreadableFile as exc:
            unreadable += 1
            error("runlife check", str(exc), stream=errors_to)
            continue
        shown = "<stdin>" if name == "-" else name
        for where, value, parse_error in _items(shown, text):
            if _is_step(value):
                steps += 1
            else:
                runs += 1
            findings: list[Finding] = [] if parse_error else check(value, fill_missing=fill_missing)
            failed = bool(parse_error)
            if parse_error:
                errors += 1
                if not quiet:
                    print(f"{where} $: {parse_error} [structure/malformed-json]", file=out)
            for f in findings:
                is_error = f.kind != "rule" or strict
                failed = failed or is_error
                if is_error:
                    errors += 1
                else:
                    warnings += 1
                if not quiet:
                    prefix = "" if is_error else "warning: "
                    print(f"{where} {prefix}{f.path}: {f.message} [{f.kind}/{f.code}]", file=out)
            bad_runs += failed
    plural = "run" if runs == 1 else "runs"
    if steps:
        plural += f" and {steps} step{'s' if steps != 1 else ''}"
    skipped = f" ({unreadable} unreadable)" if unreadable else ""
    print(
        f"checked {runs} {plural} in {len(files)} file{'s' if len(files) != 1 else ''}{skipped}: "
        f"{bad_runs} with errors, {errors} error{'s' if errors != 1 else ''}, "
        f"{warnings} warning{'s' if warnings != 1 else ''}",
        file=out,
    )
    if unreadable:
        return 2
    return 1 if errors else 0


def run(args: argparse.Namespace) -> int:
    """Check the files; the exit code."""
    return check_files(
        args.files,
        strict=args.strict,
        quiet=args.quiet,
        fill_missing=args.fill_missing,
        out=sys.stdout,
        stdin=sys.stdin,
    )


COMMAND = Command(
    name="check",
    help="validate run payloads (JSON object, array or JSON Lines)",
    description="Validate thread.run payloads: structure, invariants and documented rules.",
    epilog=_EPILOG,
    add_arguments=add_arguments,
    run=run,
)
