"""``runlife store``: init and status on a store, usage and store errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from runlife.cli import main
from runlife.store import SCHEMA_VERSION


def test_init_then_status(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite:///{tmp_path}/runs.db"
    assert main(["store", "init", url]) == 0
    assert main(["store", "init", url]) == 0
    assert main(["store", "status", url]) == 0
    out, err = capsys.readouterr()
    assert out.splitlines() == [
        f"runlife store at {url}: schema version {SCHEMA_VERSION} (created)",
        f"runlife store at {url}: schema version {SCHEMA_VERSION} (up to date)",
        f"runlife store at {url}: schema version {SCHEMA_VERSION}",
        "  no runs",
    ]
    assert err == ""


def test_bad_url_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["store", "init", "mysql://x"]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith("runlife store init: unsupported store URL scheme 'mysql'")
    assert len(err.splitlines()) == 1


def test_status_of_no_store_exits_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["store", "status", f"sqlite:///{tmp_path}/none.db"]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith("runlife store status: no runlife schema in")


def test_no_action_prints_the_help_and_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["store"]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith("usage: runlife store ")
    assert "init" in err
    assert "status" in err
