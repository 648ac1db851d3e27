"""The ``runlife diagram`` command: formats, files, runs, and its errors and exit codes."""

from __future__ import annotations

import importlib.metadata
import io
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import runlife
import runlife.diagrams
from runlife import Move
from runlife.cli import main
from runlife.diagrams import dot, mermaid, render

PAYLOADS = Path(__file__).parents[1] / "data" / "payloads"
COMPLETED = PAYLOADS / "openai-dotnet-completed-1.json"
PATH = [
    Move("start", "queued", "in_progress", 100),
    Move("require_action", "in_progress", "requires_action", 101),
    Move("submit_tool_outputs", "requires_action", "queued", 102),
    Move("start", "queued", "in_progress", 103),
    Move("complete", "in_progress", "completed", 104),
]
PREFIX = "runlife diagram: error: "


def envelope(tmp_path: Path, data: Any, name: str = "run.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def wire() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(COMPLETED.read_text(encoding="utf-8"))
    return data


class TestOutput:
    def test_mermaid_to_stdout_by_default(self, capsys):
        """With no options, the Mermaid diagram goes to stdout."""
        assert main(["diagram"]) == 0
        out, err = capsys.readouterr()
        assert (out, err) == (mermaid(), "")

    @pytest.mark.parametrize(
        ("fmt", "make"), [("mermaid", mermaid), ("dot", dot)], ids=["mermaid", "dot"]
    )
    def test_text_formats_to_stdout(self, capsys, fmt, make):
        """--format picks the text format; --guards adds the guards."""
        assert main(["diagram", "--format", fmt, "--guards"]) == 0
        assert capsys.readouterr().out == make(guards=True)

    @pytest.mark.parametrize(
        ("fmt", "make"), [("mermaid", mermaid), ("dot", dot)], ids=["mermaid", "dot"]
    )
    def test_steps_draws_the_step_lifecycle(self, capsys, fmt, make):
        """--steps draws the run step's lifecycle, from runlife.STEP_TABLE."""
        assert main(["diagram", "--steps", "--format", fmt]) == 0
        assert capsys.readouterr().out == make(table=runlife.STEP_TABLE)

    @pytest.mark.parametrize(
        ("more", "named"),
        [
            (["--run", "run.json"], "--run does"),
            (["--guards"], "--guards does"),
            (["--run", "run.json", "--guards"], "--run and --guards do"),
        ],
        ids=["run", "guards", "both"],
    )
    def test_steps_takes_no_run_and_no_guards(self, capsys, more, named):
        assert main(["diagram", "--steps", *more]) == 2
        assert capsys.readouterr() == (
            "",
            (
                f"runlife diagram: error: --steps: {named} not apply (a step's diagram draws no "
                "run's path, and a step's moves have no guards)\n"
            ),
        )

    def test_svg_to_stdout(self, capsysbinary):
        """SVG is text: it goes to stdout too."""
        assert main(["diagram", "--format", "svg"]) == 0
        assert capsysbinary.readouterr().out == render("svg")

    def test_png_to_stdout_that_is_not_a_terminal(self, capsysbinary):
        """PNG goes to stdout when stdout is a pipe or a file."""
        assert main(["diagram", "--format", "png"]) == 0
        assert capsysbinary.readouterr().out == render("png")

    def test_png_refused_on_a_terminal(self, capsys, monkeypatch):
        """PNG is not written to a terminal: exit 2 and say what to do instead."""
        monkeypatch.setattr(sys.stdout, "isatty", lambda: True)
        assert main(["diagram", "--format", "png"]) == 2
        out, err = capsys.readouterr()
        assert out == ""
        assert err == (
            PREFIX + "refusing to write a PNG to a terminal; give --output PATH or redirect "
            "standard output\n"
        )

    def test_text_only_stdout(self, monkeypatch):
        """A text-only stdout (io.StringIO) gets the text; a PNG is refused there."""
        out, err = io.StringIO(), io.StringIO()
        monkeypatch.setattr(sys, "stdout", out)
        monkeypatch.setattr(sys, "stderr", err)
        assert main(["diagram", "--format", "dot"]) == 0
        assert out.getvalue() == dot()
        assert main(["diagram", "--format", "png"]) == 2
        assert err.getvalue() == (
            PREFIX + "standard output takes no binary data here; give --output PATH\n"
        )

    @pytest.mark.parametrize(
        ("name", "expected"),
        [
            ("lifecycle.mmd", lambda: mermaid().encode()),
            ("lifecycle.dot", lambda: dot().encode()),
            ("lifecycle.gv", lambda: dot().encode()),
            ("lifecycle.svg", lambda: render("svg")),
            ("lifecycle.png", lambda: render("png")),
            ("lifecycle.txt", lambda: mermaid().encode()),
        ],
        ids=["mmd", "dot", "gv", "svg", "png", "other-suffix"],
    )
    def test_output_file_format_from_suffix(self, capsys, tmp_path, name, expected):
        """--output writes the file in the format its suffix names (else Mermaid), not stdout."""
        target = tmp_path / name
        assert main(["diagram", "--output", str(target)]) == 0
        assert target.read_bytes() == expected()
        assert capsys.readouterr() == ("", "")

    def test_format_wins_over_suffix(self, tmp_path):
        """An explicit --format is obeyed whatever the file is called."""
        target = tmp_path / "lifecycle.svg"
        assert main(["diagram", "--format", "dot", "-o", str(target)]) == 0
        assert target.read_bytes() == dot().encode()

    def test_unwritable_output(self, capsys, tmp_path):
        """An --output in a missing folder is a usage error naming the file."""
        target = tmp_path / "missing" / "x.svg"
        assert main(["diagram", "--format", "dot", "--output", str(target)]) == 2
        assert capsys.readouterr().err == (
            PREFIX + f"cannot write dot to {target}: No such file or directory\n"
        )

    def test_missing_renderer_exits_1(self, capsys, monkeypatch, tmp_path):
        """Without the extra, svg fails with exit 1 and the install command; nothing is written."""

        def not_installed(name: str) -> Any:
            raise importlib.metadata.PackageNotFoundError(name)

        monkeypatch.setattr(importlib.metadata, "distribution", not_installed)
        target = tmp_path / "x.svg"
        assert main(["diagram", "-o", str(target)]) == 1
        assert capsys.readouterr().err == (
            PREFIX + "rendering svg needs graphviz-pure, which is not installed; install it with: "
            'pip install ".[diagrams]" from a checkout of runlife, or pip install '
            '"runlife[diagrams]" once it is on a package index (Mermaid and DOT text need '
            "nothing more)\n"
        )
        assert not target.exists()


class TestRunFile:
    def test_bare_wire_dict(self, capsys):
        """A run's wire JSON highlights its status."""
        assert main(["diagram", "--run", str(COMPLETED)]) == 0
        assert capsys.readouterr().out == mermaid(run=wire())

    def test_envelope_with_history(self, capsys, tmp_path):
        """{"run", "history"} highlights the status and the path."""
        data = {"run": wire(), "history": [m.to_dict() for m in PATH]}
        path = envelope(tmp_path, data)
        assert main(["diagram", "--format", "dot", "--run", str(path)]) == 0
        out = capsys.readouterr().out
        assert out == dot(run=wire(), history=PATH)
        assert '[label="start\\n(steps 1, 4)", color="#1f5fa8"' in out

    def test_envelope_without_history(self, capsys, tmp_path):
        """An envelope may leave the history out."""
        path = envelope(tmp_path, {"run": {"status": "cancelling"}})
        assert main(["diagram", "--run", str(path)]) == 0
        assert capsys.readouterr().out == mermaid(run={"status": "cancelling"})

    def test_stdin(self, capsys, monkeypatch):
        """--run - reads standard input."""
        data = json.dumps({"run": wire(), "history": [m.to_dict() for m in PATH]}).encode()
        monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data)))
        assert main(["diagram", "--run", "-"]) == 0
        assert capsys.readouterr().out == mermaid(run=wire(), history=PATH)

    def test_run_to_png_file(self, tmp_path):
        """A run's path can be rendered to a file."""
        path = envelope(tmp_path, {"run": wire(), "history": [m.to_dict() for m in PATH]})
        target = tmp_path / "run.png"
        assert main(["diagram", "--run", str(path), "--output", str(target)]) == 0
        assert target.read_bytes() == render("png", run=wire(), history=PATH)


class TestUsageErrors:
    def test_bad_format(self, capsys):
        """An unknown format is refused by the parser with exit 2."""
        with pytest.raises(SystemExit) as info:
            main(["diagram", "--format", "jpg"])
        assert info.value.code == 2
        last = capsys.readouterr().err.splitlines()[-1]
        assert last.startswith(PREFIX + "argument --format: invalid choice: 'jpg' (choose from ")

    def test_bad_engine(self, capsys):
        """An unknown engine is refused by the parser with exit 2."""
        with pytest.raises(SystemExit) as info:
            main(["diagram", "--engine", "neato"])
        assert info.value.code == 2
        last = capsys.readouterr().err.splitlines()[-1]
        assert last.startswith(PREFIX + "argument --engine: invalid choice: 'neato' (choose from ")

    def test_missing_file(self, capsys, tmp_path):
        """A run file that does not exist: exit 2, naming it."""
        path = tmp_path / "nope.json"
        assert main(["diagram", "--run", str(path)]) == 2
        assert capsys.readouterr() == (
            "",
            PREFIX + f"cannot read run file {path}: No such file or directory\n",
        )

    def test_directory(self, capsys, tmp_path):
        """A folder is not a run file."""
        assert main(["diagram", "--run", str(tmp_path)]) == 2
        assert capsys.readouterr().err == (
            PREFIX + f"cannot read run file {tmp_path}: Is a directory\n"
        )

    def test_not_utf8(self, capsys, tmp_path):
        """Bytes that are not UTF-8 are named with their offset."""
        path = tmp_path / "run.json"
        path.write_bytes(b'{"status": "qu\xffeued"}')
        assert main(["diagram", "--run", str(path)]) == 2
        assert capsys.readouterr().err == (
            PREFIX + f"run file {path} is not UTF-8 text: invalid start byte at byte 14\n"
        )

    def test_malformed_json(self, capsys, tmp_path):
        """Broken JSON: exit 2 with the parser's complaint and its position."""
        path = tmp_path / "run.json"
        path.write_text('{"status": "queued",\n "id": }', encoding="utf-8")
        assert main(["diagram", "--run", str(path)]) == 2
        assert capsys.readouterr().err == (
            PREFIX + f"run file {path} is not valid JSON: Expecting value at line 2, column 8\n"
        )

    def test_json_that_is_not_an_object(self, capsys, tmp_path):
        """A JSON array is neither a run nor an envelope."""
        path = envelope(tmp_path, [1, 2])
        assert main(["diagram", "--run", str(path)]) == 2
        assert capsys.readouterr().err == (
            PREFIX + f'run file {path}: $: expected a run (a JSON object) or {{"run": {{...}}, '
            '"history": [...]}, got an array\n'
        )

    def test_bad_envelope(self, capsys, tmp_path):
        """Each problem of an envelope gets its own line, path first."""
        path = envelope(tmp_path, {"run": "run_1", "history": {}})
        assert main(["diagram", "--run", str(path)]) == 2
        assert capsys.readouterr().err == (
            PREFIX + f"run file {path}:\n"
            "$.run: expected a run (a JSON object), got a str\n"
            "$.history: expected an array, got an object\n"
        )

    def test_bad_status_in_envelope(self, capsys, tmp_path):
        """A wrong status inside an envelope is reported at $.run.status."""
        path = envelope(tmp_path, {"run": {"status": "canceled"}, "history": []})
        assert main(["diagram", "--run", str(path)]) == 2
        assert capsys.readouterr().err == (
            PREFIX + f"run file {path}: $.run.status: unknown status 'canceled'; did you mean "
            "'cancelled'? allowed: queued, in_progress, requires_action, cancelling, cancelled, "
            "failed, completed, incomplete, expired\n"
        )

    def test_impossible_history(self, capsys, tmp_path):
        """A history the table could not have made: every problem listed."""
        history = [
            {"trigger": "start", "source": "queued", "dest": "in_progress"},
            {"trigger": "finish_cancel", "source": "in_progress", "dest": "cancelled"},
            {"trigger": "expire", "source": "queued"},
        ]
        path = envelope(tmp_path, {"run": {"status": "cancelled"}, "history": history})
        assert main(["diagram", "--run", str(path)]) == 2
        assert capsys.readouterr().err == (
            PREFIX + f"run file {path}:\n"
            "$.history[1]: finish_cancel does not move a run from in_progress to cancelled: "
            "it moves from cancelling to cancelled\n"
            "$.history[2].dest: missing\n"
        )

    def test_bare_run_without_status(self, capsys, tmp_path):
        """A bare wire dict without status is reported at $.status."""
        data = wire()
        del data["status"]
        path = envelope(tmp_path, data)
        assert main(["diagram", "--run", str(path)]) == 2
        assert capsys.readouterr().err == PREFIX + f"run file {path}: $.status: missing\n"


def test_python_m_runlife_diagram(tmp_path):
    """``python -m runlife diagram`` works as a program, with the same output and exit codes."""
    env = {**os.environ, "PYTHONPATH": str(Path(runlife.diagrams.__file__).parent.parent)}
    command = [sys.executable, "-m", "runlife", "diagram", "--format", "dot"]
    done = subprocess.run(command, capture_output=True, env=env, check=False)
    assert (done.returncode, done.stdout, done.stderr) == (0, dot().encode(), b"")

    missing = tmp_path / "nope.json"
    done = subprocess.run(
        [*command, "--run", str(missing)], capture_output=True, env=env, check=False
    )
    assert (done.returncode, done.stdout) == (2, b"")
    assert done.stderr.decode() == (
        PREFIX + f"cannot read run file {missing}: No such file or directory\n"
    )


def test_a_control_character_is_named_with_one_at(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "bad.json"
    path.write_text('{"id": "a\x01"}', encoding="utf-8")
    assert main(["diagram", "--run", str(path)]) == 2
    err = capsys.readouterr().err
    assert "Invalid control character at line 1, column 10" in err
    assert "at at" not in err
