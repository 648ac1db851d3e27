"""The record behaves like a value: copies are detached, JSON is read-only, metadata updates.

Runs come from ``runlife.testing.strategies.runs`` and are moved further by random legal
moves (arguments from ``runlife.paths.arguments_for``). A run's state is compared whole and
byte for byte: its ``dump`` document as JSON text (its wire, which is ``to_dict(run)``,
version, history, origin).
"""

from __future__ import annotations

import copy
import json
import operator
import pickle
import threading
from collections.abc import Callable, Iterator
from typing import Any, cast

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from runlife import (
    ERROR_CODES,
    TABLE,
    InvalidRun,
    ManualClock,
    Run,
    RunEngine,
    RunEvent,
    RunStatus,
    check,
    dump,
    from_dict,
    restore,
    to_dict,
    to_json,
)
from runlife.paths import arguments_for, follow, new_replay_run
from runlife.testing import runs

COPIES: dict[str, Callable[[Run], Run]] = {
    "copy": copy.copy,
    "deepcopy": copy.deepcopy,
    "pickle": lambda run: pickle.loads(pickle.dumps(run)),  # noqa: S301 - our own bytes
}


def snapshot(run: Run) -> str:
    """Everything a run holds, as text: its dump, which is its wire (``to_dict(run)``, the
    dict ``to_json`` writes), version, history and origin."""
    return json.dumps(dump(run))


def legal_moves(run: Run) -> list[str]:
    """The triggers that would succeed on *run* now (``expire`` once the clock is moved)."""
    out: list[str] = []
    for trigger in TABLE.triggers_from(run.status):
        if trigger == "expire":
            out.append(trigger)
            continue
        try:
            args = arguments_for(run, trigger)
        except ValueError:
            continue  # no tools, or no token limit: no arguments would do
        if run.engine.may(run, trigger, args):
            out.append(trigger)
    return out


def move(data: st.DataObject, run: Run, label: str) -> str | None:
    """Make one random legal move on *run* (whose engine has a ManualClock); its trigger."""
    options = legal_moves(run)
    if not options:
        return None
    trigger = data.draw(st.sampled_from(options), label=f"{label} trigger")
    clock = engine_of(run).clock
    assert isinstance(clock, ManualClock)
    expires_at = run.expires_at
    if trigger == "expire":
        assert expires_at is not None
        clock.set(max(clock(), expires_at))
    elif expires_at is not None and clock() < expires_at - 1:
        clock.advance(data.draw(st.integers(0, min(30, expires_at - 1 - clock()))))
    getattr(run, trigger)(**arguments_for(run, trigger))
    return trigger


def moves(data: st.DataObject, run: Run, label: str, most: int = 4) -> None:
    for _ in range(data.draw(st.integers(0, most), label=f"{label} moves")):
        if move(data, run, label) is None:
            return


def engine_of(run: Run) -> RunEngine:
    """The engine *run* is bound to (``run.engine`` is typed as what the record needs of it)."""
    engine = run.engine
    assert isinstance(engine, RunEngine)
    return engine


def listen(engine: RunEngine) -> list[RunEvent]:
    heard: list[RunEvent] = []
    engine.subscribe(heard.append)
    return heard


# --- copies: equal on the wire, detached ---------------------------------------------------


@pytest.mark.parametrize("how", COPIES)
@given(run=runs(), data=st.data())
def test_a_copy_is_an_equal_detached_run(how: str, run: Run, data: st.DataObject) -> None:
    """copy, deepcopy and pickle give a run equal on the wire, with its version and history,
    detached from the original: moves (and updates) on either leave the other byte-identical."""
    moves(data, run, "before")
    twin = COPIES[how](run)

    assert twin is not run
    assert type(twin) is Run
    assert twin == run
    assert to_json(twin) == to_json(run)
    assert to_dict(twin) == to_dict(run)
    assert twin.version == run.version
    assert twin.history == run.history
    assert snapshot(twin) == snapshot(run)
    assert check(twin) == []
    # Detached: bound to no engine (the module's default, like a run loaded by from_dict).
    assert twin.engine is not run.engine
    assert twin.engine is from_dict(to_dict(run)).engine

    # Moves on the copy, through an engine of the same clock and table.
    engine = engine_of(run).derive()
    engine.adopt(twin)
    original = snapshot(run)
    moves(data, twin, "copy")
    if data.draw(st.booleans(), label="update the copy"):
        engine.update(twin, metadata={"copy": "yes"})
    assert snapshot(run) == original

    # And the other way round.
    copied = snapshot(twin)
    moves(data, run, "original")
    if data.draw(st.booleans(), label="update the original"):
        engine_of(run).update(run, metadata={"original": "yes"})
    assert snapshot(twin) == copied


@pytest.mark.parametrize("how", COPIES)
def test_a_copy_has_a_lock_of_its_own(how: str) -> None:
    """While a move of the copy holds the copy's lock, the original can still be read whole.

    The engine reads its clock inside the moving run's lock; this clock reads the original
    there (``dump`` takes the original's lock) from another thread. With a shared lock that
    thread would wait for the move to end, and the join would time out.
    """
    run = follow(("start",))
    twin = COPIES[how](run)
    finished: list[bool] = []

    def clock() -> int:
        reader = threading.Thread(target=lambda: finished.append(bool(dump(run))))
        reader.start()
        reader.join(timeout=5)
        finished.append(not reader.is_alive())
        return engine_of(run).clock()

    RunEngine(clock=clock).fire(twin, "complete", {"usage": None})
    assert twin.status is RunStatus.COMPLETED
    assert run.status is RunStatus.IN_PROGRESS
    assert finished == [True, True]


def test_a_deep_copy_keeps_shared_references_shared() -> None:
    """One run twice in a container deep-copies to one copy twice, as deepcopy's memo asks."""
    run = follow(("start",))
    pair = copy.deepcopy([run, run])
    assert pair[0] is pair[1]
    assert pair[0] is not run
    assert pair[0] == run


@pytest.mark.parametrize("protocol", range(pickle.HIGHEST_PROTOCOL + 1))
def test_every_pickle_protocol(protocol: int) -> None:
    """Every protocol gives the run back with its version, history and origin."""
    run = follow(("start", "require_action", "submit_tool_outputs", "start", "complete"))
    back = pickle.loads(pickle.dumps(run, protocol=protocol))  # noqa: S301 - our own bytes
    assert snapshot(back) == snapshot(run)
    assert restore(dump(back), verify=True) == run


def test_a_copy_of_a_copy() -> None:
    """A copy is a run like any other: copied, pickled and moved again."""
    run = follow(("start", "require_action"))
    twin = pickle.loads(pickle.dumps(copy.deepcopy(copy.copy(run))))  # noqa: S301
    assert snapshot(twin) == snapshot(run)
    RunEngine(clock=ManualClock(run.created_at + 5)).adopt(twin)
    twin.cancel()
    assert twin.history[-1].trigger == "cancel"
    assert run.status is RunStatus.REQUIRES_ACTION
    assert len(run.history) == len(twin.history) - 1


# --- attrs.evolve is refused -----------------------------------------------------------------


def _made_runs() -> Iterator[tuple[str, Run]]:
    run = follow(("start",))
    yield "created", run
    for how, make in COPIES.items():
        yield how, make(run)
    yield "loaded", from_dict(to_dict(run))
    yield "restored", restore(dump(run))
    yield "by hand", Run(id="run_1", assistant_id="asst_1", created_at=1, model="m", thread_id="t")


@pytest.mark.parametrize(("made", "run"), list(_made_runs()), ids=[m for m, _ in _made_runs()])
@pytest.mark.parametrize("changes", [{}, {"model": "gpt-4.1"}, {"status": RunStatus.COMPLETED}])
def test_evolve_is_refused(made: str, run: Run, changes: dict[str, Any]) -> None:
    """attrs.evolve raises a TypeError that says what to do instead; the run is untouched."""
    before = snapshot(run)
    with pytest.raises(TypeError, match=r"attrs\.evolve\(\) cannot make a run") as info:
        attrs.evolve(run, **changes)
    assert "copy.copy(run)" in str(info.value)
    assert "RunEngine.update" in str(info.value)
    assert snapshot(run) == before


# --- read-only JSON ----------------------------------------------------------------------------


def _containers(value: object, path: str) -> Iterator[tuple[str, object]]:
    """Every mapping and sequence the record holds, with its path, nested ones included."""
    if attrs.has(type(value)):
        for field in attrs.fields(cast("Any", type(value))):
            if field.init and not field.alias.startswith("_"):
                yield from _containers(getattr(value, field.name), f"{path}.{field.name}")
    elif isinstance(value, dict):
        yield path, value
        for key, member in value.items():
            yield from _containers(member, f"{path}[{key!r}]")
    elif isinstance(value, tuple | list):
        yield path, value
        for i, member in enumerate(value):
            yield from _containers(member, f"{path}[{i}]")


def _mapping_writes(mapping: Any) -> Iterator[tuple[str, Callable[[], object]]]:
    key = next(iter(mapping), "k")
    yield "item", lambda: operator.setitem(mapping, "k", "v")
    yield "del", lambda: operator.delitem(mapping, key)
    yield "clear", mapping.clear
    yield "pop", lambda: mapping.pop(key)
    yield "popitem", mapping.popitem
    yield "setdefault", lambda: mapping.setdefault("k", "v")
    yield "update", lambda: mapping.update({"k": "v"})

    def ior() -> None:
        m = mapping
        m |= {"k": "v"}

    yield "|=", ior


def _sequence_writes(sequence: Any) -> Iterator[tuple[str, Callable[[], object]]]:
    # Arrays are tuples: no append or extend at all, and no item writes.
    assert not hasattr(sequence, "append")
    yield "item", lambda: operator.setitem(sequence, 0, "v")
    yield "del", lambda: operator.delitem(sequence, 0)


def _writes(run: Run) -> list[tuple[str, Callable[[], object]]]:
    out: list[tuple[str, Callable[[], object]]] = []
    for path, container in _containers(run, "run"):
        writes = _mapping_writes if isinstance(container, dict) else _sequence_writes
        out.extend((f"{path} {name}", write) for name, write in writes(container))
    return out


#: Unknown keys at every level of a run, so that ``extra`` holds nested JSON everywhere.
_EXTRAS = {"x_extra": {"nested": {"deep": [1, {"x": 2}]}, "list": [[1], {"k": "v"}]}}


def _with_extras(run: Run) -> Run:
    wire = to_dict(run)
    wire.update(_EXTRAS)
    for tool in wire["tools"]:
        tool.update(_EXTRAS)
        if tool["type"] == "function":
            tool["function"].update(_EXTRAS)
            tool["function"]["parameters"] = {"type": "object", "properties": {"q": {"enum": [1]}}}
    if isinstance(wire["response_format"], dict):
        wire["response_format"].update(_EXTRAS)
    if isinstance(wire["truncation_strategy"], dict):
        wire["truncation_strategy"].update(_EXTRAS)
    return RunEngine(clock=ManualClock(run.created_at)).load(wire)


@given(run=runs(), extras=st.booleans())
def test_json_in_the_record_is_read_only(run: Run, extras: bool) -> None:
    """Every write into metadata, extra, a tool's parameters, a json_schema or a tuple of the
    record, at any depth, raises TypeError and leaves the run byte-identical."""
    if extras:
        run = _with_extras(run)
    before = snapshot(run)
    writes = _writes(run)
    assert any(path.startswith("run.metadata ") for path, _ in writes)
    for path, write in writes:
        with pytest.raises(TypeError):
            write()
        assert snapshot(run) == before, path


def test_nested_tool_and_schema_json_is_read_only() -> None:
    """The places the issue names, written out: a function's parameters, a json_schema."""
    run = new_replay_run(
        tools=[
            {
                "type": "function",
                "function": {
                    "name": "lookup",
                    "parameters": {"type": "object", "properties": {"q": {"type": "string"}}},
                },
            }
        ],
        response_format={"type": "json_schema", "json_schema": {"name": "n", "schema": {}}},
        metadata={"a": "b"},
    )
    before = snapshot(run)
    tool: Any = run.tools[0]
    parameters: Any = tool.function.parameters
    schema: Any = run.response_format.json_schema  # type: ignore[union-attr]
    metadata: Any = run.metadata
    extra: Any = run.extra
    attempts: list[Callable[[], object]] = [
        lambda: operator.setitem(metadata, "k", "v"),
        lambda: operator.setitem(extra, "k", "v"),
        lambda: operator.setitem(parameters, "type", "array"),
        lambda: operator.setitem(parameters["properties"]["q"], "type", "int"),
        lambda: operator.setitem(schema, "strict", True),
        lambda: schema["schema"].update({"type": "object"}),
        lambda: operator.setitem(tool.extra, "k", "v"),
        lambda: operator.setitem(tool.function.extra, "k", "v"),
    ]
    for attempt in attempts:
        with pytest.raises(TypeError, match="read-only"):
            attempt()
    assert snapshot(run) == before
    # What goes out is a plain copy: changing it changes nothing.
    wire = to_dict(run)
    wire["metadata"]["k"] = "v"
    wire["tools"][0]["function"]["parameters"]["type"] = "array"
    assert snapshot(run) == before


def test_the_rules_cannot_be_bypassed_through_metadata() -> None:
    """The issue's case: twenty keys written into metadata. None gets in."""
    run = follow(("start",))
    for i in range(20):
        with pytest.raises(TypeError):
            run.metadata[f"k{i}"] = "v"  # type: ignore[index]
    assert run.metadata == {}
    run.complete()
    assert check(run) == []


# --- RunEngine.update: the API's metadata update -----------------------------------------------

_keys = st.text(min_size=1, max_size=64)
_values = st.text(max_size=512)
_metadata = st.dictionaries(_keys, _values, max_size=16)


@given(run=runs(), metadata=_metadata, data=st.data())
def test_update_sets_metadata_in_any_status(
    run: Run, metadata: dict[str, str], data: st.DataObject
) -> None:
    """A valid update sets metadata (a read-only copy), bumps the version by one, leaves the
    history and every other field alone, and tells no listener: in every status."""
    moves(data, run, "before")
    engine = engine_of(run)
    heard = listen(engine)
    wire, version, history = to_dict(run), run.version, run.history
    given_metadata = dict(metadata)
    with engine.collect() as collected:
        engine.update(run, metadata=given_metadata)
    given_metadata["k"] = "changed after the update"

    assert run.metadata == metadata
    assert to_dict(run) == {**wire, "metadata": metadata}
    assert run.version == version + 1
    assert run.history == history
    assert heard == []
    assert collected == []
    assert check(run) == []
    with pytest.raises(TypeError):
        run.metadata["k"] = "v"  # type: ignore[index]
    # It survives a dump and a verified restore (the history replays to it).
    back = restore(dump(run), verify=True)
    assert (to_json(back), back.version) == (to_json(run), run.version)


@pytest.mark.parametrize("status", list(RunStatus), ids=[s.value for s in RunStatus])
def test_update_in_every_status(status: RunStatus) -> None:
    """Terminal runs take updates too, as the API's do; each is one version."""
    run = follow(_PATHS[status])
    assert run.status is status
    engine = engine_of(run)
    heard = listen(engine)
    version = run.version
    engine.update(run, metadata={"a": "1"})
    engine.update(run, metadata={"b": "2"})
    engine.update(run, metadata={})
    assert run.metadata == {}
    assert run.version == version + 3
    assert heard == []


_PATHS: dict[RunStatus, tuple[str, ...]] = {
    RunStatus.QUEUED: (),
    RunStatus.IN_PROGRESS: ("start",),
    RunStatus.REQUIRES_ACTION: ("start", "require_action"),
    RunStatus.CANCELLING: ("cancel",),
    RunStatus.CANCELLED: ("cancel", "finish_cancel"),
    RunStatus.FAILED: ("fail",),
    RunStatus.COMPLETED: ("start", "complete"),
    RunStatus.INCOMPLETE: ("start", "mark_incomplete"),
    RunStatus.EXPIRED: ("expire",),
}


@pytest.mark.parametrize(
    "metadata",
    [
        {f"k{i}": "v" for i in range(16)},
        {"k" * 64: "v"},
        {"k": "v" * 512},
        {"": ""},
        {},
    ],
    ids=["16 pairs", "64-char key", "512-char value", "empty strings", "no pairs"],
)
def test_update_accepts_the_limits(metadata: dict[str, str]) -> None:
    run = follow(("start",))
    engine_of(run).update(run, metadata=metadata)
    assert run.metadata == metadata


#: Metadata that breaks a rule, and the paths of the problems.
BAD: dict[str, tuple[object, list[str]]] = {
    "17 pairs": ({f"k{i}": "v" for i in range(17)}, ["$.metadata"]),
    "65-char key": ({"k" * 65: "v"}, ["$.metadata"]),
    "513-char value": ({"k": "v" * 513}, ["$.metadata.k"]),
    "int value": ({"k": 1}, ["$.metadata.k"]),
    "null value": ({"k": None}, ["$.metadata.k"]),
    "object value": ({"k": {"a": "b"}}, ["$.metadata.k"]),
    "list value": ({"k": ["a"]}, ["$.metadata.k"]),
    "int key": ({1: "v"}, ["$.metadata"]),
    "a list": ([("k", "v")], ["$.metadata"]),
    "a string": ("k=v", ["$.metadata"]),
    "every value rule": ({"a": 1, "b": "v" * 513, "c": "ok"}, ["$.metadata.a", "$.metadata.b"]),
}


@pytest.mark.parametrize(("metadata", "paths"), BAD.values(), ids=list(BAD))
@pytest.mark.parametrize("status", [RunStatus.IN_PROGRESS, RunStatus.COMPLETED])
def test_update_refuses_broken_metadata(status: RunStatus, metadata: Any, paths: list[str]) -> None:
    """A refused update raises InvalidRun naming every problem under $.metadata; the run is
    byte-identical afterwards (same version, no event)."""
    run = follow(_PATHS[status])
    engine_of(run).update(run, metadata={"before": "x"})
    heard = listen(engine_of(run))
    before = snapshot(run)
    with pytest.raises(InvalidRun) as info:
        engine_of(run).update(run, metadata=metadata)
    assert [path for path, _ in info.value.errors] == paths
    assert info.value.run_id == run.id
    assert snapshot(run) == before
    assert heard == []


_broken = st.one_of(
    st.dictionaries(_keys, _values, min_size=17, max_size=20),
    st.tuples(_metadata, st.text(min_size=65, max_size=80), _values).map(
        lambda t: {**t[0], t[1]: t[2]}
    ),
    st.tuples(_metadata, _keys, st.text(min_size=513, max_size=600)).map(
        lambda t: {**t[0], t[1]: t[2]}
    ),
    st.tuples(
        _metadata, _keys, st.integers() | st.none() | st.booleans() | st.floats(allow_nan=False)
    ).map(lambda t: {**t[0], t[1]: t[2]}),
)


@given(run=runs(), metadata=_broken)
def test_update_refusals_change_nothing(run: Run, metadata: dict[str, Any]) -> None:
    """Any rule break, on a run in any status: InvalidRun under $.metadata, nothing changed."""
    before = snapshot(run)
    with pytest.raises(InvalidRun) as info:
        engine_of(run).update(run, metadata=metadata)
    assert info.value.errors
    assert all(path.startswith("$.metadata") for path, _ in info.value.errors)
    assert snapshot(run) == before


def test_update_on_a_copy_leaves_the_original() -> None:
    run = follow(("start",))
    twin = copy.copy(run)
    engine_of(run).update(twin, metadata={"k": "v"})
    assert twin.metadata == {"k": "v"}
    assert run.metadata == {}
    assert (twin.version, run.version) == (2, 1)


def test_an_update_is_not_a_move() -> None:
    """An update is not a move: the run's triggers work on as before, the history has only moves."""
    run = follow(("start",))
    engine_of(run).update(run, metadata={"k": "v"})
    run.fail(ERROR_CODES[0], "boom")
    assert [m.trigger for m in run.history] == ["start", "fail"]
    assert run.version == 3
