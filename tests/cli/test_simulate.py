"""``runlife simulate``: deterministic output, sharding, JSON, policies and usage errors."""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import runlife
from runlife import Finding, simulation
from runlife.cli import main
from runlife.simulation import DEFAULT_POLICY, FIELDS, PROBLEMS, _simulator, value_text

PREFIX = "runlife simulate: error: "


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "runlife", "simulate", *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )


class TestDeterminism:
    def test_same_seed_same_stdout(self):
        """Two processes with the same seed and options print byte-identical reports."""
        first, second = (
            run_cli("--runs", "400", "--seed", "11"),
            run_cli("--runs", "400", "--seed", "11"),
        )
        assert first.returncode == second.returncode == 0
        assert first.stdout == second.stdout
        assert first.stdout.startswith("runlife simulate: 400 runs, seed 11, default policy\n")
        # Wall-clock figures go to stderr, and differ from run to run.
        assert "s of real time" in first.stderr
        assert "real time" not in first.stdout

    def test_processes_do_not_change_the_result(self):
        """--processes 2 shards the runs and prints exactly what one process prints."""
        one = run_cli("--runs", "4100", "--seed", "5")
        two = run_cli("--runs", "4100", "--seed", "5", "--processes", "2")
        assert one.returncode == two.returncode == 0
        assert one.stdout == two.stdout
        assert "2 processes" in two.stderr

    def test_different_seeds_differ(self, capsys):
        """Another seed, another report."""
        assert main(["simulate", "--runs", "300", "--seed", "1"]) == 0
        first = capsys.readouterr().out
        assert main(["simulate", "--runs", "300", "--seed", "2"]) == 0
        assert capsys.readouterr().out != first


class TestReport:
    def test_text(self, capsys):
        """The text report: statuses with shares and percentiles, moves, violations."""
        assert main(["simulate", "--runs", "500", "--seed", "1"]) == 0
        out, err = capsys.readouterr()
        lines = out.splitlines()
        assert lines[0] == "runlife simulate: 500 runs, seed 1, default policy"
        assert lines[2].strip() == "duration from creation (virtual s)"
        assert lines[3].split() == ["status", "runs", "share", "p50", "p95", "p99", "max"]
        assert [line.split()[0] for line in lines[4:10]] == [
            "completed",
            "incomplete",
            "failed",
            "cancelled",
            "expired",
            "all",
        ]
        assert lines[9].split()[1:3] == ["500", "100.0%"]
        assert "invariant violations: 0 (the eight invariants on every run's final state)" in lines
        assert err.startswith("runlife simulate: ")
        assert err.endswith(" 1 process\n")

    def test_json(self, capsys):
        """--json prints one object: every figure, and the wall clock under "timing" only."""
        assert main(["simulate", "--runs", "300", "--seed", "3", "--json"]) == 0
        out, err = capsys.readouterr()
        data = json.loads(out)
        assert err == ""
        assert data["runs"] == 300
        assert data["seed"] == 3
        assert data["policy"] == DEFAULT_POLICY.to_json()
        for name, figures in data["statuses"].items():
            assert name in {"completed", "incomplete", "failed", "cancelled", "expired"}
            assert set(figures) == {"count", "share", "duration"}
            assert set(figures["duration"]) == {"p50", "p95", "p99", "max"}
        assert sum(s["count"] for s in data["statuses"].values()) == 300
        assert set(data["moves"]) <= set(runlife.TRIGGERS)
        assert data["violations"] == {"count": 0, "checked": "final", "first": None}
        assert data["timing"]["processes"] == 1
        timing = data.pop("timing")
        assert set(timing) == {"elapsed_s", "runs_per_s", "moves_per_s", "processes"}
        # Everything else is deterministic.
        assert main(["simulate", "--runs", "300", "--seed", "3", "--json"]) == 0
        again = json.loads(capsys.readouterr().out)
        again.pop("timing")
        assert again == data

    def test_violations_exit_1(self, capsys, monkeypatch):
        """A finding of runlife.check makes the exit status 1, and the run is shown."""
        finding = Finding("invariant", "invariant-usage", "$.usage", "usage set while queued")
        monkeypatch.setattr(_simulator, "invariant_problems", lambda data: [finding])
        assert main(["simulate", "--runs", "2", "--seed", "1"]) == 1
        out = capsys.readouterr().out
        assert "invariant violations: 2 (the eight invariants on every run's final state)\n" in out
        assert out.endswith(
            "first violation: run_0 (completed):\n"
            "  $.usage: usage set while queued [invariant invariant-usage]\n"
        )

    def test_check_moves(self, capsys):
        """--check moves checks after every move, and says so."""
        assert main(["simulate", "--runs", "50", "--check", "moves"]) == 0
        assert "invariant violations: 0 (the eight invariants after every move of every run)" in (
            capsys.readouterr().out
        )


class TestPolicy:
    def test_options(self, capsys):
        """Policy options change the runs, and the header says which."""
        args = ["simulate", "--runs", "300", "--cancel", "1", "--cancel-after", "0..5"]
        assert main([*args, "--fail-codes", "invalid_prompt=1"]) == 0
        out = capsys.readouterr().out
        assert out.startswith(
            "runlife simulate: 300 runs, seed 0, policy: defaults with cancel=1, "
            "cancel_after=0..5, fail_codes=invalid_prompt=1\n"
        )
        completed = next(line for line in out.splitlines() if line.startswith("completed"))
        cancelled = next(line for line in out.splitlines() if line.startswith("cancelled"))
        assert int(cancelled.split()[1].replace(",", "")) > int(completed.split()[1])

    def test_toml_file_then_options(self, capsys, tmp_path):
        """A TOML file sets values; options given on the command line win."""
        path = tmp_path / "policy.toml"
        path.write_text("ttl = 120\nstep = [2, 9]\nlate = 0.5\n[fail_codes]\nserver_error = 1\n")
        assert main(["simulate", "--runs", "100", "--policy", str(path), "--late", "0"]) == 0
        assert capsys.readouterr().out.startswith(
            "runlife simulate: 100 runs, seed 0, policy: defaults with ttl=120, step=2..9, "
            "late=0, fail_codes=server_error=1\n"
        )

    def test_json_file_with_policy_table(self, capsys, tmp_path):
        """A JSON file works too, its keys at the top or under "policy"."""
        path = tmp_path / "policy.json"
        path.write_text(json.dumps({"policy": {"tool_round": 0, "cancel": 0}}))
        assert main(["simulate", "--runs", "100", "--policy", str(path), "--json"]) == 0
        data = json.loads(capsys.readouterr().out)
        assert (data["policy"]["tool_round"], data["policy"]["cancel"]) == (0, 0)
        assert data["tool_calls"] == 0


def usage_error(capsys, *args: str) -> list[str]:
    assert main(["simulate", *args]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    return err.splitlines()


class TestUsageErrors:
    @pytest.mark.parametrize(
        ("args", "message"),
        [
            (["--runs", "0"], "--runs: expected an int >= 1, got '0'"),
            (["--runs", "many"], "--runs: expected an int >= 1, got 'many'"),
            (["--seed", "-1"], "--seed: expected an int >= 0, got '-1'"),
            (["--processes", "0"], "--processes: expected an int >= 1, got '0'"),
            (["--cancel", "1.5"], "--cancel: expected a probability from 0 to 1, got 1.5"),
            (["--cancel", "often"], "--cancel: expected a number, got 'often'"),
            (["--ttl", "0"], "--ttl: expected an int of seconds >= 1, got 0"),
            (["--ttl", "1.5"], "--ttl: expected an int, got '1.5'"),
            (["--step", "9..2"], "--step: expected 0 <= LO <= HI, got 9..2"),
            (["--step", "1..x"], "--step: expected LO..HI (two ints) or one int, got '1..x'"),
            (["--tool-calls", "0..3"], "--tool-calls: expected 1 <= LO <= HI, got 0..3"),
            (
                ["--token-limit", "100"],
                "--token-limit: expected an int >= 256 (the API's minimum), got 100",
            ),
            (["--arrival-rate", "0"], "--arrival-rate: expected a number > 0, got 0"),
            (
                ["--fail-codes", "oops=1"],
                (
                    "--fail-codes: unknown code 'oops'; codes: server_error, rate_limit_exceeded, "
                    "invalid_prompt"
                ),
            ),
            (
                ["--fail-codes", "server_error"],
                (
                    "--fail-codes: expected CODE=WEIGHT,... (e.g. server_error=3,invalid_prompt=1), "
                    "got 'server_error'"
                ),
            ),
        ],
        ids=lambda v: " ".join(v) if isinstance(v, list) else "",
    )
    def test_bad_value(self, capsys, args, message):
        """A bad value exits 2 with one line that names the option, the rule and the value."""
        assert usage_error(capsys, *args) == [PREFIX + message]

    def test_every_problem_at_once(self, capsys):
        """Several bad policy options are all reported, in the policy's order."""
        assert usage_error(capsys, "--late", "2", "--ttl", "0") == [
            PREFIX + "--ttl: expected an int of seconds >= 1, got 0",
            PREFIX + "--late: expected a probability from 0 to 1, got 2",
        ]

    def test_argparse_errors_exit_2(self, capsys):
        """Unknown options and bad choices are argparse's: exit 2, usage on stderr."""
        with pytest.raises(SystemExit) as info:
            main(["simulate", "--check", "sometimes"])
        assert info.value.code == 2
        err = capsys.readouterr().err
        assert err.endswith(
            "runlife simulate: error: argument --check: invalid choice: 'sometimes' "
            "(choose from 'final', 'moves', 'full', 'none')\n"
        )

    def test_no_abbreviations(self, capsys):
        """Options are not abbreviated, so options added later cannot change what one means."""
        with pytest.raises(SystemExit):
            main(["simulate", "--proc", "2"])
        assert "unrecognized arguments: --proc 2" in capsys.readouterr().err

    def test_missing_file(self, capsys, tmp_path):
        """An unreadable policy file is named, with the reason."""
        missing = tmp_path / "nope.toml"
        assert usage_error(capsys, "--policy", str(missing)) == [
            f"{PREFIX}--policy {missing}: cannot read: No such file or directory"
        ]

    def test_bad_toml(self, capsys, tmp_path):
        """Malformed TOML is reported with the parser's position."""
        path = tmp_path / "p.toml"
        path.write_text("ttl = \n")
        assert usage_error(capsys, "--policy", str(path)) == [
            f"{PREFIX}{path}: invalid TOML: Invalid value (at line 1, column 7)"
        ]

    def test_bad_json(self, capsys, tmp_path):
        """Malformed JSON too; and JSON that is not an object."""
        path = tmp_path / "p.json"
        path.write_text("{")
        assert usage_error(capsys, "--policy", str(path)) == [
            (
                f"{PREFIX}{path}: invalid JSON: Expecting property name enclosed in double quotes: "
                "line 1 column 2 (char 1)"
            )
        ]
        path.write_text("[1]")
        assert usage_error(capsys, "--policy", str(path)) == [
            f"{PREFIX}{path}: expected an object of policy keys, got list"
        ]

    def test_bad_keys_and_values_in_file(self, capsys, tmp_path):
        """Unknown keys get a did-you-mean; each problem names the file and the key."""
        path = tmp_path / "p.toml"
        path.write_text('cancle = 0.1\nstep = "fast"\n')
        keys = ", ".join(FIELDS)
        assert usage_error(capsys, "--policy", str(path)) == [
            f"{PREFIX}{path}: cancle: unknown policy key; did you mean 'cancel'? (keys: {keys})",
            f"{PREFIX}{path}: step: expected [lo, hi] (two ints) or one int, got 'fast'",
        ]

    def test_not_utf8(self, capsys, tmp_path):
        """A file that is not UTF-8 is refused."""
        path = tmp_path / "p.toml"
        path.write_bytes(b"ttl = \xff\n")
        assert usage_error(capsys, "--policy", str(path)) == [f"{PREFIX}{path}: not UTF-8 text"]


class TestProgress:
    def test_forced_progress_bar(self, capsys):
        """--progress draws a bar on stderr (and clears it), never on stdout."""
        assert main(["simulate", "--runs", "50", "--progress"]) == 0
        out, err = capsys.readouterr()
        assert "[" + "#" * 30 + "] 100% 50/50 runs" in err
        assert "\r\x1b[K" in err
        assert "#" not in out

    def test_no_bar_off_a_terminal(self, capsys):
        """By default there is no bar when stderr is not a terminal."""
        assert main(["simulate", "--runs", "50"]) == 0
        assert "#" not in capsys.readouterr().err


def test_help_lists_the_policy(capsys):
    """--help documents every policy option with its default."""
    with pytest.raises(SystemExit):
        main(["simulate", "--help"])
    out = " ".join(capsys.readouterr().out.split())
    for name in FIELDS:
        assert "--" + name.replace("_", "-") in out
    assert "(default: 0..4)" in out
    assert "(default: server_error=6,rate_limit_exceeded=3,invalid_prompt=1)" in out


DOC = Path(__file__).parents[2] / "docs" / "simulate.md"


@pytest.mark.parametrize(
    "block",
    re.findall(r"```console\n\$ runlife (simulate .*?)```", DOC.read_text(), re.DOTALL),
    ids=lambda b: b.splitlines()[0],
)
def test_docs_show_the_real_output(block):
    """Each console example of docs/simulate.md shows what the command prints."""
    command, _, expected = block.partition("\n")
    done = run_cli(*shlex.split(command)[1:])
    assert (done.stdout if done.returncode == 0 else done.stderr) == expected


def test_docs_list_the_policy():
    """docs/simulate.md lists every policy key with its option, default and meaning."""
    text = DOC.read_text()
    for name, field in FIELDS.items():
        option = "--" + name.replace("_", "-")
        row = (
            f"| `{name}` / `{option}` | `{value_text(field.default)}` | {field.metadata['help']} |"
        )
        assert row in text, row


def test_store_simulation_on_sqlite(tmp_path, capsys):
    """--store runs the simulation as worker processes on a durable store, with no problems."""
    from runlife.cli import main as cli_main

    url = f"sqlite:///{tmp_path / 'sim.db'}"
    code = cli_main(
        ["simulate", "--store", url, "--workers", "2", "--runs", "60", "--seed", "3", "--json"]
    )
    out = capsys.readouterr().out
    assert code == 0, out
    stats = json.loads(out)
    assert stats["runs"] == 60
    assert stats["store"]["problems"] == []
    assert sum(s["count"] for s in stats["statuses"].values()) == 60


def test_store_bad_workers(capsys):
    """--workers must be a positive int: exit 2 with the option named."""
    from runlife.cli import main as cli_main

    assert cli_main(["simulate", "--store", "sqlite:///:memory:", "--workers", "0"]) == 2
    assert (
        capsys.readouterr().err
        == "runlife simulate: error: --workers: expected an int >= 1, got '0'\n"
    )


# --- --store: a simulation on a durable store --------------------------------------------


def _store_json(url: str, *args: str) -> tuple[int, dict[str, Any], str]:
    done = run_cli("--store", url, "--json", *args)
    return done.returncode, json.loads(done.stdout) if done.stdout else {}, done.stderr


def _summary(data: dict[str, Any]) -> dict[str, Any]:
    """What a seed fixes: everything but the wall clock (durations, timing) and the URL."""
    return {
        "runs": data["runs"],
        "seed": data["seed"],
        "policy": data["policy"],
        "statuses": {k: v["count"] for k, v in data["statuses"].items()},
        "moves": data["moves"],
        "tool_calls": data["tool_calls"],
        "violations": data["violations"],
        "store": {k: v for k, v in data["store"].items() if k != "url"},
    }


def test_store_same_seed_same_summary_whatever_the_workers(tmp_path):
    """Same seed, 1 or 3 workers, run twice: identical counts (each run's fate is its own)."""
    found = []
    for n, workers in enumerate(["1", "3", "1"]):
        url = f"sqlite:///{tmp_path / f'sim{n}.db'}"
        code, data, err = _store_json(url, "--runs", "120", "--seed", "4", "--workers", workers)
        assert code == 0, err
        assert data["timing"]["workers"] == int(workers)
        found.append(_summary(data))
    assert found[0] == found[1] == found[2]
    assert found[0]["seed"] == 4
    assert sum(found[0]["statuses"].values()) == 120
    assert found[0]["store"]["problems"] == []
    assert found[0]["violations"] == {"count": 0, "checked": "store", "first": None}
    other = f"sqlite:///{tmp_path / 'other.db'}"
    assert _summary(_store_json(other, "--runs", "120", "--seed", "5")[1]) != found[0]


def test_store_report_is_the_simulate_report(tmp_path):
    """The same keys as the in-memory report, durations included, but virtual_time; plus store."""
    code, data, _ = _store_json(f"sqlite:///{tmp_path / 's.db'}", "--runs", "30", "--seed", "2")
    assert code == 0
    memory = json.loads(run_cli("--runs", "30", "--json").stdout)
    assert set(data) == (set(memory) - {"virtual_time"}) | {"store"}
    assert set(data["statuses"]) == set(memory["statuses"])
    for status in data["statuses"].values():
        assert set(status) == {"count", "share", "duration"}
        assert set(status["duration"]) == {"p50", "p95", "p99", "max"}
    assert data["statuses"]["completed"]["duration"]["max"] is not None
    assert set(data["store"]) == {"url", "claims", "illegal", "problems"}
    assert set(data["timing"]) == {
        "elapsed_s",
        "runs_per_s",
        "moves_per_s",
        "workers",
        "conflicts",
        "lease_lost",
    }


def test_store_text_report_explains_illegal_and_problems(tmp_path):
    done = run_cli("--store", f"sqlite:///{tmp_path / 's.db'}", "--runs", "20")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == (
        "runlife simulate: 20 runs, seed 0, on a store "
        "(tool_rate 0.5, cancel_rate 0.05, batch 10, ttl 600, lease 30)"
    )
    assert "duration from creation (wall-clock s)" in lines[2]
    assert lines[-2] == (
        "illegal: 0 (moves the lifecycle refused because the run changed under its worker, "
        "e.g. a lapsed lease; none in a healthy run)"
    )
    assert lines[-1] == f"problems: 0 ({PROBLEMS})"
    assert "2 workers" in done.stderr  # the wall clock and the workers go to stderr
    assert "conflicts" not in done.stdout


def test_store_holding_runs_is_refused(tmp_path):
    """A second simulation on the same store: exit 2, nothing written, the first one intact."""
    from runlife.store import open_store

    path = tmp_path / "s.db"
    assert _store_json(f"sqlite:///{path}", "--runs", "15")[0] == 0
    before = path.read_bytes()
    done = run_cli("--store", f"sqlite:///{path}", "--runs", "15")
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr == (
        f"runlife simulate: error: --store: the store at sqlite:///{path} already holds 15 runs: "
        "simulate on a store of its own (a new SQLite file, or an empty PostgreSQL schema), so "
        "that the report counts this simulation's runs only\n"
    )
    assert path.read_bytes() == before
    with open_store(f"sqlite:///{path}") as store:
        assert sum(store.counts().values()) == 15


def test_store_in_memory_is_refused():
    done = run_cli("--store", "sqlite:///:memory:", "--runs", "5")
    assert done.returncode == 2
    assert "an in-memory SQLite database is private to one process" in done.stderr


def test_workers_without_store_is_refused():
    done = run_cli("--workers", "3")
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr == (
        "runlife simulate: error: --workers: only with --store URL (the worker processes "
        "sharing the store); to shard an in-memory simulation, use --processes N\n"
    )


def test_options_that_do_not_apply_to_a_store_are_refused(tmp_path):
    path = tmp_path / "s.db"
    done = run_cli(
        "--store", f"sqlite:///{path}", "--processes", "2", "--check", "full", "--late", "0.5"
    )
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr == (
        "runlife simulate: error: --store: --processes, --check, --late do not apply to a "
        "simulation on a store (it takes --runs, --seed, --workers and --json)\n"
    )
    assert not path.exists()


def test_processes_are_capped_at_the_blocks():
    """--processes 64 for 10 runs starts one process (one block), and says so."""
    done = run_cli("--runs", "10", "--processes", "64", "--json")
    assert done.returncode == 0
    assert json.loads(done.stdout)["timing"]["processes"] == 1
    assert done.stderr == (
        "runlife simulate: --processes 64: 10 runs are 1 block of 2,000, so 1 process\n"
    )
    assert simulation.used_processes(64, 10) == 1
    assert simulation.used_processes(3, 2 * simulation.BLOCK + 1) == 3
    assert simulation.used_processes(8, 2 * simulation.BLOCK) == 2


def test_processes_above_the_cpus_warn(monkeypatch, capsys):
    import os

    from runlife.cli import main as cli_main

    monkeypatch.setattr(os, "cpu_count", lambda: 1)
    runs = str(2 * simulation.BLOCK)
    assert cli_main(["simulate", "--runs", runs, "--processes", "2", "--check", "none"]) == 0
    err = capsys.readouterr().err
    assert err.startswith(
        "runlife simulate: warning: --processes 2 is more than the 1 CPUs here: they share "
        "them, and are no faster than 1\n"
    )


def test_no_steps_simulates_the_same_runs_without_steps():
    """--no-steps: the same report but the steps, which it says are off."""
    on = run_cli("--runs", "300", "--seed", "3", "--json")
    off = run_cli("--runs", "300", "--seed", "3", "--json", "--no-steps")
    assert (on.returncode, off.returncode) == (0, 0)
    with_steps, without = json.loads(on.stdout), json.loads(off.stdout)
    assert without["steps"] is None
    assert with_steps["steps"]["tool_calls"]
    for data in (with_steps, without):
        del data["steps"], data["timing"]
    assert with_steps == without
    text = run_cli("--runs", "300", "--seed", "3", "--no-steps").stdout
    assert "\nsteps                    off   (steps=False: runs kept no steps)\n" in text


def test_steps_options_do_not_apply_to_a_store(tmp_path):
    path = tmp_path / "s.db"
    done = run_cli("--store", f"sqlite:///{path}", "--no-steps")
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr == (
        "runlife simulate: error: --store: --no-steps does not apply to a "
        "simulation on a store (it takes --runs, --seed, --workers and --json)\n"
    )
    assert not path.exists()
