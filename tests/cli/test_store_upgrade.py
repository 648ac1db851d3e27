"""``runlife store upgrade`` and what ``init``/``status`` say about versions and memory stores."""

from __future__ import annotations

from pathlib import Path

import pytest

from runlife.cli import main
from runlife.store import SCHEMA_VERSION


def test_upgrade_of_a_current_store_is_a_no_op(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path}/runs.db"
    assert main(["store", "init", url]) == 0
    assert main(["store", "upgrade", url]) == 0
    out, err = capsys.readouterr()
    assert out.splitlines()[1] == (
        f"runlife store at {url}: schema version {SCHEMA_VERSION} (up to date)"
    )
    assert err == ""


def test_upgrade_creates_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """No store at the URL: rc 1, the reason, and no file."""
    assert main(["store", "upgrade", f"sqlite:///{tmp_path}/none.db"]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith("runlife store upgrade: no runlife schema in")
    assert "runlife store init URL" in err
    assert list(tmp_path.iterdir()) == []


def test_upgrade_of_a_bad_url_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["store", "upgrade", "mysql://x"]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith("runlife store upgrade: unsupported store URL scheme 'mysql'")


@pytest.mark.parametrize("argv", [[], ["a", "b"]])
def test_upgrade_usage_errors_exit_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        main(["store", "upgrade", *argv])
    assert caught.value.code == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith("usage: runlife store")  # the action's usage, or the command's


def test_init_in_memory_says_it_vanishes(capsys: pytest.CaptureFixture[str]) -> None:
    """Issue 17: a memory store is gone when the command exits, and the output says so."""
    assert main(["store", "init", "sqlite:///:memory:"]) == 0
    out, _ = capsys.readouterr()
    assert out == (
        f"runlife store at sqlite:///:memory:: schema version {SCHEMA_VERSION} "
        "(created; in memory: it vanishes when this command exits)\n"
    )


def test_status_of_no_file_leaves_no_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """``runlife store status sqlite:///nothere.db`` exits 1 and creates nothing."""
    monkeypatch.chdir(tmp_path)
    assert main(["store", "status", "sqlite:///nothere.db"]) == 1
    assert "no runlife schema in sqlite:///nothere.db" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []
