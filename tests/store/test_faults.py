"""Bad rows, bad input and the ``runlife store`` command: clear errors, nothing written."""

from __future__ import annotations

import json
import sys
from typing import Any

import pytest

import runlife
from runlife import InvalidRun, RunlifeError
from runlife.cli import main
from runlife.store import (
    SCHEMA_VERSION,
    SchemaTooNew,
    StoreError,
    StoreURLError,
    open_store,
)
from tests.store._procs import new_runs
from tests.store.conftest import raw_sql
from tests.support import T0

SCHEMA_DUMP = {
    "sqlite": "SELECT type, name, sql FROM sqlite_master ORDER BY name",
    "postgresql": (
        "SELECT table_name, column_name, data_type FROM information_schema.columns "
        "WHERE table_schema = current_schema() ORDER BY table_name, column_name"
    ),
}


def _corrupt(url: str, run_id: str, column: str, value: Any) -> None:
    raw_sql(url, f"UPDATE runlife_runs SET {column} = ? WHERE id = ?", (value, run_id))  # noqa: S608


def _body(url: str, run_id: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(
        raw_sql(url, "SELECT body FROM runlife_runs WHERE id = ?", (run_id,))[0][0]
    )
    return data


class TestCorruptRows:
    @pytest.fixture(name="broken")
    def _broken(self, store, store_url):
        """Five queued runs; run_1, run_2, run_3 corrupted by hand three ways."""
        new_runs(store, 5)
        _corrupt(store_url, "run_1", "body", '{"id": "run_1", ')
        data = _body(store_url, "run_2")
        data["status"] = "complete"
        _corrupt(store_url, "run_2", "body", json.dumps(data))
        _corrupt(store_url, "run_3", "status", "in_progress")
        return store

    def test_get_names_the_run(self, broken):
        """Each bad row is an InvalidRun naming the run and what is wrong."""
        with pytest.raises(InvalidRun, match=r"^invalid run run_1: \$: malformed JSON: "):
            broken.get("run_1")
        with pytest.raises(InvalidRun) as info:
            broken.get("run_2")
        assert str(info.value) == (
            "invalid run run_2: $.status: unknown status 'complete'; did you mean 'completed'? "
            "allowed: queued, in_progress, requires_action, cancelling, cancelled, failed, "
            "completed, incomplete, expired"
        )
        with pytest.raises(InvalidRun) as info:
            broken.get("run_3")
        assert str(info.value) == (
            "invalid run run_3: $.status: the row's status column is 'in_progress', "
            "its JSON says 'queued'"
        )
        assert info.value.run_id == "run_3"

    def test_claims_go_on(self, broken):
        """A claim skips (and quarantines) bad rows and still fills its batch from the others."""
        claimed = broken.claim(10, worker="w1")
        assert [r.id for r in claimed] == ["run_0", "run_4"]
        assert [run_id for run_id, _ in broken.quarantined()] == ["run_1", "run_2"]
        assert broken.stats()["quarantined"] == 2
        assert broken.claim(10, worker="w1") == []

    def test_sweeps_go_on(self, broken, store_url):
        """A sweep reports bad rows as InvalidRun naming each, and sweeps every other run."""
        sweep = broken.expire_due(T0 + 600, batch=2)
        assert sweep.moved == ("run_0", "run_4")
        assert sorted(e.run_id for e in sweep.invalid if e.run_id) == ["run_1", "run_2", "run_3"]
        assert broken.expire_due(T0 + 600).moved == ()
        quarantined = dict(broken.quarantined())
        assert quarantined["run_3"].startswith("invalid run run_3: $.status: the row's status")
        # Repaired by hand, a row rejoins the sweeps.
        raw_sql(
            store_url,
            "UPDATE runlife_runs SET status = 'queued', invalid = NULL WHERE id = 'run_3'",
        )
        assert broken.expire_due(T0 + 600).moved == ("run_3",)

    def test_rescue_goes_on(self, store, store_url, clock):
        """A lapsed run that does not load does not stop the rescue of the others."""
        new_runs(store, 3)
        store.claim(3, worker="w1")
        _corrupt(store_url, "run_1", "body", "[]")
        clock.advance(31)
        sweep = store.rescue()
        assert sweep.moved == ("run_0", "run_2")
        assert [e.run_id for e in sweep.invalid] == ["run_1"]
        assert str(sweep.invalid[0]) == (
            "invalid run run_1: $: expected a JSON object (a run), got list []"
        )

    def test_unknown_status_column_refused(self, store, store_url):
        """The database itself refuses a status column that is not one of the nine."""
        new_runs(store, 1)
        with pytest.raises(Exception, match=r"(?i)check"):
            _corrupt(store_url, "run_0", "status", "bogus")
        assert store.get("run_0").status == "queued"

    def test_metadata_of_a_bad_row(self, broken):
        """A metadata update does not write over a row that does not load."""
        with pytest.raises(InvalidRun, match="run_1"):
            broken.update_metadata("run_1", {"a": "b"})


class TestBadInput:
    @pytest.mark.parametrize(
        ("url", "message"),
        [
            ("mysql://root@localhost/db", "unsupported store URL scheme 'mysql'"),
            ("runs.db", "not a store URL: 'runs.db'"),
            ("sqlite://runs.db", "three slashes before a relative path"),
            ("sqlite:///runs.db?mode=ro", "unknown SQLite option 'mode'"),
            ("sqlite:///runs.db?synchronous=maybe", "expected one of off, normal, full, extra"),
            ("sqlite:///runs.db?timeout=soon", "timeout='soon': expected seconds >= 0"),
            ("", "not a store URL"),
        ],
    )
    def test_bad_urls(self, url, message, tmp_path, monkeypatch):
        """Malformed URLs are a StoreURLError (a ValueError) listing the accepted forms."""
        monkeypatch.chdir(tmp_path)
        with pytest.raises(StoreURLError, match=message) as info:
            open_store(url)
        assert isinstance(info.value, ValueError)
        assert isinstance(info.value, RunlifeError)
        assert list(tmp_path.iterdir()) == []

    def test_not_a_string(self):
        """A URL must be a string."""
        with pytest.raises(StoreURLError, match="a store URL must be a string, got int"):
            open_store(42)  # type: ignore[arg-type]

    def test_missing_directory(self, tmp_path):
        """A SQLite file in a directory that does not exist: an error, nothing created."""
        with pytest.raises(StoreError, match=r"the directory .*/nope does not exist"):
            open_store(f"sqlite:///{tmp_path}/nope/runs.db")
        assert list(tmp_path.iterdir()) == []

    def test_not_a_database(self, tmp_path):
        """A file that is not SQLite is refused and left as it was."""
        path = tmp_path / "runs.db"
        path.write_text("hello, not a database\n" * 100)
        with pytest.raises(StoreError, match="file is not a database"):
            open_store(f"sqlite:///{path}")
        assert path.read_text() == "hello, not a database\n" * 100

    def test_unreachable_server(self):
        """An unreachable PostgreSQL server is a clear StoreError, with the password hidden."""
        with pytest.raises(StoreError) as info:
            open_store("postgresql://me:secret@127.0.0.1:1/db?connect_timeout=2")
        text = str(info.value)
        assert text.startswith(
            (
                "cannot connect to PostgreSQL at postgresql://me:***@127.0.0.1:1/db",
                "the PostgreSQL store needs psycopg",
            )
        )
        assert "secret" not in text

    def test_driver_missing(self, monkeypatch):
        """Without psycopg, the error says how to install it."""
        monkeypatch.setitem(sys.modules, "psycopg", None)
        with pytest.raises(StoreError) as info:
            open_store("postgresql://127.0.0.1:1/db")
        assert str(info.value) == (
            "the PostgreSQL store needs psycopg, which the postgres extra installs: "
            + runlife.install_command("postgres")
        )

    def test_newer_schema(self, store_url, engine):
        """A schema newer than this runlife is refused before anything is written."""
        backend = store_url.split(":")[0]
        with open_store(store_url, engine=engine) as store:
            new_runs(store, 1)
        raw_sql(store_url, "UPDATE runlife_schema SET version = 99")
        before = raw_sql(store_url, SCHEMA_DUMP[backend])
        rows = raw_sql(store_url, "SELECT version, body FROM runlife_runs")
        with pytest.raises(SchemaTooNew) as info:
            open_store(store_url)
        assert (info.value.found, info.value.supported) == (99, SCHEMA_VERSION)
        assert str(info.value).endswith(
            f"has schema version 99, but this runlife understands versions up to "
            f"{SCHEMA_VERSION}: upgrade runlife (nothing was written)"
        )
        assert raw_sql(store_url, SCHEMA_DUMP[backend]) == before
        assert raw_sql(store_url, "SELECT version, body FROM runlife_runs") == rows

    def test_no_schema_without_create(self, store_url):
        """create=False refuses an empty database and says how to create the schema."""
        with pytest.raises(StoreError, match=r"create it with `runlife store init URL`"):
            open_store(store_url, create=False)

    @pytest.mark.parametrize(
        ("option", "value", "message"),
        [
            ("lease", 0, "lease: expected an int of seconds > 0"),
            ("retries", -1, "retries: expected an int >= 0"),
            ("pool_size", 0, "pool_size: expected an int >= 1"),
        ],
    )
    def test_bad_options(self, option, value, message):
        """Store options are checked."""
        with pytest.raises(ValueError, match=message):
            open_store("sqlite:///:memory:", **{option: value})


def _cli(*argv: str) -> int:
    return main(list(argv))


class TestCommand:
    def test_init_then_status(self, store_url, capsys):
        """`runlife store init URL` creates the schema once; `status` reports on it."""
        assert _cli("store", "init", store_url) == 0
        assert _cli("store", "init", store_url) == 0
        out = capsys.readouterr().out.splitlines()
        assert out[0].endswith(f": schema version {SCHEMA_VERSION} (created)")
        assert out[1].endswith(f": schema version {SCHEMA_VERSION} (up to date)")
        with open_store(store_url) as store:
            new_runs(store, 2)
        assert _cli("store", "status", store_url) == 0
        assert capsys.readouterr().out.splitlines()[1:] == ["  queued: 2"]

    def test_errors(self, tmp_path, capsys):
        """Bad URLs exit 2, unusable stores 1, each with one line on stderr."""
        assert _cli("store", "init", "mysql://x") == 2
        assert _cli("store", "status", f"sqlite:///{tmp_path}/none.db") == 1
        assert _cli("store") == 2
        err = capsys.readouterr().err
        assert err.startswith("runlife store init: unsupported store URL scheme 'mysql'")
        assert "runlife store status: no runlife schema in" in err
