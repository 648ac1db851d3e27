"""Snapshots: a run as a document, the API's object plus a side channel (version, history, origin).

``to_dict`` writes the API's ``thread.run`` object and nothing else: clients read it, so the
history must not leak into it. ``dump`` wraps that object in an envelope::

    {
      "runlife": 1,                # the envelope's format
      "run": {...},                # to_dict(run): the API's object, untouched
      "version": 4,                # run.version: how many moves the run has made
      "history": [{"trigger": "start", "source": "queued", "dest": "in_progress",
                   "at": 1700000001, "args": {}}, ...],
      "origin": {"status": "queued", "expires_at": 1700000600, "started_at": null, ...},
      "steps": [{"id": "step_...", "object": "thread.run.step", ...}, ...]
    }

*origin* holds the ten lifecycle fields (the only ones a move writes) as they were before
the first move of *history*, or ``null`` when the history is empty; ``run`` with *origin*
laid over it is the wire the history starts from (``initial_wire``), so a document can be
replayed and checked on its own. ``restore`` reads the envelope back, and ``rebuild``
replays a history onto the wire it starts from (``restore(verify=True)`` is one).
*steps* (written when the run has any; older documents have none) are the run's steps'
wire objects, oldest first, and *origin* then holds ``"steps"`` too: the steps before the
first move of *history* (a run loaded mid-life may have had some); a replay starts from
those and makes the others again, with the ids its history recorded.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from ._commit import bind, set_history, set_steps
from ._decode import decode_run
from ._encode import (
    encode_last_error,
    encode_required_action,
    encode_run,
    encode_simple,
    encode_usage,
)
from ._errors import Conflict, GuardRejected, IllegalTransition, InvalidRun, RunlifeError
from ._history import Move, chain_problems
from ._ids import new_step_id
from ._record import Run
from ._state import Engine, default_engine
from ._step_table import STEP_OPS
from ._step_wire import step_from_dict, step_to_dict
from ._structure import structure_problems
from ._table import LIFECYCLE, TABLE, Table
from ._wire import structure_run

__all__ = ["FORMAT", "dump", "expect_version", "initial_wire", "rebuild", "restore"]

#: The format number ``dump`` writes under ``"runlife"``.
FORMAT = 1
_KEYS = ("runlife", "run", "version", "history", "origin", "steps")


def _origin_wire(origin: tuple[Any, ...]) -> dict[str, Any]:
    values = dict(zip(LIFECYCLE, origin, strict=True))
    incomplete = values["incomplete_details"]
    values["status"] = values["status"].value
    values["required_action"] = encode_required_action(values["required_action"])
    values["last_error"] = encode_last_error(values["last_error"])
    values["incomplete_details"] = (
        None if incomplete is None else encode_simple(incomplete, ("reason",))
    )
    values["usage"] = encode_usage(values["usage"])
    return values


def dump(run: Run) -> dict[str, Any]:
    """The run and its side channel, as one JSON-ready document (see the module's docs).

    ``doc["run"] == to_dict(run)``; ``restore(doc)`` gives the run back with its history and
    version. Taken under the run's lock: a consistent snapshot even while threads move it.
    """
    if not isinstance(run, Run):
        raise TypeError(f"dump() expects a runlife.Run, got {type(run).__name__}")
    state = run._state
    with state.lock:
        wire = encode_run(run)
        history = [m.to_dict() for m in state.history or ()]
        version = state.version
        origin = state.origin
        steps, origin_steps = state.steps, state.origin_steps
    origin_doc = _origin_wire(origin) if history and origin is not None else None
    doc: dict[str, Any] = {
        "runlife": FORMAT,
        "run": wire,
        "version": version,
        "history": history,
        "origin": origin_doc,
    }
    if steps or origin_steps:
        doc["steps"] = [step_to_dict(step) for step in steps]
        if origin_doc is not None:
            origin_doc["steps"] = [step_to_dict(step) for step in origin_steps]
    return doc


def restore(doc: Any, *, engine: Engine | None = None, verify: bool = False) -> Run:
    """A run from a ``dump`` document: its status, stamps, deadline, history and version.

    The run is bound to *engine* (and joins its indexes, like ``RunEngine.load``), or to the
    module's default engine. With *verify*, the history is replayed from *origin* and must
    make exactly the stored ``run`` (it catches writes that bypassed the engine).

    Raises:
        InvalidRun: the document is malformed: one line per problem, path first
            (``$.run.status``, ``$.history[2].at``, ``$.version``); a history that does not
            chain (each move starts where the one before ended, the last ends at the run's
            status) or, with *verify*, does not replay to the stored run.
        ThreadBusy: *engine* keeps one active run per thread and another holds this one's.
    """
    if type(doc) is not dict:
        raise InvalidRun(
            [("$", f'expected a stored run {{"runlife": 1, "run": ...}}, got {type(doc).__name__}')]
        )
    errors: list[tuple[str, str]] = [
        (f"$.{key}", f"unknown key; a stored run has {', '.join(_KEYS)}")
        for key in doc
        if key not in _KEYS
    ]
    fmt = doc.get("runlife", FORMAT)
    if type(fmt) is not int or fmt != FORMAT:
        errors.append(("$.runlife", f"unknown format {fmt!r}; this runlife reads format {FORMAT}"))
    if "run" not in doc:
        errors.append(("$.run", "missing"))
    else:
        errors.extend(("$.run" + p.path[1:], p.message) for p in structure_problems(doc["run"]))
    history = doc.get("history", [])
    moves = _moves(history, errors, TABLE if engine is None else engine.table)
    count = len(history) if type(history) is list else 0
    version = doc.get("version", count)
    if type(version) is not int or version < count:
        errors.append(
            ("$.version", f"expected an int >= the {count} moves of the history, got {version!r}")
        )
    origin_doc = doc.get("origin")
    if origin_doc is not None and type(origin_doc) is not dict:
        errors.append(("$.origin", f"expected an object or null, got {type(origin_doc).__name__}"))
    wire_id = doc["run"].get("id") if isinstance(doc.get("run"), dict) else None
    steps = _steps(doc.get("steps", []), errors, wire_id, "$.steps")
    origin: tuple[Any, ...] | None = None
    origin_steps: tuple[Any, ...] = ()
    if moves and not errors:
        origin = _origin(doc["run"], origin_doc, errors)
        if origin is not None:
            errors.extend(chain_problems(moves, origin[0].value, doc["run"]["status"]))
            assert origin_doc is not None  # noqa: S101 - _origin refuses a missing origin
            origin_steps = _steps(origin_doc.get("steps", []), errors, wire_id, "$.origin.steps")
    if errors:
        wire = doc.get("run")
        run_id = wire.get("id") if type(wire) is dict else None
        raise InvalidRun(errors, run_id=run_id if isinstance(run_id, str) else None)
    wire = doc["run"]
    run: Run = decode_run(wire)
    set_history(run, moves, origin, version, origin_steps)
    if steps:
        set_steps(run, steps)
    if verify and moves:
        _verify(run, wire, engine)
    if engine is not None:
        engine.adopt(run, action="restore")
    return run


def _moves(history: Any, errors: list[tuple[str, str]], table: Table) -> list[Move]:
    if type(history) is not list:
        errors.append(("$.history", f"expected an array of moves, got {type(history).__name__}"))
        return []
    moves: list[Move] = []
    for i, item in enumerate(history):
        try:
            moves.append(Move.from_dict(item, path=f"$.history[{i}]", table=table))
        except InvalidRun as exc:
            errors.extend(exc.errors)
    return moves


def _steps(steps: Any, errors: list[tuple[str, str]], run_id: object, path: str) -> tuple[Any, ...]:
    if type(steps) is not list:
        errors.append((path, f"expected an array of run steps, got {type(steps).__name__}"))
        return ()
    found = []
    for i, item in enumerate(steps):
        try:
            step = step_from_dict(item)
        except InvalidRun as exc:
            errors.extend((f"{path}[{i}]{where[1:]}", message) for where, message in exc.errors)
            continue
        if step.run_id != run_id:
            errors.append((f"{path}[{i}].run_id", f"a step of run {step.run_id!r}, not {run_id!r}"))
        else:
            found.append(step)
    return tuple(found)


def _origin(
    wire: dict[str, Any], origin: dict[str, Any] | None, errors: list[tuple[str, str]]
) -> tuple[Any, ...] | None:
    if origin is None:
        errors.append(("$.origin", "missing: the history needs the lifecycle fields before it"))
        return None
    missing = [f"$.origin.{name}" for name in LIFECYCLE if name not in origin]
    unknown = [name for name in origin if name not in LIFECYCLE and name != "steps"]
    errors.extend((path, "missing") for path in missing)
    if unknown:
        errors.append(
            (
                "$.origin",
                (
                    f"unknown keys {', '.join(map(repr, unknown))}; allowed: "
                    f"{', '.join(LIFECYCLE)}, steps"
                ),
            )
        )
    if missing or unknown:
        return None
    base = {**wire, **{k: v for k, v in origin.items() if k != "steps"}}
    problems = structure_problems(base)
    if problems:
        errors.extend(("$.origin" + p.path[1:], p.message) for p in problems)
        return None
    base_run: Run = decode_run(base)
    return tuple([getattr(base_run, name) for name in LIFECYCLE])


def _verify(run: Run, wire: dict[str, Any], engine: Engine | None) -> None:
    start = structure_run(initial_wire(run))
    set_steps(start, run._state.origin_steps)
    rebuilt = _replay(start, list(run.history), engine, steps_known=True)
    made = encode_run(rebuilt)
    differ = [key for key in {**wire, **made} if wire.get(key, ...) != made.get(key, ...)]
    stored = [step_to_dict(s) for s in run.steps]
    replayed = [step_to_dict(s) for s in rebuilt.steps]
    if stored != replayed:
        raise InvalidRun(
            [("$.steps", f"the history makes the steps {replayed!r}, stored {stored!r}")],
            run_id=run.id,
        )
    if differ:
        raise InvalidRun(
            [
                (f"$.run.{key}", f"the history makes {made.get(key)!r}, stored {wire.get(key)!r}")
                for key in differ
            ],
            run_id=run.id,
        )


def initial_wire(run: Run | Mapping[str, Any]) -> dict[str, Any]:
    """The wire dict a run's history starts from: ``replay(initial_wire(r), r.history)`` is *r*.

    For a run the engine created (with history on since) it is the run as created (the data
    of its ``thread.run.created`` event); for a loaded run, the run as loaded. A run without
    history is its own initial wire. *run* may be a ``dump`` document.
    """
    if not isinstance(run, Run):
        run = restore(run)
    state = run._state
    with state.lock:
        wire = encode_run(run)
        origin = state.origin if state.history else None
    if origin is not None:
        wire.update(_origin_wire(origin))
    return wire


def expect_version(stored: Run | Mapping[str, Any], version: int) -> None:
    """Check that *stored* (a run, or a ``dump`` document read back) is still at *version*.

    The compare half of compare-and-set, for stores that cannot put it in their write (a
    database should: ``UPDATE runs SET ... WHERE id = ? AND version = ?``, zero rows
    meaning a lost race). Call it on what the store holds now, with the version you read.

    Raises:
        Conflict: another writer moved the run since; read it again and decide.
    """
    found: object
    run_id: object
    if isinstance(stored, Run):
        found, run_id = stored.version, stored.id
    else:
        found = stored.get("version") if isinstance(stored, Mapping) else None
        wire = stored.get("run") if isinstance(stored, Mapping) else None
        run_id = wire.get("id") if isinstance(wire, Mapping) else "?"
        if type(found) is not int:
            raise TypeError(f"expect_version() expects a run or a dump() document, got {stored!r}")
    if found != version:
        raise Conflict(
            f"run {run_id} is at version {found}, not {version}: another writer moved it "
            "since it was read; read it again and decide"
        )


def rebuild(
    initial: Mapping[str, Any],
    history: Iterable[Move | Mapping[str, Any]],
    *,
    engine: Engine | None = None,
) -> Run:
    """Rebuild a run: load *initial*, then fire each move of *history* at its own time.

    *initial* is the wire the moves start from: the run as created (the data of its
    ``thread.run.created`` event, or ``initial_wire(run)``), or any later wire of it (a
    snapshot) with the moves made since; or a ``dump`` document, whose history and
    version the replay goes on from. *history* holds ``Move``s or their dicts.

    Every move goes through the table and the guards again, on an engine derived from
    *engine* (same table) with history on, and must make exactly the recorded move, so
    ``to_dict`` and ``history`` of the result equal the original's. Listeners hear nothing
    (the moves happened already). The run is then bound to *engine* (joining its indexes)
    or to the module's default engine.

    Raises:
        InvalidRun: *initial* is not a run; a move is malformed, does not start where
            the run is, is refused, or makes something else than recorded (the path names
            the move: ``$.history[3]``).
        ThreadBusy: *engine* keeps one active run per thread and another holds this one's.
    """
    if isinstance(initial, Mapping) and (
        "runlife" in initial or ("run" in initial and "object" not in initial)
    ):
        run = restore(initial)
        steps_known = True  # a document holds its steps (none written: it had none)
    else:
        run = structure_run(initial)
        # A plain wire holds no steps: only the run as created is known to have none.
        steps_known = run.status.value == "queued" and run.started_at is None
    _replay(run, history, engine, steps_known=steps_known)
    if engine is None:
        bind(run, None)  # the default engine, bound on first use
    else:
        engine.adopt(run, action="replay")
    return run


def _replay(
    run: Run,
    history: Iterable[Move | Mapping[str, Any]],
    engine: Engine | None,
    *,
    steps_known: bool,
) -> Run:
    """Fire each move of *history* on *run* again (see ``rebuild``), checking each one.

    Without *steps_known* (a plain wire taken after creation: its steps are unknown) the
    step moves of the history are not made again, and not compared.
    """
    ids: list[str] = []
    mover = (engine or default_engine()).derive(
        record_history=True, step_id_factory=lambda: ids.pop(0) if ids else new_step_id()
    )
    offset = len(run.history)
    for i, item in enumerate(history):
        path = f"$.history[{offset + i}]"
        move = (
            item if isinstance(item, Move) else Move.from_dict(item, path=path, table=mover.table)
        )
        status = run.status.value
        if move.source != status:
            raise InvalidRun(
                [(f"{path}.source", f"the run is {status!r} here, not {move.source!r}")],
                run_id=run.id,
            )
        op = STEP_OPS.get(move.trigger)
        if op is not None:
            names, required = op.params, op.required
        else:
            params = mover.table.row(move.trigger).params
            names = tuple(p.name for p in params)
            required = tuple(p.name for p in params if not p.optional)
        missing = [name for name in required if name not in move.args]
        if missing:
            raise InvalidRun(
                [(f"{path}.args.{name}", "missing") for name in missing], run_id=run.id
            )
        args = {name: move.args.get(name) for name in names}
        ids[:] = [s["step_id"] for s in move.steps if s["trigger"] == "open"]
        try:
            if op is not None:
                if not steps_known:
                    raise InvalidRun([(path, "a step move needs the run's steps")])  # noqa: TRY301
                mover.fire_step(run, move.trigger, args, at=move.at)
            else:
                mover.fire(run, move.trigger, args, at=move.at)
        except (IllegalTransition, GuardRejected, InvalidRun, RunlifeError) as exc:
            raise InvalidRun([(path, f"does not replay: {exc}")], run_id=run.id) from exc
        made = run.history[-1].to_dict()
        recorded = move.to_dict()
        if not steps_known:
            made.pop("steps", None)
            recorded.pop("steps", None)
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
    return run
