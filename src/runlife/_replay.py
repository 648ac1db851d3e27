"""Replay: rebuild a run from the wire its history starts from and the moves since."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from ._engine import RunEngine
from ._errors import GuardRejected, IllegalTransition, InvalidRun
from ._history import Move
from ._record import Run

__all__ = ["replay"]

#: The arguments each trigger is fired with, as its Move records them.
_ARGS: dict[str, tuple[str, ...]] = {
    "start": (),
    "require_action": ("tool_calls",),
    "submit_tool_outputs": ("tool_outputs",),
    "complete": ("usage",),
    "mark_incomplete": ("reason", "usage"),
    "fail": ("code", "message", "usage"),
    "cancel": (),
    "finish_cancel": (),
    "expire": (),
}


class _At:
    """The replay's clock: each move's own time."""

    __slots__ = ("now",)

    def __init__(self) -> None:
        self.now = 0

    def __call__(self) -> int:
        return self.now


def replay(
    initial: Mapping[str, Any],
    history: Iterable[Move | Mapping[str, Any]],
    *,
    engine: RunEngine | None = None,
) -> Run:
    """Rebuild a run: load *initial*, then fire each move of *history* at its own time.

    *initial* is the wire the moves start from: the run as created (the data of its
    ``thread.run.created`` event, or ``initial_wire(run)``), or any later wire of it (a
    snapshot) with the moves made since; or a ``dump`` document, whose history and
    version the replay goes on from. *history* holds ``Move``s or their dicts.

    Every move goes through the table and the guards again, and must make exactly the
    recorded move, so ``to_dict`` and ``history`` of the result equal the original's.
    Listeners hear nothing (the moves happened already). The run is bound to *engine*
    (joining its indexes) or to the module's default engine.

    Raises:
        InvalidRun: *initial* is not a run; a move is malformed, does not start where
            the run is, is refused, or makes something else than recorded (the path names
            the move: ``$.history[3]``).
        ThreadBusy: *engine* keeps one active run per thread and another holds this one's.
    """
    from ._stored import restore  # noqa: PLC0415 - restore verifies through replay

    clock = _At()
    mover = RunEngine(clock=clock, record_history=True)
    if isinstance(initial, Mapping) and (
        "runlife" in initial or ("run" in initial and "object" not in initial)
    ):
        run = restore(initial, engine=mover)
    else:
        run = mover.load(initial)
    offset = len(run._history or ())
    for i, item in enumerate(history):
        path = f"$.history[{offset + i}]"
        move = item if isinstance(item, Move) else Move.from_dict(item, path=path)
        status = run.status.value
        if move.source != status:
            raise InvalidRun(
                [(f"{path}.source", f"the run is {status!r} here, not {move.source!r}")],
                run_id=run.id,
            )
        missing = [
            name for name in _ARGS[move.trigger] if name != "usage" and name not in move.args
        ]
        if missing:
            raise InvalidRun(
                [(f"{path}.args.{name}", "missing") for name in missing], run_id=run.id
            )
        args = {name: move.args.get(name) for name in _ARGS[move.trigger]}
        clock.now = move.at
        try:
            mover._fire(run, move.trigger, args)
        except (IllegalTransition, GuardRejected, InvalidRun) as exc:
            raise InvalidRun([(path, f"does not replay: {exc}")], run_id=run.id) from exc
        made = run._history[-1].to_dict() if run._history else {}
        recorded = move.to_dict()
        if made != recorded:
            raise InvalidRun(
                [
                    (
                        f"{path}.{key}",
                        f"recorded {recorded[key]!r}, replaying makes {made.get(key)!r}",
                    )
                    for key in recorded
                    if made.get(key) != recorded[key]
                ],
                run_id=run.id,
            )
    if engine is None:
        object.__setattr__(run, "_engine", None)  # the default engine, bound on first use
    else:
        engine._adopt(run, "replay")
    return run
