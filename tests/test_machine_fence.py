"""The transitions machine's fast event, held to the stock one, and its fence.

This tests a core module's fence, so it imports ``runlife._machine`` directly: ``FastEvent``,
``check_machine``, ``build_machine`` and the ``Model`` adapter are what every move of the
engine goes through, and no public name exposes them. Through the public API the machine's
refusal path cannot be reached at all (the engine refuses an illegal trigger before the
machine sees it), so it is triggered here on the events themselves.
"""

from __future__ import annotations

from typing import Any

import pytest
from transitions import Event, Machine, MachineError

from runlife import TABLE, TRIGGERS, RunStatus
from runlife._machine import MACHINE, FastEvent, Model, build_machine, check_machine, events_of

PAIRS = [(s, t) for s in RunStatus for t in TRIGGERS]


class _FastMachine(Machine):
    event_cls = FastEvent


def _fast(**changes: Any) -> Machine:
    """A machine of the table's configuration on FastEvent, *changes* applied."""
    return _FastMachine(model=None, **{**TABLE.machine_config(), **changes})


class _State:
    """A plain model of the stock machine: just a state."""

    def __init__(self, state: str) -> None:
        self.state = state


@pytest.mark.parametrize(("status", "trigger"), PAIRS, ids=[f"{s.value}-{t}" for s, t in PAIRS])
def test_the_fast_event_does_what_the_stock_one_does(status: RunStatus, trigger: str) -> None:
    """On every (status, trigger): the same destination, or a MachineError as the stock one."""
    stock = Machine(model=None, **TABLE.machine_config())
    model = _State(status.value)
    changes: dict[str, Any] = {}
    fast = events_of(MACHINE)[trigger]
    assert type(fast) is FastEvent
    if status in TABLE.row(trigger).sources:
        assert stock.events[trigger].trigger(model) is True
        assert fast.trigger(Model(status, changes)) is True
        assert changes == {"status": RunStatus(model.state)}
        assert changes["status"] is TABLE.row(trigger).dest
    else:
        with pytest.raises(MachineError) as expected:
            stock.events[trigger].trigger(model)
        with pytest.raises(MachineError) as got:
            fast.trigger(Model(status, changes))
        # The words differ (the engine never shows them: it refuses before the machine).
        for name in (trigger, status.value):
            assert name in expected.value.value
            assert name in got.value.value
        assert changes == {}
        assert model.state == status.value


def test_the_machine_holds_no_models() -> None:
    assert MACHINE.models == []
    assert set(events_of(MACHINE)) == set(TRIGGERS)


def test_build_machine_checks_what_it_builds() -> None:
    """The table's machine passes, and a table with one more row gives one more event."""
    check_machine(MACHINE)
    check_machine(_fast())
    assert set(build_machine(TABLE).events) == set(TRIGGERS)


def _with_transition(**options: Any) -> Machine:
    machine = _fast()
    machine.add_transition("start", "queued", "in_progress", **options)
    machine.events["start"].transitions["queued"].pop(0)  # keep one transition from queued
    return machine


def _noop(*_: object) -> None:
    pass


def _on_enter() -> Machine:
    machine = _fast()
    machine.get_state("completed").add_callback("enter", _noop)
    return machine


def _on_exit() -> Machine:
    machine = _fast()
    machine.get_state("queued").add_callback("exit", _noop)
    return machine


def _two_from_one_source() -> Machine:
    machine = _fast()
    machine.add_transition("start", "queued", "failed")
    return machine


def _stock_event() -> Machine:
    machine = _fast()
    stock = Event("start", machine)
    stock.transitions = machine.events["start"].transitions
    machine.events["start"] = stock
    return machine


#: Machines the fast event would not drive faithfully, and what the check must name.
SKIPPED: dict[str, tuple[Any, str]] = {
    "conditions": (lambda: _with_transition(conditions=[lambda: True]), "conditions or callbacks"),
    "unless": (lambda: _with_transition(unless=[lambda: False]), "conditions or callbacks"),
    "prepare": (lambda: _with_transition(prepare=[_noop]), "conditions or callbacks"),
    "before": (lambda: _with_transition(before=[_noop]), "conditions or callbacks"),
    "after": (lambda: _with_transition(after=[_noop]), "conditions or callbacks"),
    "two transitions from one source": (
        _two_from_one_source,
        "start has 2 transitions from queued",
    ),
    "before_state_change": (lambda: _fast(before_state_change=[_noop]), "machine-level callbacks"),
    "after_state_change": (lambda: _fast(after_state_change=[_noop]), "machine-level callbacks"),
    "prepare_event": (lambda: _fast(prepare_event=[_noop]), "machine-level callbacks"),
    "finalize_event": (lambda: _fast(finalize_event=[_noop]), "machine-level callbacks"),
    "on_exception": (lambda: _fast(on_exception=[_noop]), "machine-level callbacks"),
    "on_final": (lambda: _fast(on_final=[_noop]), "machine-level callbacks"),
    "queued": (lambda: _fast(queued=True), "a queue or ignored invalid triggers"),
    "ignore_invalid_triggers": (
        lambda: _fast(ignore_invalid_triggers=True),
        "a queue or ignored invalid triggers",
    ),
    "model_attribute": (lambda: _fast(model_attribute="status"), "model attribute 'status'"),
    "on_enter": (_on_enter, "state 'completed' has callbacks"),
    "on_exit": (_on_exit, "state 'queued' has callbacks"),
    "stock machine": (lambda: Machine(model=None, **TABLE.machine_config()), "not a FastEvent"),
    "stock event": (_stock_event, "start is a Event, not a FastEvent"),
}


@pytest.mark.parametrize(("build", "named"), SKIPPED.values(), ids=list(SKIPPED))
def test_check_machine_refuses_what_the_fast_event_would_skip(build: Any, named: str) -> None:
    machine = build()
    with pytest.raises(RuntimeError, match="runlife's machine would skip: ") as info:
        check_machine(machine)
    assert named in str(info.value)


def test_the_fast_event_runs_no_callbacks_so_the_fence_is_needed() -> None:
    """Why the fence exists: on a FastEvent, a condition is silently not consulted."""
    machine = _with_transition(conditions=[lambda: False])
    model = Model(RunStatus.QUEUED, {})
    machine.events["start"].trigger(model)
    assert model.changes == {"status": RunStatus.IN_PROGRESS}
