"""Docs that run as written: every shell block of README.md and docs/*.md is run, or says why not.

Each fenced block in ``bash``, ``sh``, ``shell`` or ``console`` has a marker on the line right
above its fence (blank lines between are allowed):

- ``<!-- shell: run -->``: this test runs it, in a temporary copy of the repository, with the
  project venv's ``bin`` first on ``PATH`` (so ``runlife`` and ``python`` are this checkout's),
  each command bounded in time. A ``bash``/``sh``/``shell`` block is one script (``bash -e``)
  that must exit 0. A ``console`` block is ``$ command`` lines, each followed by what it
  prints: standard output when it exits 0, else standard error (a usage error shown as such);
  a command shown without output must exit 0.
- ``<!-- shell: skip (REASON) -->``: not run, for the reason given (it installs packages,
  starts a server, or is CI itself); the reason is required.

An unmarked block fails, so a new example is run or explains why it is not.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import attrs
import pytest

ROOT = Path(__file__).parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
SHELLS = ("bash", "sh", "shell", "console")
#: Seconds any one command (or bash block) may take.
TIMEOUT = 120
_FENCE = re.compile(r"^```(\w+)\s*$")
_MARK = re.compile(r"^<!-- shell: (?:(run)|skip \((.+)\)) -->$")
#: What a copy of the repository leaves out: caches, venvs, databases.
_NOT_COPIED = shutil.ignore_patterns(
    ".git", ".venv*", ".mypy_cache", ".ruff_cache", ".hypothesis", "__pycache__", "*.db"
)


@attrs.frozen
class Block:
    page: Path
    line: int  # of the opening fence, 1-based
    lang: str
    text: str
    mark: str | None  # "run", "skip", or None: unmarked (or a malformed marker)
    reason: str | None

    @property
    def where(self) -> str:
        return f"{self.page.relative_to(ROOT)}:{self.line}"


def blocks(page: Path) -> list[Block]:
    """The shell blocks of *page*, with the marker above each."""
    lines = page.read_text(encoding="utf-8").splitlines()
    found: list[Block] = []
    i = 0
    while i < len(lines):
        fence = _FENCE.match(lines[i])
        if fence is None:
            i += 1
            continue
        end = next(j for j in range(i + 1, len(lines)) if lines[j].startswith("```"))
        if fence.group(1) in SHELLS:
            above = next((lines[j] for j in range(i - 1, -1, -1) if lines[j].strip()), "")
            mark = _MARK.match(above.strip())
            kind = None if mark is None else ("run" if mark.group(1) else "skip")
            found.append(
                Block(
                    page,
                    i + 1,
                    fence.group(1),
                    "\n".join(lines[i + 1 : end]) + "\n",
                    kind,
                    None if mark is None else mark.group(2),
                )
            )
        i = end + 1
    return found


ALL = [b for page in PAGES for b in blocks(page)]
RUN = [b for b in ALL if b.mark == "run"]


def test_every_shell_block_is_marked():
    """Run or skip (with a reason), never unmarked: the marker is the line above the fence."""
    unmarked = [b.where for b in ALL if b.mark is None]
    assert not unmarked, (
        "shell blocks without a '<!-- shell: run -->' or '<!-- shell: skip (REASON) -->' "
        "line above them: " + ", ".join(unmarked)
    )


def test_the_known_blocks_are_found():
    """The README's first screen is skipped (CI runs it); simulate.md's examples are run."""
    readme = [b for b in ALL if b.page.name == "README.md"]
    assert [b.mark for b in readme[:2]] == ["skip", "skip"]
    assert all("CI" in (b.reason or "") for b in readme[:2])
    assert {b.page.name for b in RUN} >= {"README.md", "simulate.md"}


def test_a_marker_is_read_and_an_unmarked_block_is_seen(tmp_path):
    page = tmp_path / "page.md"
    page.write_text(
        "<!-- shell: run -->\n\n```bash\necho hi\n```\n"
        "<!-- shell: skip (starts a server) -->\n```console\n$ runlife serve\n```\n"
        "<!-- shell: skip () -->\n```sh\ntrue\n```\n"
        "```python\nprint()\n```\n"
    )
    found = blocks(page)
    assert [(b.line, b.mark, b.reason) for b in found] == [
        (3, "run", None),
        (7, "skip", "starts a server"),
        (11, None, None),  # a skip needs its reason
    ]
    assert found[0].text == "echo hi\n"


def _environment() -> dict[str, str]:
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env.pop("RUNLIFE_API_KEY", None)
    return env


def commands(block: Block) -> list[tuple[str, str]]:
    """A console block's ``(command, expected output)`` pairs."""
    pairs: list[tuple[str, list[str]]] = []
    for line in block.text.splitlines():
        if line.startswith("$ "):
            pairs.append((line[2:], []))
        else:
            assert pairs, f"{block.where}: output before any '$ ' command"
            pairs[-1][1].append(line)
    return [(c, "".join(f"{o}\n" for o in out)) for c, out in pairs]


@pytest.fixture(name="checkout")
def _checkout(tmp_path: Path) -> Path:
    """A temporary copy of the repository (no caches, venvs or databases)."""
    copy = tmp_path / "runlife"
    shutil.copytree(ROOT, copy, ignore=_NOT_COPIED)
    return copy


@pytest.mark.parametrize("block", RUN, ids=lambda b: b.where)
def test_run_blocks_run_as_written(block: Block, checkout: Path):
    env = _environment()
    if block.lang != "console":
        done = subprocess.run(
            ["bash", "-e", "-o", "pipefail", "-c", block.text],
            cwd=checkout,
            env=env,
            capture_output=True,
            text=True,
            check=False,
            timeout=TIMEOUT,
        )
        assert done.returncode == 0, f"{block.where}: exit {done.returncode}\n{done.stderr}"
        return
    for command, expected in commands(block):
        done = subprocess.run(
            ["bash", "-c", command],
            cwd=checkout,
            env=env,
            capture_output=True,
            text=True,
            check=False,
            timeout=TIMEOUT,
        )
        if not expected:
            assert done.returncode == 0, (
                f"{block.where}: {command}: exit {done.returncode}\n{done.stderr}"
            )
            continue
        shown = done.stdout if done.returncode == 0 else done.stderr
        assert shown == expected, f"{block.where}: {command} printed something else"
