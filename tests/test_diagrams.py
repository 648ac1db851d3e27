"""Diagrams drawn from the machine: content, per-run paths, rendering, determinism, drift."""

from __future__ import annotations

import importlib.metadata
import itertools
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import attrs
import pytest

import runlife
import runlife.diagrams
from runlife import (
    COUPLING,
    STEP_TABLE,
    STEP_TERMINAL,
    TABLE,
    TERMINAL,
    TRANSITIONS,
    TRIGGERS,
    InvalidRun,
    ManualClock,
    Move,
    RunEngine,
    RunlifeError,
    RunStatus,
    TableRow,
    to_dict,
)
from runlife.diagrams import DiagramsUnavailable, dot, mermaid, render

ROOT = Path(__file__).parent.parent
PAYLOADS = Path(__file__).parent / "data" / "payloads"
# The recorded API run (tests/data/payloads), in the order it happened.
RECORDED = (
    "openai-dotnet-queued-1.json",
    "openai-dotnet-in_progress-1.json",
    "openai-dotnet-requires_action-1.json",
    "openai-dotnet-queued-2.json",
    "openai-dotnet-in_progress-2.json",
    "openai-dotnet-completed-1.json",
)
STATUSES = [s.value for s in RunStatus]
TERMINALS = [s.value for s in RunStatus if s in TERMINAL]
ACTIVES = [s.value for s in RunStatus if s not in TERMINAL]

# queued -> in_progress -> requires_action -> queued -> in_progress -> completed
PATH = (
    Move("start", "queued", "in_progress", 100),
    Move("require_action", "in_progress", "requires_action", 101, {"tool_calls": []}),
    Move("submit_tool_outputs", "requires_action", "queued", 102, {"tool_outputs": []}),
    Move("start", "queued", "in_progress", 103),
    Move("complete", "in_progress", "completed", 104, {"usage": None}),
)


@attrs.frozen
class FakeRun:
    """Stands for the engine's Run: what a diagram reads of it is .id, .status and .history."""

    id: str
    status: Any
    history: tuple[Any, ...] = ()


def edges_of() -> list[tuple[str, str, str]]:
    """(trigger, source, dest) for each row of the table and each of its sources."""
    return [(t.trigger, s.value, t.dest.value) for t in TRANSITIONS for s in t.sources]


def load(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((PAYLOADS / name).read_text(encoding="utf-8"))
    return data


class TestLifecycle:
    def test_mermaid_has_an_edge_per_table_row_and_source(self):
        """Every (trigger, source) of the table is a Mermaid edge labelled with the trigger."""
        lines = mermaid().splitlines()
        edges = [line.strip() for line in lines if "-->" in line and "[*]" not in line]
        assert edges == [f"{src} --> {dst}: {trigger}" for trigger, src, dst in edges_of()]

    def test_dot_has_an_edge_per_table_row_and_source(self):
        """Every (trigger, source) of the table is a DOT edge labelled with the trigger."""
        lines = dot().splitlines()
        edges = [line.strip() for line in lines if " -> " in line and "__start__" not in line]
        assert edges == [f'"{s}" -> "{d}" [label="{t}"];' for t, s, d in edges_of()]

    def test_every_trigger_is_a_label(self):
        """No trigger is missing from either text format."""
        for text in (mermaid(), dot()):
            missing = [t for t in TRIGGERS if f": {t}\n" not in text and f'label="{t}"' not in text]
            assert missing == []

    def test_mermaid_marks_start_and_terminal_statuses(self):
        """The start arrow points at queued; each terminal status ends in [*] and has the class."""
        lines = [line.strip() for line in mermaid().splitlines()]
        assert "[*] --> queued" in lines
        assert [line.split()[0] for line in lines if line.endswith("--> [*]")] == TERMINALS
        assert f"class {', '.join(TERMINALS)} terminal" in lines
        assert lines[:5] == [
            "---",
            'title: "thread.run lifecycle"',
            "---",
            "stateDiagram-v2",
            "direction LR",
        ]

    def test_dot_marks_start_and_terminal_statuses(self):
        """A filled dot leads to queued; terminal statuses, and only they, have a double border."""
        text = dot()
        assert '    __start__ -> "queued";\n' in text
        for status in TERMINALS:
            assert f'"{status}" [peripheries="2", fillcolor="#e6e6e6", class="terminal"];' in text
        for status in ACTIVES:
            assert f'    "{status}";\n' in text
        assert '{ rank=sink; "cancelled"; "failed"; "completed"; "incomplete"; "expired"; }' in text

    def test_terminal_statuses_are_those_without_exits(self):
        """The statuses marked terminal are exactly the ones the machine never leaves."""
        leaving = {src for _, src, _ in edges_of()}
        assert [s for s in STATUSES if s not in leaving] == TERMINALS

    def test_guards_are_shown_on_request(self):
        """With guards=True each guarded trigger carries its guard in brackets; else none do."""
        assert "[" not in mermaid().replace("[*]", "")
        text = mermaid(guards=True)
        assert "    in_progress --> completed: complete [started]\n" in text
        assert "    queued --> expired: expire [now >= expires_at]\n" in text
        assert "    queued --> in_progress: start\n" in text
        assert '[label="complete\\n[started]"]' in dot(guards=True)

    def test_every_guarded_trigger_shows_its_guard(self):
        """Each row's guards (other than the optional usage) label its edges with guards=True."""
        text = mermaid(guards=True)
        for row in TABLE.rows:
            shown = [g for g in row.guards if g != "usage"]
            for source in row.sources:
                line = next(
                    ln for ln in text.splitlines() if ln.startswith(f"    {source} --> {row.dest}:")
                )
                assert (f"{row.trigger} [" in line) == bool(shown), (row.trigger, line)

    def test_diagrams_follow_the_table(self):
        """A table with one more row draws one more edge, labelled with its guards."""
        extra = TableRow(
            "retry",
            (RunStatus.IN_PROGRESS,),
            RunStatus.QUEUED,
            guards=("started",),
        )
        table = TABLE.with_row(extra)
        assert "    in_progress --> queued: retry\n" in mermaid(table=table)
        assert "    in_progress --> queued: retry [started]\n" in mermaid(table=table, guards=True)
        assert '    "in_progress" -> "queued" [label="retry"];\n' in dot(table=table)
        assert "retry" not in mermaid()

    def test_text_formats_need_no_renderer(self, monkeypatch):
        """Mermaid and DOT work without the diagrams extra."""
        monkeypatch.setattr(importlib.metadata, "distribution", _not_installed)
        assert mermaid().startswith("---\n")
        assert dot().startswith("digraph run_lifecycle {\n")


class TestPerRun:
    def test_mermaid_highlights_current_status_and_path(self):
        """The current status, the statuses visited and the steps of each edge are shown."""
        text = mermaid(run=FakeRun("run_abc", RunStatus.COMPLETED, PATH))
        assert 'title: "run run_abc: completed"\n' in text
        assert "    queued --> in_progress: start (steps 1, 4)\n" in text
        assert "    in_progress --> requires_action: require_action (step 2)\n" in text
        assert "    requires_action --> queued: submit_tool_outputs (step 3)\n" in text
        assert "    in_progress --> completed: complete (step 5)\n" in text
        assert "    cancelling --> completed: complete\n" in text
        assert "    class cancelled, failed, incomplete, expired terminal\n" in text
        assert "    class queued, in_progress, requires_action visited\n" in text
        assert "    class completed current\n" in text

    def test_dot_highlights_current_status_and_path(self):
        """The path's edges are blue and numbered, the others grey; the current status orange."""
        text = dot(run=FakeRun("run_abc", RunStatus.COMPLETED, PATH))
        assert (
            '    "queued" -> "in_progress" [label="start\\n(steps 1, 4)", color="#1f5fa8", '
            'fontcolor="#1f5fa8", penwidth="2.5", class="path"];\n'
        ) in text
        assert (
            '    "cancelling" -> "completed" [label="complete", color="#a6a6a6", '
            'fontcolor="#7f7f7f"];\n'
        ) in text
        assert (
            '    "completed" [peripheries="2", fillcolor="#ffcf70", color="#b35900", '
            'penwidth="2.5", class="terminal current"];\n'
        ) in text
        assert (
            '    "requires_action" [fillcolor="#dbe9f6", color="#1f5fa8", penwidth="1.5", '
            'class="visited"];\n'
        ) in text
        assert '    "cancelling";\n' in text
        assert 'label="run run_abc: completed\\n5 moves, numbered along the blue path' in text

    def test_recorded_api_run(self):
        """A run recorded from the real API, with the moves its snapshots show, is drawn."""
        snapshots = [load(name) for name in RECORDED]
        rows = {
            (s, t.dest.value): t.trigger for t in TRANSITIONS for s in (x.value for x in t.sources)
        }
        history = [
            {"trigger": rows[a["status"], b["status"]], "source": a["status"], "dest": b["status"]}
            for a, b in itertools.pairwise(snapshots)
        ]
        text = mermaid(run=snapshots[-1], history=history)
        assert f'title: "run {snapshots[-1]["id"]}: completed"\n' in text
        assert "    queued --> in_progress: start (steps 1, 4)\n" in text
        assert "    in_progress --> completed: complete (step 5)\n" in text
        assert "    class completed current\n" in text

    def test_engine_run(self):
        """A run moved by the engine is drawn from its own status and history."""
        engine = RunEngine(clock=ManualClock(1_700_000_000))
        run = engine.create(id="run_1", assistant_id="asst_1", thread_id="thread_1", model="m")
        run.start()
        run.cancel()
        run.finish_cancel()
        text = mermaid(run=run)
        assert "    in_progress --> cancelling: cancel (step 2)\n" in text
        assert "    class cancelled current\n" in text
        history = [move.to_dict() for move in run.history]
        assert text == mermaid(run=to_dict(run), history=history)

    def test_wire_dict_and_dicts_equal_run_and_moves(self):
        """A wire dict with move dicts draws the same as a run object with Move objects."""
        run = FakeRun("run_abc", RunStatus.COMPLETED, PATH)
        wire = {"id": "run_abc", "status": "completed", "object": "thread.run"}
        moves = [move.to_dict() for move in PATH]
        assert mermaid(run=wire, history=moves) == mermaid(run=run)
        assert dot(run=wire, history=moves) == dot(run=run)

    def test_given_history_wins_over_run_history(self):
        """history= replaces the run's own history."""
        run = FakeRun("run_abc", "in_progress", PATH[:1])
        assert mermaid(run=run, history=PATH[:4]) == mermaid(
            run=attrs.evolve(run, history=PATH[:4])
        )

    def test_run_without_history(self):
        """A run with no moves shows only where it is."""
        text = dot(run={"status": "queued"})
        assert 'label="a run: queued\\nno moves, numbered along the blue path' in text
        assert (
            '"queued" [fillcolor="#ffcf70", color="#b35900", penwidth="2.5", class="current"]'
            in text
        )
        assert 'class="path"' not in text
        assert 'title: "a run in status queued"\n' in mermaid(run={"status": "queued"})

    def test_run_id_is_escaped(self):
        """A run id with quotes, backslashes or newlines cannot break out of its string."""
        run = {"id": 'run_"x\\\ny', "status": "queued"}
        assert 'title: "run run_\\"x\\\\\\ny: queued"\n' in mermaid(run=run)
        assert 'label="run run_\\"x\\\\\\ny: queued\\nno moves' in dot(run=run)

    @pytest.mark.parametrize(
        ("run", "history", "message"),
        [
            pytest.param({}, None, "invalid run: $.status: missing", id="no-status"),
            pytest.param(
                {"status": 3},
                None,
                "invalid run: $.status: expected a status string, got a number",
                id="int",
            ),
            pytest.param(
                {"status": "complete"},
                None,
                "invalid run: $.status: unknown status 'complete'; did you mean 'completed'? "
                "allowed: queued, in_progress, requires_action, cancelling, cancelled, failed, "
                "completed, incomplete, expired",
                id="unknown-status",
            ),
            pytest.param(
                {"status": "in_progress"},
                [{"trigger": "strat", "source": "queued", "dest": "in_progress"}],
                "invalid run: $.history[0].trigger: unknown trigger 'strat'; did you mean 'start'? "
                "allowed: start, require_action, submit_tool_outputs, complete, mark_incomplete, "
                "fail, cancel, finish_cancel, expire",
                id="unknown-trigger",
            ),
            pytest.param(
                {"status": "completed"},
                [{"trigger": "complete", "source": "queued", "dest": "completed"}],
                "invalid run: $.history[0]: complete does not move a run from queued to completed: "
                "it moves from in_progress, cancelling to completed",
                id="not-in-table",
            ),
            pytest.param(
                {"status": "in_progress"},
                [PATH[0], PATH[3]],
                "invalid run: $.history[1].source: expected 'in_progress' ($.history[0] "
                "ended), got 'queued'",
                id="broken-chain",
            ),
            pytest.param(
                {"status": "queued"},
                PATH[:2],
                "invalid run: $.status: 'queued' is not where the history ends ('requires_action')",
                id="wrong-end",
            ),
            pytest.param(
                {"status": "queued"},
                [{"source": "queued", "dest": None}, 7],
                "invalid run:\n$.history[0].dest: expected a status string, got null\n"
                "$.history[0].trigger: missing\n"
                "$.history[1]: expected a move with trigger, source and dest",
                id="malformed-moves",
            ),
        ],
    )
    def test_bad_input_is_refused(self, run, history, message):
        """A status or history that the table could not have made raises InvalidRun with paths."""
        with pytest.raises(InvalidRun) as info:
            mermaid(run=run, history=history)
        assert str(info.value) == message

    def test_history_needs_a_run(self):
        """history= alone is a programming error."""
        with pytest.raises(TypeError) as info:
            dot(history=PATH)
        assert str(info.value) == "history= needs run=: the run's status is the end of its path"

    def test_run_must_look_like_a_run(self):
        """Something that is neither a wire dict nor has a status is refused."""
        with pytest.raises(TypeError) as info:
            dot(run=42)
        assert str(info.value) == "run= takes a run (with .status) or a run's wire dict, not int"


def _not_installed(name: str) -> Any:
    raise importlib.metadata.PackageNotFoundError(name)


class TestRender:
    def test_svg(self):
        """SVG marks terminal, current and path elements with classes and has no version."""
        svg = render("svg", run=FakeRun("run_abc", RunStatus.COMPLETED, PATH)).decode("utf-8")
        assert svg.startswith('<?xml version="1.0" encoding="UTF-8" standalone="no"?>\n')
        assert "Generated by" not in svg
        assert "16.1" not in svg
        assert svg.count('class="node terminal"') == len(TERMINALS) - 1
        assert svg.count('class="node terminal current"') == 1
        assert svg.count('class="node visited"') == 3
        assert svg.count('class="edge path"') == 4
        for trigger in TRIGGERS:
            assert f">{trigger}</text>" in svg

    def test_png(self):
        """PNG is a PNG, and the same bytes each time."""
        first = render("png")
        assert first.startswith(b"\x89PNG\r\n\x1a\n")
        assert render("png") == first

    def test_unknown_format(self):
        """render() draws pictures only."""
        with pytest.raises(ValueError, match=r"^render\(\) draws 'svg' or 'png', not 'mermaid'; "):
            render("mermaid")  # type: ignore[arg-type]

    def test_missing_renderer_says_how_to_install_it(self, monkeypatch):
        """Without the extra, SVG fails with the pip command, and no other engine steps in."""
        monkeypatch.setattr(importlib.metadata, "distribution", _not_installed)
        with pytest.raises(DiagramsUnavailable) as info:
            render("svg")
        assert str(info.value) == (
            "rendering svg needs graphviz-pure, which is not installed; install it with: "
            'pip install ".[diagrams]" from a checkout of runlife, or pip install '
            '"runlife[diagrams]" once it is on a package index (Mermaid and DOT text need nothing '
            "more)"
        )
        assert isinstance(info.value, RunlifeError)

    def test_system_graphviz_only_when_asked_and_present(self, monkeypatch):
        """engine='graphviz' needs dot on PATH, and says so."""
        monkeypatch.setenv("PATH", "")
        with pytest.raises(DiagramsUnavailable) as info:
            render("png", engine="graphviz")
        assert str(info.value) == (
            "rendering png with engine 'graphviz' needs Graphviz's dot program on PATH, which "
            "was not found; install Graphviz, or use the default engine: "
            'pip install ".[diagrams]" from a checkout of runlife, or pip install '
            '"runlife[diagrams]" once it is on a package index'
        )

    def test_system_graphviz_is_run_and_its_version_dropped(self, monkeypatch, tmp_path):
        """engine='graphviz' runs the dot on PATH; the SVG loses its generator comment."""
        fake = tmp_path / "dot"
        fake.write_text(
            "#!/bin/sh\ncat > /dev/null\n"
            "printf '<?xml?>\\n<!-- Generated by graphviz version 2.43.0 (0)\\n -->\\n<svg/>\\n'\n"
        )
        fake.chmod(0o755)
        monkeypatch.setenv("PATH", str(tmp_path))
        assert render("svg", engine="graphviz") == b"<?xml?>\n<svg/>\n"

    def test_renderer_failure(self, monkeypatch, tmp_path):
        """A failing renderer raises RunlifeError with its exit code and message."""
        fake = tmp_path / "dot"
        fake.write_text("#!/bin/sh\necho 'Error: syntax error in line 1' >&2\nexit 3\n")
        fake.chmod(0o755)
        monkeypatch.setenv("PATH", str(tmp_path))
        with pytest.raises(RunlifeError) as info:
            render("svg", engine="graphviz")
        assert (
            str(info.value)
            == "graphviz could not render svg (exit 3): Error: syntax error in line 1"
        )


class TestDeterminism:
    SCRIPT = """
import sys
from runlife._history import Move
from runlife.diagrams import dot, mermaid, render
moves = [Move("start", "queued", "in_progress", 1), Move("cancel", "in_progress", "cancelling", 2)]
run = {"id": "run_1", "status": "cancelling"}
texts = [mermaid(), dot(guards=True), mermaid(run=run, history=moves), dot(run=run, history=moves)]
pictures = [render("svg"), render("svg", run=run, history=moves, guards=True)]
sys.stdout.buffer.write("".join(texts).encode() + b"".join(pictures))
"""

    def test_same_bytes_under_any_hash_seed(self):
        """Text and SVG are byte-identical across interpreter runs with different hash seeds."""
        outputs = set()
        for seed in ("0", "1", "4242"):
            env = {**os.environ, "PYTHONHASHSEED": seed, "PYTHONPATH": _package_root()}
            done = subprocess.run(
                [sys.executable, "-c", self.SCRIPT], capture_output=True, env=env, check=True
            )
            outputs.add(done.stdout)
        assert len(outputs) == 1


def _package_root() -> str:
    """The folder holding the runlife package under test, for subprocesses."""
    return str(Path(runlife.diagrams.__file__).parent.parent)


REGENERATE = (
    "the committed diagrams are out of date with the machine; regenerate them with:\n"
    "  runlife diagram --format mermaid --output diagrams/run_lifecycle.mmd\n"
    "  runlife diagram --format dot --output diagrams/run_lifecycle.dot\n"
    "  runlife diagram --format svg --output diagrams/run_lifecycle.svg\n"
    "  runlife diagram --steps --format mermaid --output diagrams/step_lifecycle.mmd\n"
    "  runlife diagram --steps --format dot --output diagrams/step_lifecycle.dot\n"
    "  runlife diagram --steps --format svg --output diagrams/step_lifecycle.svg"
)


class TestCommittedDiagrams:
    @pytest.mark.parametrize(
        ("name", "make"),
        [
            ("run_lifecycle.mmd", lambda: mermaid().encode("utf-8")),
            ("run_lifecycle.dot", lambda: dot().encode("utf-8")),
            ("run_lifecycle.svg", lambda: render("svg")),
            ("step_lifecycle.mmd", lambda: mermaid(table=STEP_TABLE).encode("utf-8")),
            ("step_lifecycle.dot", lambda: dot(table=STEP_TABLE).encode("utf-8")),
            ("step_lifecycle.svg", lambda: render("svg", table=STEP_TABLE)),
        ],
        ids=["mermaid", "dot", "svg", "step-mermaid", "step-dot", "step-svg"],
    )
    def test_committed_file_matches_machine(self, name, make):
        """diagrams/ holds exactly what the code draws today."""
        path = ROOT / "diagrams" / name
        committed = path.read_bytes() if path.is_file() else b"(missing)"
        assert committed == make(), REGENERATE

    def test_docs_embed_the_committed_mermaid(self):
        """The Mermaid block in docs/diagrams.md is the committed diagram."""
        docs = (ROOT / "docs" / "diagrams.md").read_text(encoding="utf-8")
        block = docs.split("```mermaid\n", 1)[1].split("```", 1)[0]
        assert block == mermaid(), "copy diagrams/run_lifecycle.mmd into docs/diagrams.md"

    def test_docs_embed_the_committed_step_mermaid(self):
        """The second Mermaid block in docs/diagrams.md is the committed step diagram."""
        docs = (ROOT / "docs" / "diagrams.md").read_text(encoding="utf-8")
        block = docs.split("```mermaid\n", 2)[2].split("```", 1)[0]
        assert block == mermaid(table=STEP_TABLE), (
            "copy diagrams/step_lifecycle.mmd into docs/diagrams.md"
        )


class TestStepLifecycle:
    def test_an_edge_per_step_table_row(self):
        """Each row of the step table is an edge from in_progress, in Mermaid and DOT."""
        text, source = mermaid(table=STEP_TABLE), dot(table=STEP_TABLE)
        assert "    [*] --> in_progress\n" in text
        assert '__start__ -> "in_progress";' in source
        for row in STEP_TABLE.rows:
            assert f"    in_progress --> {row.dest.value}: {row.trigger} (by " in text
            assert f'"in_progress" -> "{row.dest.value}" [label="{row.trigger}\\n(by ' in source

    def test_terminal_statuses_are_the_step_ends(self):
        """The step's ends, and only they, are terminal: [*] in Mermaid, a double border in DOT."""
        text, source = mermaid(table=STEP_TABLE), dot(table=STEP_TABLE)
        ends = {s.value for s in STEP_TERMINAL}
        assert {line.split()[0] for line in text.splitlines() if line.endswith("--> [*]")} == ends
        doubled = {
            line.split()[0].strip('"') for line in source.splitlines() if "peripheries" in line
        }
        assert doubled == ends
        assert source.startswith("digraph step_lifecycle {")

    def test_each_end_names_the_run_moves_that_make_it(self):
        """An edge's note lists every run trigger whose coupling ends the open step so, then
        every step move of the driver's that does."""
        text = mermaid(table=STEP_TABLE)
        for row in STEP_TABLE.rows:
            makers = [c.trigger for c in COUPLING.values() if row.trigger in (c.ends, c.unanswered)]
            makers += [op.name for op in runlife.STEP_OPS.values() if op.ends == row.trigger]
            assert makers
            assert f": {row.trigger} (by {', '.join(makers)})\n" in text

    def test_guards_change_nothing(self):
        """A step's moves have no guards: guards=True draws the same."""
        assert mermaid(table=STEP_TABLE, guards=True) == mermaid(table=STEP_TABLE)
        assert dot(table=STEP_TABLE, guards=True) == dot(table=STEP_TABLE)

    def test_no_run_path_on_a_step_diagram(self):
        with pytest.raises(TypeError, match="run= draws a run's path through the run's table"):
            mermaid(table=STEP_TABLE, run={"status": "queued"})

    def test_not_a_table(self):
        with pytest.raises(
            TypeError, match=r"expected a runlife\.Table or runlife\.StepTable, got list"
        ):
            mermaid(table=[])  # type: ignore[arg-type]

    def test_the_run_diagram_is_unchanged(self):
        """The run's diagram has no notes: its committed files did not move (see above)."""
        assert "(by " not in mermaid()
