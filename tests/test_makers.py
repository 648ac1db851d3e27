"""The makers: trusted keyword-only constructors of the record's classes, and their fence.

This tests a core module's fence, so it imports the core directly: ``runlife._makers``
(``maker``, ``builder``, ``fence``), the record's makers in ``runlife._record`` and the two
field-bound builders (``runlife._create``'s new run, ``runlife._decode``'s decoder). No
public name exposes them: they are what ``RunEngine.create``, ``from_dict`` and the guards
build records with, and the point is to hold each to the class's own ``__init__``.
"""

from __future__ import annotations

import inspect
import linecache
import re
import traceback
from collections.abc import Iterator
from typing import Any, cast

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

import runlife
from runlife import Run, RunEngine, RunStep, _create, _decode, _record, from_dict, to_dict, to_json
from runlife._makers import MAKERS_SKIP, builder, fence, maker
from runlife.testing import runs

#: Every attrs class of the record, by name (``Run`` and the nested ones).
RECORD_CLASSES: dict[str, type] = {
    name: value
    for name, value in vars(_record).items()
    if isinstance(value, type) and attrs.has(value) and value.__module__ == _record.__name__
}


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


#: The record's maker of each class: ``make_<snake_case name>`` in ``runlife._record``.
MAKERS: dict[str, Any] = {name: getattr(_record, f"make_{_snake(name)}") for name in RECORD_CLASSES}


def public_fields(cls: type) -> list[str]:
    """The fields a maker takes: the init fields without a private alias, in attrs' order."""
    return [
        f.name for f in attrs.fields(cast("Any", cls)) if f.init and not f.alias.startswith("_")
    ]


def test_every_record_class_has_a_maker() -> None:
    """Run and every nested class: 17 classes, one maker each, all public in runlife."""
    assert len(RECORD_CLASSES) == 17
    assert "Run" in RECORD_CLASSES
    for name, cls in RECORD_CLASSES.items():
        assert getattr(runlife, name) is cls
        assert callable(MAKERS[name])


@pytest.mark.parametrize("name", RECORD_CLASSES)
def test_the_record_classes_pass_the_fence(name: str) -> None:
    cls = RECORD_CLASSES[name]
    fence(cls, private={"_state": object} if cls is Run else None)


@pytest.mark.parametrize("name", RECORD_CLASSES)
def test_makers_take_every_field_by_keyword_in_field_order(name: str) -> None:
    """A maker's parameters are the class's public fields, in attrs.fields order, keyword-only:
    a positional call is a TypeError, so no call site can shift when a field is inserted."""
    make, cls = MAKERS[name], RECORD_CLASSES[name]
    parameters = inspect.signature(make).parameters
    assert list(parameters) == public_fields(cls)
    assert {p.kind for p in parameters.values()} == {inspect.Parameter.KEYWORD_ONLY}
    assert all(p.default is inspect.Parameter.empty for p in parameters.values())
    with pytest.raises(TypeError):
        make(*range(len(parameters)))
    with pytest.raises(TypeError):
        make(**dict.fromkeys(list(parameters)[1:]))  # one missing


# --- a maker builds what __init__ builds ------------------------------------------------------


def _distinct_values(n: int) -> st.SearchStrategy[list[Any]]:
    scalars = st.integers() | st.text(max_size=8) | st.tuples(st.integers())
    return st.lists(scalars, unique_by=repr, min_size=n, max_size=n)


@pytest.mark.parametrize("name", [n for n in RECORD_CLASSES if n != "Run"])
@given(data=st.data())
def test_a_maker_builds_what_init_builds(name: str, data: st.DataObject) -> None:
    """For any values (the nested classes check none), the maker and __init__ build equal
    objects of the class, each field holding exactly the value given for it."""
    make, cls = MAKERS[name], RECORD_CLASSES[name]
    names = public_fields(cls)
    values = dict(zip(names, data.draw(_distinct_values(len(names))), strict=True))
    made: Any = make(**values)
    init: Any = cls(**values)
    assert made == init
    assert hash(made) == hash(init)
    assert repr(made) == repr(init)
    for field in names:
        assert getattr(made, field) is values[field]
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        made.extra = {}
    assert type(made) is cls


def _records(value: object) -> Iterator[object]:
    """Every attrs record in *value* (a run), nested ones included."""
    if attrs.has(type(value)):
        yield value
        for name in public_fields(type(value)):
            yield from _records(getattr(value, name))
    elif isinstance(value, tuple):
        for member in value:
            yield from _records(member)


#: Unknown keys at several levels, so that every ``extra`` is filled somewhere.
_EXTRA = {"x_extra": {"a": [1, {"b": None}]}}


def _loaded(run: Run) -> Run:
    wire = to_dict(run)
    wire.update(_EXTRA)
    for tool in wire["tools"]:
        tool.update(_EXTRA)
    return from_dict(wire)


@given(run=runs(), extras=st.booleans())
def test_makers_build_what_init_builds_on_real_runs(run: Run, extras: bool) -> None:
    """On the values of real runs (as create, the moves and from_dict made them), every
    record object equals the one its maker and its __init__ build from the same values;
    a run by hand gets the same wire and a fresh state."""
    if extras:
        run = _loaded(run)
    seen = set()
    for record in _records(run):
        cls = type(record)
        seen.add(cls.__name__)
        values = {name: getattr(record, name) for name in public_fields(cls)}
        made: Any = MAKERS[cls.__name__](**values)
        init: Any = cls(**values)
        assert made == init == record
        assert repr(made) == repr(init)
        if cls is Run:
            assert to_json(made) == to_json(init) == to_json(run)
            assert made.version == init.version == 0
            assert made.history == init.history == ()
        assert type(made) is type(init) is cls
    assert "Run" in seen


@given(run=runs(), extras=st.booleans())
def test_the_builders_build_what_init_builds(run: Run, extras: bool) -> None:
    """The field-bound builders (the decoder of from_dict, create's new run) make runs equal,
    field by field, to the ones __init__ makes from the same values."""
    if extras:
        run = _loaded(run)
    decoded = _decode.decode_run(to_dict(run))
    values = {name: getattr(decoded, name) for name in public_fields(Run)}
    assert decoded == Run(**values)
    assert to_json(decoded) == to_json(run)
    assert (decoded.version, decoded.history) == (0, ())

    fields = {
        name: to_dict(run)[name]
        for name in ("id", "assistant_id", "thread_id", "model", "tools", "metadata")
    }
    created = RunEngine(clock=lambda: run.created_at).create(**fields)
    values = {name: getattr(created, name) for name in public_fields(Run)}
    assert created == Run(**values)


# --- the fence ------------------------------------------------------------------------------


def _positive(_: object, __: object, value: int) -> None:
    if value <= 0:
        raise ValueError(value)


def _hook(_: object, __: object, value: object) -> object:
    return value


@attrs.frozen(kw_only=True, weakref_slot=False)
class Plain:
    a: int
    b: str = "b"


@attrs.frozen(kw_only=True, weakref_slot=False)
class WithValidator:
    a: int = attrs.field(validator=_positive)


@attrs.frozen(kw_only=True, weakref_slot=False)
class WithConverter:
    a: int = attrs.field(converter=int)


@attrs.define(kw_only=True, weakref_slot=False)
class WithOnSetattr:
    a: int = attrs.field(on_setattr=_hook)


@attrs.frozen(kw_only=True, weakref_slot=False)
class WithPreInit:
    a: int

    def __attrs_pre_init__(self) -> None:
        pass


@attrs.frozen(kw_only=True, weakref_slot=False)
class WithPostInit:
    a: int

    def __attrs_post_init__(self) -> None:
        pass


@attrs.frozen(kw_only=True)
class WithWeakref:
    a: int


@attrs.frozen(kw_only=True, weakref_slot=False)
class WithPrivateField:
    a: int
    _b: int = attrs.field(alias="_b")


@attrs.frozen(weakref_slot=False)
class OtherOrder:
    """``__init__(a, c=0, *, b)``: the class's own parameters are not in attrs.fields order."""

    a: int
    b: int = attrs.field(kw_only=True)
    c: int = 0


@attrs.frozen(kw_only=True, weakref_slot=False)
class Aliased:
    """``__init__(*, b)`` for the field ``a``: a maker's keyword would not be __init__'s."""

    a: int = attrs.field(alias="b")


@attrs.frozen(kw_only=True, weakref_slot=False, cache_hash=True)
class CachedHash:
    """``__init__`` fills a hidden cached-hash slot that no field names."""

    a: int


@attrs.frozen(kw_only=True, weakref_slot=False)
class UnsetSlot:
    """``b`` is neither an argument nor defaulted: ``__init__`` leaves the slot empty."""

    a: int
    b: int = attrs.field(init=False)


@attrs.frozen(kw_only=True, weakref_slot=False)
class SelfDefault:
    """``b``'s default is computed from ``self`` by ``__init__``."""

    a: int
    b: int = attrs.field(init=False, default=attrs.Factory(lambda self: self.a, takes_self=True))


@attrs.frozen(kw_only=True, weakref_slot=False)
class PrivateName:
    """``__init__(*, a)`` for the field ``_a`` (attrs strips the underscore)."""

    _a: int


REFUSED: dict[type, str] = {
    WithValidator: "a has a validator",
    WithConverter: "a has a converter",
    WithOnSetattr: "a has an on_setattr hook",
    WithPreInit: "it has __attrs_pre_init__",
    WithWeakref: "it has a __weakref__ slot",
    WithPrivateField: "_b is a private init field without a filler",
}


@pytest.mark.parametrize("cls", REFUSED, ids=[c.__name__ for c in REFUSED])
def test_the_fence_refuses_what_a_maker_would_skip(cls: type) -> None:
    """fence (and so maker and builder, at import) refuse the class, naming the reason."""
    with pytest.raises(TypeError, match=re.escape(REFUSED[cls])) as info:
        fence(cls)
    assert str(info.value).startswith(f"no maker for {cls.__name__}: ")
    with pytest.raises(TypeError, match=re.escape(REFUSED[cls])):
        maker(cls)
    with pytest.raises(TypeError, match=re.escape(REFUSED[cls])):
        builder(cls, "build", "", {"a": "1"}, {})


def test_the_fence_lists_every_problem() -> None:
    @attrs.frozen(kw_only=True)
    class Everything:
        a: int = attrs.field(validator=_positive, converter=int)

        def __attrs_pre_init__(self) -> None:
            pass

    with pytest.raises(TypeError) as info:
        fence(Everything)
    for problem in ("validator", "converter", "__attrs_pre_init__", "__weakref__"):
        assert problem in str(info.value)


def test_a_private_field_with_a_filler_passes() -> None:
    make = maker(WithPrivateField, private={"_b": lambda: 7})
    made = make(a=1)
    assert made == WithPrivateField(a=1, _b=7)
    assert list(inspect.signature(make).parameters) == ["a"]


def test_the_fence_accepts_a_plain_class() -> None:
    fence(Plain)
    assert maker(Plain)(a=1, b="x") == Plain(a=1, b="x")


def test_a_builder_names_missing_and_unknown_fields() -> None:
    with pytest.raises(TypeError, match=r"missing fields \['b'\], unknown fields \['c'\]"):
        builder(Plain, "build", "x", {"a": "x", "c": "x"}, {})
    build = builder(Plain, "build", "x", {"b": "str(x)", "a": "x"}, {})
    assert build(3) == Plain(a=3, b="3")


# --- the fence: what __init__ does that a maker does not ---------------------------------------


@pytest.mark.parametrize(
    ("cls", "reason"),
    [
        (WithPostInit, "it has __attrs_post_init__"),
        (OtherOrder, "parameters"),
        (Aliased, "parameters"),
        (CachedHash, "slot"),
        (UnsetSlot, "b has no default"),
        (SelfDefault, "b's default takes self"),
        (PrivateName, "_a is initialised as 'a'"),
    ],
    ids=["post-init", "other order", "aliased", "cached hash", "unset slot", "self", "_a"],
)
def test_the_fence_refuses_what_init_does_differently(cls: type, reason: str) -> None:
    """A post-init of a class other than Run, an __init__ whose keywords are not the fields
    in attrs' order, and slots __init__ fills (or leaves empty) that a maker would not."""
    with pytest.raises(TypeError, match=re.escape(reason)):
        fence(cls)
    with pytest.raises(TypeError, match=re.escape(reason)):
        maker(cls)


def test_only_run_and_run_step_may_keep_their_post_init() -> None:
    """The skip list names the classes: Run's and RunStep's post-init (each checks a record
    built by hand) are skipped on purpose, nobody else's."""
    assert set(MAKERS_SKIP) == {
        ("runlife._record.Run", "__attrs_post_init__"),
        ("runlife._step_record.RunStep", "__attrs_post_init__"),
    }
    fence(Run, private={"_state": object})
    fence(RunStep)


# --- generated source in tracebacks ------------------------------------------------------------


def test_a_maker_shows_its_source() -> None:
    """The generated code is registered with linecache: inspect and tracebacks show it."""
    source = inspect.getsource(_record.make_usage)
    assert source.startswith("def make_Usage(*, prompt_tokens, completion_tokens, total_tokens,")
    assert "o.__class__ = _cls" in source
    filename = _record.make_usage.__code__.co_filename
    assert filename == "<runlife maker Usage.make_Usage>"
    assert linecache.getline(filename, 1).startswith("def make_Usage(")


def test_a_traceback_inside_a_builder_shows_the_line() -> None:
    """An error inside generated code points at a line of it, with the line's text."""
    with pytest.raises(KeyError) as info:
        _decode.decode_run({})
    frames = traceback.extract_tb(info.value.__traceback__)
    inner = frames[-1]
    assert inner.filename.startswith("<runlife maker Run.")
    assert inner.line
    assert "d[" in inner.line
    text = "".join(traceback.format_exception(info.value))
    assert inner.line in text


def test_a_traceback_inside_a_maker_shows_the_line() -> None:
    def broken() -> int:
        raise RuntimeError("filler failed")

    make = maker(WithPrivateField, private={"_b": broken})
    with pytest.raises(RuntimeError) as info:
        make(a=1)
    frames = traceback.extract_tb(info.value.__traceback__)
    generated = [f for f in frames if f.filename.startswith("<runlife maker")]
    assert [f.line for f in generated] == ["o._b = _fill1()"]


def test_create_uses_the_new_run_builder() -> None:
    """The new-run builder's source is inspectable too (create's fast path)."""
    builder_fn = _create._make_new_run
    assert "o.status = _QUEUED" in inspect.getsource(builder_fn)


@attrs.frozen(kw_only=True, weakref_slot=False)
class Defaulted:
    """Fields that are no parameters: filled by a maker as __init__ fills them."""

    a: int
    b: tuple[int, ...] = attrs.field(init=False, factory=tuple)
    c: str = attrs.field(init=False, default="c")


def test_a_maker_fills_the_fields_that_are_no_parameters() -> None:
    make = maker(Defaulted)
    assert list(inspect.signature(make).parameters) == ["a"]
    assert make(a=1) == Defaulted(a=1)
    assert (make(a=1).b, make(a=1).c) == ((), "c")
