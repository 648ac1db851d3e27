"""``runlife check FILE...``: validate run payloads, one line per problem.

Each FILE holds a JSON object (one run), a JSON array of runs, or JSON Lines (one run per
line); ``-`` reads standard input. Problems are printed as ``WHERE PATH: MESSAGE [kind/code]``
where WHERE is ``file`` (one object), ``file[i]`` (an array's item) or ``file:LINE`` (JSON
Lines). ``structure`` and ``invariant`` findings and malformed JSON are errors; ``rule``
findings (real API payloads have them) are warnings that fail only with ``--strict``.
``--fill-missing`` reads older API shapes: a missing top-level field takes the API's default
and is a ``rule`` warning (``filled-missing-field``) instead of a structure error.

Exit codes: 0 sound, 1 problems found, 2 usage errors (a file that cannot be read).
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

__all__ = ["COMMAND", "add_arguments", "check_files", "run"]

_EPILOG = """\
Exit codes: 0 every run is sound; 1 a structure or invariant problem, malformed JSON, or
(with --strict) a rule warning; 2 a usage error such as a file that cannot be read.
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
    else:
        yield name, data, None


def check_files(
    files: list[str],
    *,
    strict: bool = False,
    quiet: bool = False,
    fill_missing: bool = False,
    out: TextIO,
    stdin: TextIO,
) -> int:
    """Check *files* (``-`` is *stdin*), print findings and a summary to *out*; return the exit code.

    Raises:
        OSError: a file cannot be read (the CLI turns this into exit code 2).
    """
    texts = [(n, stdin.read() if n == "-" else Path(n).read_text(encoding="utf-8")) for n in files]
    runs = errors = warnings = bad_runs = 0
    for name, text in texts:
        shown = "<stdin>" if name == "-" else name
        for where, value, parse_error in _items(shown, text):
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
    print(
        f"checked {runs} {plural} in {len(files)} file{'s' if len(files) != 1 else ''}: "
        f"{bad_runs} with errors, {errors} error{'s' if errors != 1 else ''}, "
        f"{warnings} warning{'s' if warnings != 1 else ''}",
        file=out,
    )
    return 1 if errors else 0


def run(args: argparse.Namespace) -> int:
    """Check the files; the exit code."""
    try:
        return check_files(
            args.files,
            strict=args.strict,
            quiet=args.quiet,
            fill_missing=args.fill_missing,
            out=sys.stdout,
            stdin=sys.stdin,
        )
    except (OSError, UnicodeDecodeError) as exc:
        error("runlife check", str(exc))
        return 2


COMMAND = Command(
    name="check",
    help="validate run payloads (JSON object, array or JSON Lines)",
    description="Validate thread.run payloads: structure, invariants and documented rules.",
    epilog=_EPILOG,
    add_arguments=add_arguments,
    run=run,
)
