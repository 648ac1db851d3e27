"""Every (status, trigger) pair against the spec's table, and the table's own soundness."""

from __future__ import annotations

import pytest
from transitions import MachineError

import runlife
from runlife import STEP_OPS, TRANSITIONS, TRIGGERS, IllegalTransition, Run, RunStatus, to_dict
from tests.support import PATHS, SPEC, fire, may, new_engine, run_in

PAIRS = [(s, t) for s in RunStatus for t in TRIGGERS]


class TestTableData:
    def test_matches_spec(self):
        """The table runlife uses is the spec's table."""
        assert {
            t.trigger: ({s.value for s in t.sources}, t.dest.value) for t in TRANSITIONS
        } == SPEC

    def test_terminal_statuses_have_no_exits(self):
        """Nothing leaves a terminal status."""
        offenders = [t.trigger for t in TRANSITIONS if set(t.sources) & runlife.TERMINAL]
        assert offenders == []

    def test_every_status_reachable_and_no_traps(self):
        """Every status is reachable from queued, and every active status can reach a terminal one."""
        reach = {RunStatus.QUEUED}
        while True:
            new = {t.dest for t in TRANSITIONS if set(t.sources) & reach} - reach
            if not new:
                break
            reach |= new
        assert reach == set(RunStatus)
        for status in runlife.ACTIVE:
            assert any(status in t.sources and t.dest in runlife.TERMINAL for t in TRANSITIONS)

    def test_run_methods_are_the_triggers(self):
        """Run has exactly one public method per trigger, and a may_ twin for each."""
        public = {n for n in vars(Run) if not n.startswith("_") and callable(getattr(Run, n))}
        # and the driver's two step moves (runlife.STEP_OPS), which have no may_ twin
        assert {n for n in public if not n.startswith("may_")} == {*TRIGGERS, *STEP_OPS}
        assert {n[4:] for n in public if n.startswith("may_")} == set(TRIGGERS)

    def test_no_bypass(self):
        """There is no to_<status> helper and no public status setter."""
        engine, clock = new_engine()
        run = run_in(RunStatus.QUEUED, engine, clock)
        assert not any(hasattr(run, f"to_{s.value}") for s in RunStatus)
        with pytest.raises(AttributeError):
            run.status = RunStatus.COMPLETED  # type: ignore[misc]
        assert run.status == "queued"


@pytest.mark.parametrize(("status", "trigger"), PAIRS, ids=[f"{s.value}-{t}" for s, t in PAIRS])
def test_pair(status: RunStatus, trigger: str) -> None:
    """A legal pair moves to the table's destination; an illegal one raises and changes nothing."""
    engine, clock = new_engine()
    run = run_in(status, engine, clock)
    clock.advance(engine.ttl)  # so that expire's guard passes where the table allows it
    sources, dest = SPEC[trigger]
    if status.value in sources:
        assert may(run, trigger)
        fire(run, trigger)
        assert run.status == dest
        assert runlife.check(run) == []
    else:
        before = to_dict(run)
        assert not may(run, trigger)
        with pytest.raises(IllegalTransition) as info:
            fire(run, trigger)
        err = info.value
        assert isinstance(err, MachineError)
        assert (err.run_id, err.trigger, err.status) == ("run_abc", trigger, status.value)
        allowed = [t for t in TRIGGERS if status.value in SPEC[t][0]]
        assert list(err.allowed) == allowed
        tail = (
            f"from {status.value} you may {', '.join(allowed)}"
            if allowed
            else f"{status.value} is terminal: nothing leaves it"
        )
        from_ = ", ".join(
            s for s in ("queued", "in_progress", "requires_action", "cancelling") if s in sources
        )
        assert str(err) == (
            f"cannot {trigger}() run run_abc in status {status.value!r}: "
            f"{trigger} is allowed from {from_}; {tail}"
        )
        assert to_dict(run) == before


def test_spec_example_message() -> None:
    """The error message has the spec's exact form."""
    engine, clock = new_engine()
    run = run_in(RunStatus.QUEUED, engine, clock)
    with pytest.raises(IllegalTransition) as info:
        run.complete()
    assert str(info.value) == (
        "cannot complete() run run_abc in status 'queued': complete is allowed from "
        "in_progress, cancelling; from queued you may start, fail, cancel, expire"
    )


def test_paths_cover_all_statuses() -> None:
    """The support paths reach every status (guards the table test itself)."""
    engine, clock = new_engine()
    for status in RunStatus:
        assert run_in(status, engine, clock, id=f"run_{status.value}").status == status
    assert set(PATHS) == set(RunStatus)
