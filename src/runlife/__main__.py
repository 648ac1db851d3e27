"""``python -m runlife``: the same as the ``runlife`` command."""

from runlife.cli import main

raise SystemExit(main())
