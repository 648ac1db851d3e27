"""``python -m runlife.serve ARGS``: the same as ``runlife serve ARGS``."""

from __future__ import annotations

import argparse

from runlife.cli.serve import add_arguments, run


def main() -> int:
    """Parse ``runlife serve``'s options and serve."""
    parser = argparse.ArgumentParser(prog="runlife serve")
    add_arguments(parser)
    return run(parser.parse_args())


if __name__ == "__main__":
    raise SystemExit(main())
