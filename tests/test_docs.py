"""Every example in docs/*.md runs and prints what the page says.

A page with ``>>>`` examples is run as a doctest (ELLIPSIS on), each page in a fresh
namespace; a page without any is skipped by construction, not by a marker.
"""

from __future__ import annotations

import doctest
from pathlib import Path

import pytest

DOCS = Path(__file__).parents[1] / "docs"
PAGES = sorted(p for p in DOCS.glob("*.md") if ">>> " in p.read_text(encoding="utf-8"))


def test_pages_with_examples_are_found() -> None:
    """The pages known to carry examples are among those run (a rename would drop them)."""
    assert {"architecture.md", "embedding.md", "testing.md", "diagrams.md"} <= {
        p.name for p in PAGES
    }


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_page_examples_run(page: Path) -> None:
    """Each example of the page runs and prints what the page says."""
    result = doctest.testfile(
        str(page), module_relative=False, optionflags=doctest.ELLIPSIS, verbose=False
    )
    assert result.attempted > 0
    assert result.failed == 0, (
        f"{result.failed} of {result.attempted} examples of {page.name} failed"
    )
