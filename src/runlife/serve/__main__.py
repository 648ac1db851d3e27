"""``python -m runlife.serve ARGS``: the same as ``runlife serve ARGS``."""

from __future__ import annotations

import sys

from runlife.cli import main


def serve_main(argv: list[str] | None = None) -> int:
    """Run ``runlife serve`` with *argv* (``sys.argv[1:]`` by default); the exit code."""
    return main(["serve", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    raise SystemExit(serve_main())
