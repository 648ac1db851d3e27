"""The ``transitions`` machine that drives every move, built from a transition table.

Why the ``Run`` is never handed to transitions: transitions writes trigger methods onto its
models at run time (invisible to mypy, impossible on slotted classes) and keeps every model
in a list (a leak for millions of runs). Instead each move fires the event of one
``Machine(model=None)`` per table on a two-slot adapter (``Model``) whose ``state`` reads
the run's status and writes only into the move's planned changes.

A speed trick, fenced: the events are ``FastEvent``, transitions' ``event_cls`` extension
point. The table's shape is one transition per source and no conditions or callbacks (the
engine guards and plans each move before the machine sees it), so triggering an event is
finding the transition from the model's state and setting the state to its destination:
a third of the stock ``Event.trigger``, which wraps the call in a partial for the queue,
walks empty callback lists and logs at debug level on the way. ``check_machine`` refuses,
when the machine is built, any configuration that the fast path would skip (a second
transition from one source, conditions, callbacks, a queue, state callbacks, an event of
another class), and
``tests/test_machine.py`` holds the fast path to the stock one on every (status, trigger).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from transitions import Event, Machine, MachineError

from ._status import STATUS_BY_VALUE, RunStatus
from ._table import TABLE, Table

__all__ = ["MACHINE", "FastEvent", "Model", "build_machine", "check_machine", "events_of"]


class FastEvent(Event):
    """An event of a table's machine: its one transition from the model's state, executed."""

    def trigger(self, model: Any, *_args: Any, **_kwargs: Any) -> bool:
        found = self.transitions.get(model.state)
        if not found:
            msg = f"{self.name!r} cannot be triggered from state {model.state!r}"
            raise MachineError(msg)
        model.state = found[0].dest
        return True


class _Machine(Machine):
    event_cls = FastEvent


def check_machine(machine: Machine) -> None:
    """Refuse a machine whose configuration ``FastEvent`` would skip.

    Raises:
        RuntimeError: naming what would be skipped.
    """
    problems: list[str] = []
    if (
        machine.before_state_change
        or machine.after_state_change
        or machine.prepare_event
        or machine.finalize_event
        or machine.on_exception
        or machine.on_final
    ):
        problems.append("machine-level callbacks")
    if machine.has_queue or machine.ignore_invalid_triggers:
        problems.append("a queue or ignored invalid triggers")
    if machine.model_attribute != "state":
        problems.append(f"model attribute {machine.model_attribute!r}")
    for name, state in machine.states.items():
        if state.on_enter or state.on_exit or state.value != name:
            problems.append(f"state {name!r} has callbacks or a value other than its name")
    for name, event in machine.events.items():
        if type(event) is not FastEvent:
            problems.append(f"{name} is a {type(event).__name__}, not a FastEvent")
        for source, found in event.transitions.items():
            if len(found) != 1:
                problems.append(f"{name} has {len(found)} transitions from {source}")
            problems.extend(
                f"{name} from {source} has conditions or callbacks"
                for t in found
                if t.prepare or t.conditions or t.before or t.after
            )
    if problems:
        raise RuntimeError("runlife's machine would skip: " + "; ".join(problems))


def build_machine(table: Table) -> Machine:
    """The machine of *table*, checked (``check_machine``). It holds no models."""
    machine = _Machine(model=None, **table.machine_config())
    check_machine(machine)
    return machine


def events_of(machine: Machine) -> Mapping[str, Event]:
    """The machine's events by trigger name."""
    return {name: machine.events[name] for name in machine.events}


class Model:
    """What transitions sees: the run's status in, the new status out into *changes*."""

    __slots__ = ("changes", "status")

    def __init__(self, status: RunStatus, changes: dict[str, Any]) -> None:
        self.status = status
        self.changes = changes

    @property
    def state(self) -> str:
        # _value_ is the member's value without the .value descriptor (0.3 us on every move).
        value: str = self.status._value_
        return value

    @state.setter
    def state(self, value: str) -> None:
        self.changes["status"] = STATUS_BY_VALUE[value]


#: The machine of the lifecycle's table: every run of every default engine moves through it.
MACHINE: Final = build_machine(TABLE)
