"""The README shows what the code does (its pycon blocks run as doctests via pytest)."""

from __future__ import annotations

import re
from pathlib import Path

from runlife import diagrams

ROOT = Path(__file__).parents[1]


def test_readme_mermaid_matches_machine() -> None:
    """The Mermaid block in the README is the machine's diagram (regenerate: runlife diagram)."""
    text = (ROOT / "README.md").read_text()
    blocks = re.findall(r"```mermaid\n(.*?)```", text, re.DOTALL)
    assert blocks, "README.md has no mermaid block"
    assert blocks[0] == diagrams.mermaid(), (
        "README's mermaid block drifted: paste `runlife diagram` output"
    )


def test_readme_first_screen_has_the_two_commands() -> None:
    """The first screen gives the simulate command and the test command."""
    head = "\n".join((ROOT / "README.md").read_text().splitlines()[:25])
    assert "runlife simulate" in head
    assert "pytest" in head


def test_readme_simulate_output_is_the_checked_one() -> None:
    """The README's simulate output is the block docs/simulate.md keeps checked against the CLI."""
    text = (ROOT / "README.md").read_text()
    block = re.findall(r"```console\n\$ runlife simulate.*?```", text, re.DOTALL)
    assert block, "README.md shows no runlife simulate output"
    assert block[0] in (ROOT / "docs" / "simulate.md").read_text()
