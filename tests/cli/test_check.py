"""``runlife check``: one line per problem, a summary, and exit codes 0/1/2."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from runlife.cli import main
from tests.conftest import PAYLOAD_ORDER, PAYLOADS, load_payload


def run_cli(
    args: list[str], capsys: pytest.CaptureFixture[str], stdin: str = ""
) -> tuple[int, str, str]:
    sys_stdin = sys.stdin
    sys.stdin = io.StringIO(stdin)
    try:
        code = main(["check", *args])
    finally:
        sys.stdin = sys_stdin
    out, err = capsys.readouterr()
    return code, out, err


def test_real_payloads_are_clean(capsys):
    """The recorded API run checks clean: exit 0."""
    code, out, _ = run_cli([str(PAYLOADS / n) for n in PAYLOAD_ORDER], capsys)
    assert code == 0
    assert out == "checked 6 runs in 6 files: 0 with errors, 0 errors, 0 warnings\n"


def test_array_and_jsonl(tmp_path: Path, capsys):
    """Arrays are indexed, JSON Lines are numbered by line; errors fail, rule breaks warn."""
    good = load_payload("openai-dotnet-completed-1.json")
    rule = dict(good, max_completion_tokens=16)
    broken = dict(good)
    del broken["model"]
    (tmp_path / "runs.json").write_text(json.dumps([good, rule]))
    (tmp_path / "runs.jsonl").write_text(
        json.dumps(good) + "\n\n" + json.dumps(broken) + "\n{oops\n"
    )
    code, out, _ = run_cli([str(tmp_path / "runs.json"), str(tmp_path / "runs.jsonl")], capsys)
    a, b = tmp_path / "runs.json", tmp_path / "runs.jsonl"
    assert code == 1
    assert out.splitlines() == [
        (
            f"{a}[1] warning: $.max_completion_tokens: the API documents a minimum of 256, got int 16 "
            "(the live API accepts it: reported, not refused) [rule/below-documented-minimum]"
        ),
        f"{b}:3 $.model: missing [structure/missing-field]",
        f"{b}:4 $: malformed JSON: Expecting property name enclosed in double quotes: line 1 column 2 (char 1) [structure/malformed-json]",
        "checked 5 runs in 2 files: 2 with errors, 2 errors, 1 warning",
    ]


def test_rule_warnings_pass_unless_strict(tmp_path: Path, capsys):
    """Rule findings exit 0, and 1 with --strict."""
    path = tmp_path / "run.json"
    path.write_text(json.dumps(dict(load_payload("openai-dotnet-queued-1.json"), metadata=None)))
    assert run_cli([str(path)], capsys)[0] == 0
    code, out, _ = run_cli(["--strict", str(path)], capsys)
    assert code == 1
    assert out.splitlines()[0].startswith(f"{path} $.metadata: ")


def test_invariant_is_an_error(capsys):
    """A broken invariant read from stdin exits 1."""
    data = dict(load_payload("openai-dotnet-completed-1.json"), expires_at=1761862279)
    code, out, _ = run_cli(["-"], capsys, stdin=json.dumps(data))
    assert code == 1
    assert out.splitlines()[0].startswith("<stdin> $.expires_at: ")
    assert "[invariant/invariant-expires-at]" in out


def test_missing_file_is_usage_error(tmp_path: Path, capsys):
    """An unreadable file exits 2 with a message naming it and the OS's reason, no [Errno]."""
    code, out, err = run_cli([str(tmp_path / "nope.json")], capsys)
    assert code == 2
    assert out == "checked 0 runs in 1 file (1 unreadable): 0 with errors, 0 errors, 0 warnings\n"
    assert (
        err
        == f"runlife check: error: {tmp_path / 'nope.json'}: cannot read: No such file or directory\n"
    )


def test_unreadable_files_do_not_stop_the_others(tmp_path: Path, capsys):
    """Each file is reported in turn: the good ones around a missing, a directory, a non-UTF-8 one."""
    good = str(PAYLOADS / PAYLOAD_ORDER[0])
    broken = dict(load_payload(PAYLOAD_ORDER[0]))
    del broken["model"]
    (tmp_path / "broken.json").write_text(json.dumps(broken))
    (tmp_path / "latin1.json").write_bytes(b'{"x": "\xe9"}')
    files = [good, str(tmp_path / "nope.json"), str(tmp_path), str(tmp_path / "latin1.json")]
    code, out, err = run_cli([*files, str(tmp_path / "broken.json"), good], capsys)
    assert code == 2  # unreadable files win over findings
    assert out.splitlines() == [
        f"{tmp_path / 'broken.json'} $.model: missing [structure/missing-field]",
        "checked 3 runs in 6 files (3 unreadable): 1 with errors, 1 error, 0 warnings",
    ]
    assert err.splitlines() == [
        f"runlife check: error: {tmp_path / 'nope.json'}: cannot read: No such file or directory",
        f"runlife check: error: {tmp_path}: cannot read: Is a directory",
        f"runlife check: error: {tmp_path / 'latin1.json'}: not UTF-8 text (byte 0xe9 at offset 7)",
    ]
    assert "Errno" not in err


@pytest.mark.parametrize(("extra", "code"), [([], 0), (["broken"], 1), (["nope"], 2)])
def test_exit_code_is_the_worst_outcome(tmp_path: Path, capsys, extra, code):
    """0 clean, 1 findings alone, 2 when a file could not be read."""
    broken = dict(load_payload(PAYLOAD_ORDER[0]), status="complete")
    (tmp_path / "broken").write_text(json.dumps(broken))
    good = str(PAYLOADS / PAYLOAD_ORDER[0])
    assert run_cli([good, *(str(tmp_path / e) for e in extra)], capsys)[0] == code


def test_no_files_is_usage_error(capsys):
    """No FILE is an argparse usage error: exit 2."""
    with pytest.raises(SystemExit) as info:
        main(["check"])
    assert info.value.code == 2
    assert "the following arguments are required: FILE" in capsys.readouterr().err


def test_module_entry_point():
    """python -m runlife check works as the console script does."""
    out = subprocess.run(
        [sys.executable, "-m", "runlife", "check", str(PAYLOADS / PAYLOAD_ORDER[0])],
        capture_output=True,
        text=True,
        check=False,
    )
    assert (out.returncode, out.stdout) == (
        0,
        "checked 1 run in 1 file: 0 with errors, 0 errors, 0 warnings\n",
    )


OLD_SHAPES = Path(__file__).parents[1] / "data" / "old-shapes"


def test_fill_missing_exits_0_with_warnings(capsys):
    """--fill-missing reads an older shape: each filled field is a warning, exit 0; without
    the flag the missing fields are errors."""
    path = str(OLD_SHAPES / "v2-2024-04-queued.json")
    code, out, _ = run_cli([path], capsys)
    assert code == 1
    assert f"{path} $.parallel_tool_calls: missing [structure/missing-field]" in out
    code, out, _ = run_cli(["--fill-missing", path], capsys)
    assert code == 0
    assert out.splitlines() == [
        (
            f"{path} warning: $.parallel_tool_calls: missing from the payload (an older API shape): "
            "filled with the API's default true [rule/filled-missing-field]"
        ),
        "checked 1 run in 1 file: 0 with errors, 0 errors, 1 warning",
    ]
    code, _, _ = run_cli(["--fill-missing", "--strict", path], capsys)
    assert code == 1


def test_fill_missing_still_reports_invariants(capsys):
    """An old shape that breaks an invariant still fails with --fill-missing."""
    path = str(OLD_SHAPES / "compatible-expired-with-completed_at.json")
    code, out, _ = run_cli(["--fill-missing", path], capsys)
    assert code == 1
    assert "[invariant/invariant-end-stamp]" in out


def test_completed_with_incomplete_details_is_a_warning(tmp_path: Path, capsys):
    """A completed payload carrying incomplete_details (real ones do): exit 0, one warning."""
    data = dict(load_payload("openai-dotnet-completed-1.json"))
    data["incomplete_details"] = {"reason": "max_completion_tokens"}
    path = tmp_path / "run.json"
    path.write_text(json.dumps(data))
    code, out, _ = run_cli([str(path)], capsys)
    assert code == 0
    assert "warning: $.incomplete_details: " in out
    assert "[rule/incomplete-details-set]" in out


def test_steps_and_list_pages(tmp_path: Path, capsys):
    """A step is checked as a step, a list page ({"object": "list"}) as its items."""
    from tests.test_steps import RECORDED_STEP

    bad = dict(RECORDED_STEP, completed_at=None)
    page = {"object": "list", "data": [RECORDED_STEP, bad], "has_more": False}
    (tmp_path / "steps.json").write_text(json.dumps(page))
    (tmp_path / "step.json").write_text(json.dumps(RECORDED_STEP))
    code, out, _ = run_cli([str(tmp_path / "steps.json"), str(tmp_path / "step.json")], capsys)
    assert code == 1
    assert out.splitlines() == [
        (
            f"{tmp_path / 'steps.json'}.data[1] $.completed_at: completed_at is null in status "
            "'completed'; it is set iff the step is completed [invariant/step-end-stamp]"
        ),
        "checked 0 runs and 3 steps in 2 files: 1 with errors, 1 error, 0 warnings",
    ]
