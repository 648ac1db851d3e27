"""docs/lifecycle.md's tables are the contract: each row is checked against the library.

The constraint table says, for each documented rule, whether the engine refuses it on write
and what ``check`` reports on load; the defaults table says what ``fill_missing=True`` puts
in each field an older payload lacks. A row that stops being true fails here.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

import runlife
from runlife import _check
from runlife._constraints import MISSING_DEFAULTS

DOC = Path(__file__).resolve().parents[1] / "docs" / "lifecycle.md"
BASE: dict[str, Any] = {"assistant_id": "asst_1", "thread_id": "thread_1", "model": "gpt-4o"}


def table(header: str) -> list[list[str]]:
    """The rows of the markdown table whose header line starts with *header*, as cells."""
    lines = DOC.read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(header))
    rows = []
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        rows.append([cell.strip() for cell in line.strip("|").split("|")])
    return rows


def code_of(cell: str) -> list[str]:
    return re.findall(r"`([a-z-]+)`", cell)


CONSTRAINTS = table("| constraint |")
EXAMPLES = [row for row in CONSTRAINTS if row[4]]
DEFAULTS = table("| field | filled with |")


def test_the_tables_are_there() -> None:
    assert len(CONSTRAINTS) >= 20
    assert len(EXAMPLES) >= 15


def test_the_defaults_table_names_every_field_fill_missing_can_fill() -> None:
    assert [row[0].strip("`") for row in DEFAULTS] == list(MISSING_DEFAULTS)


def test_every_code_in_the_constraint_table_is_a_code_check_reports() -> None:
    documented = set(re.findall(r"^``([a-z-]+)``", _check.__doc__ or "", re.MULTILINE))
    for row in CONSTRAINTS:
        for code in code_of(row[3]):
            assert code in documented, f"{code!r} (row {row[0]!r}) is no finding code"


@pytest.mark.parametrize("row", EXAMPLES, ids=[row[4] for row in EXAMPLES])
def test_each_example_is_refused_or_reported_on_write_as_documented(row: list[str]) -> None:
    fields: dict[str, Any] = eval(f"dict({row[4].strip('`')})")  # noqa: S307 - our own docs
    engine = runlife.RunEngine()
    codes = code_of(row[3])
    if row[1] == "refused":
        with pytest.raises(runlife.InvalidRun) as refused:
            engine.create(**BASE, **fields)
        field = next(iter(fields))
        assert f"$.{field}" in str(refused.value)
    else:
        assert row[1] == "accepted, reported"
        run = engine.create(**BASE, **fields)
        assert {f.code for f in runlife.check(run)} & set(codes)


@pytest.mark.parametrize("row", EXAMPLES, ids=[row[4] for row in EXAMPLES])
def test_each_example_loads_and_is_reported_on_load(row: list[str]) -> None:
    """What the engine refuses on write, a payload may carry: it loads, and check reports it."""
    fields: dict[str, Any] = eval(f"dict({row[4].strip('`')})")  # noqa: S307 - our own docs
    assert row[2] == "reported"
    payload = runlife.to_dict(runlife.RunEngine().create(**BASE))
    payload.update(json.loads(json.dumps(fields)))
    run = runlife.from_dict(payload)
    found = runlife.check(run)
    assert {f.code for f in found} & set(code_of(row[3])), found
    assert all(f.kind == "rule" for f in found)
    assert json.dumps(runlife.to_dict(run)) == json.dumps(payload)


def documented_defaults() -> dict[str, Any]:
    """docs/lifecycle.md's defaults table: each field an older shape may lack, and its value."""
    return {row[0].strip("`"): json.loads(row[1].strip("`")) for row in DEFAULTS}


def test_the_defaults_table_is_what_fill_missing_fills() -> None:
    full = runlife.to_dict(runlife.RunEngine().create(**BASE))
    for field, value in documented_defaults().items():
        older = {k: v for k, v in full.items() if k != field}
        with pytest.raises(runlife.InvalidRun):
            runlife.from_dict(older)
        run = runlife.from_dict(older, fill_missing=True)
        assert runlife.to_dict(run)[field] == value
        assert list(runlife.to_dict(run)) == list(full), "filled at its API position"
        found = [(f.code, f.path) for f in runlife.check(run)]
        assert ("filled-missing-field", f"$.{field}") in found
        # The default may break an invariant of the run's status (a queued run's null
        # expires_at): check names it too, on the same field, and nothing else.
        assert {path for _, path in found} == {f"$.{field}"}
        assert runlife.RunEngine().load(older, fill_missing=True).filled == (field,)


COUPLING_ROWS = table("| run trigger | what happens to the run's steps |")
STEP_ROWS = table("| step trigger | to | stamp |")
STEP_OP_ROWS = table("| step move | run status | what it does |")


def test_the_coupling_table_is_runlife_coupling() -> None:
    """Row by row: the trigger and its sentence (``Coupling.note``), in the table's order."""
    assert [(row[0].strip("`"), row[1]) for row in COUPLING_ROWS] == [
        (trigger, runlife.COUPLING[trigger].note) for trigger in runlife.TRIGGERS
    ]


def test_the_step_table_is_runlife_step_table() -> None:
    assert [(row[0].strip("`"), row[1], row[2].split()[0].strip("`")) for row in STEP_ROWS] == [
        (r.trigger, r.dest.value, r.stamp) for r in runlife.STEP_TABLE.rows
    ]


def test_the_step_moves_table_is_runlife_step_ops() -> None:
    assert [
        (row[0].split("(")[0].removeprefix("`run."), row[1], row[2]) for row in STEP_OP_ROWS
    ] == [
        (op.name, ", ".join(s.value for s in op.sources), op.note)
        for op in runlife.STEP_OPS.values()
    ]
