"""Makers: the trusted constructors of the record's classes, for values already checked.

A speed trick, fenced. The wire format and the engine build every record from values they
have checked as a whole, so they need neither attrs' ``__init__`` (and ``Run``'s structure
check) nor the frozen ``__setattr__``. A maker builds a *builder*, a plain class with the
very same ``__slots__``, fills its slots with plain attribute stores (the cheapest there
are), then turns it into the record's class by ``__class__`` assignment, which Python allows
between classes of one layout. That is a quarter of what filling a frozen class costs, and
the object is nobody else's until it is returned.

The fence, checked at import by ``fence`` (and ``tests/test_makers.py`` holds each maker to
the class's own ``__init__`` on generated values):

- a record class may have no attrs validators, converters, ``on_setattr`` hooks or
  ``__attrs_pre_init__``: a maker would skip them silently. ``__attrs_post_init__`` is
  allowed only for a class that ``MAKERS_SKIP`` names with the reason (``Run``'s checks
  the structure of hand-built runs, which makers' callers have checked already). Nor may
  its ``__init__`` do what a maker does not: take its fields under other names or in
  another order than ``attrs.fields``, fill a slot that is no field (a cached hash), or
  leave a field unset;
- makers take keyword arguments only, named as the fields, so no call site can shift when
  a field is inserted or the fields are reordered; ``builder`` generates a constructor whose
  values are expressions bound to field names (the wire format's and create's, where a
  28-argument keyword call would cost a microsecond);
- the generated source is registered with ``linecache``, so a traceback shows it.
"""

from __future__ import annotations

import inspect
import linecache
from collections.abc import Callable, Mapping
from typing import Any, Final

import attrs

__all__ = ["MAKERS_SKIP", "builder", "fence", "maker", "refill"]

#: Class hooks a maker skips on purpose, by the class (``module.qualname``) and the hook,
#: each with the reason. A hook of any other class is refused.
MAKERS_SKIP: Final[dict[tuple[str, str], str]] = {
    ("runlife._record.Run", "__attrs_post_init__"): (
        "Run's post-init checks the structure of a run built by hand and claims its state; "
        "a maker's caller has checked the values, and a maker makes a fresh state"
    ),
    ("runlife._step_record.RunStep", "__attrs_post_init__"): (
        "RunStep's post-init checks the structure of a step built by hand (or evolved); "
        "a maker's caller (the engine's step moves, the decoder) has checked the values"
    ),
}


def fence(cls: type, *, private: Mapping[str, Callable[[], Any]] | None = None) -> None:
    """Refuse *cls* if a maker of it would silently skip something its ``__init__`` does.

    *private* names the init fields with a private alias (filled by the maker from a
    factory, never from a parameter).

    Raises:
        TypeError: a validator, converter, ``on_setattr`` or init hook the maker would skip,
            an ``__init__`` whose parameters are not the fields in ``attrs.fields`` order
            and by their names (a maker's are), a slot that no field fills (a cached hash,
            ``__weakref__``), a field ``__init__`` leaves unset or fills from ``self``, or
            a private field without a filler.
    """
    problems: list[str] = []
    private = private or {}
    fields = attrs.fields(cls)
    for field in fields:
        if field.validator is not None:
            problems.append(f"{field.name} has a validator")
        if field.converter is not None:
            problems.append(f"{field.name} has a converter")
        if field.on_setattr is not None and field.on_setattr is not attrs.setters.NO_OP:
            problems.append(f"{field.name} has an on_setattr hook")
        if field.init and field.alias.startswith("_") and field.name not in private:
            problems.append(f"{field.name} is a private init field without a filler")
        elif field.init and field.alias != field.name and field.name not in private:
            problems.append(
                f"{field.name} is initialised as {field.alias!r}: a maker's parameters are "
                "named as the fields"
            )
        if not field.init and field.name not in private:
            if field.default is attrs.NOTHING:
                problems.append(f"{field.name} has no default: __init__ leaves its slot unset")
            elif isinstance(field.default, attrs.Factory) and field.default.takes_self:  # type: ignore[arg-type]
                problems.append(f"{field.name}'s default takes self: a maker has no self yet")
    params = list(inspect.signature(vars(cls)["__init__"]).parameters)[1:]
    aliases = [f.alias for f in fields if f.init]
    if params != aliases:
        problems.append(
            f"its __init__ parameters {params} are not the fields in attrs.fields order {aliases}"
        )
    if "__attrs_pre_init__" in vars(cls):
        problems.append("it has __attrs_pre_init__")
    where = f"{cls.__module__}.{cls.__qualname__}"
    problems.extend(
        f"it has {hook}"
        for hook in ("__attrs_post_init__", "__attrs_init_subclass__")
        if hook in vars(cls) and (where, hook) not in MAKERS_SKIP
    )
    slots = cls.__dict__["__slots__"]
    if "__weakref__" in slots:
        # Python refuses __class__ assignment for these (CPython's same_slots_added).
        problems.append("it has a __weakref__ slot")
    names = {f.name for f in fields}
    problems.extend(
        f"slot {slot} is no field: __init__ fills it, a maker would not"
        for slot in slots
        if slot != "__weakref__" and slot not in names
    )
    if problems:
        raise TypeError(f"no maker for {cls.__name__}: " + "; ".join(problems))


def _compile(cls: type, name: str, params: str, lines: list[str], names: dict[str, Any]) -> Any:
    builder_cls = type(f"_{cls.__name__}Builder", (), {"__slots__": cls.__dict__["__slots__"]})
    names.update({"_new": object.__new__, "_cls": cls, "_builder": builder_cls})
    source = "\n".join(
        [
            f"def {name}({params}):",
            "    o = _new(_builder)",
            *lines,
            "    o.__class__ = _cls",
            "    return o",
            "",
        ]
    )
    filename = f"<runlife maker {cls.__qualname__}.{name}>"
    exec(compile(source, filename, "exec"), names)  # noqa: S102 - generated from field names
    # What attrs' _make.py does: tracebacks and inspect.getsource show the generated code.
    linecache.cache[filename] = (len(source), None, source.splitlines(keepends=True), filename)
    return names[name]


def _fillers(
    cls: type, private: Mapping[str, Callable[[], Any]] | None, names: dict[str, Any]
) -> tuple[list[attrs.Attribute[Any]], list[str]]:
    """The public init fields of *cls*, and the lines that fill every other slot."""
    fence(cls, private=private)
    public: list[attrs.Attribute[Any]] = []
    lines: list[str] = []
    for i, field in enumerate(attrs.fields(cls)):
        if private and field.name in private:
            names[f"_fill{i}"] = private[field.name]
            lines.append(f"    o.{field.name} = _fill{i}()")
        elif field.init:
            public.append(field)
        elif isinstance(field.default, attrs.Factory):  # type: ignore[arg-type]
            names[f"_fill{i}"] = field.default.factory
            lines.append(f"    o.{field.name} = _fill{i}()")
        else:
            names[f"_fill{i}"] = field.default
            lines.append(f"    o.{field.name} = _fill{i}")
    return public, lines


def maker(cls: type, *, private: Mapping[str, Callable[[], Any]] | None = None) -> Any:
    """A keyword-only constructor of *cls*: one parameter per public init field, in order."""
    names: dict[str, Any] = {}
    public, lines = _fillers(cls, private, names)
    params = ", ".join(f.name for f in public)
    body = [f"    o.{f.name} = {f.name}" for f in public]
    return _compile(
        cls, f"make_{cls.__name__}", f"*, {params}" if params else "", body + lines, names
    )


def builder(
    cls: type,
    name: str,
    params: str,
    values: Mapping[str, str],
    namespace: Mapping[str, Any],
    *,
    private: Mapping[str, Callable[[], Any]] | None = None,
) -> Any:
    """A constructor of *cls* taking *params*, whose fields are the expressions *values*.

    *values* maps every public init field, by name, to a Python expression over *params*
    and *namespace*; the fields are filled in ``attrs.fields`` order, whatever the mapping's.

    Raises:
        TypeError: *values* misses a field or names one *cls* does not have.
    """
    names: dict[str, Any] = dict(namespace)
    public, lines = _fillers(cls, private, names)
    wanted = [f.name for f in public]
    missing = [n for n in wanted if n not in values]
    unknown = [n for n in values if n not in wanted]
    if missing or unknown:
        raise TypeError(
            f"builder {name} of {cls.__name__}: missing fields {missing}, unknown fields {unknown}"
        )
    body = [f"    o.{field} = {values[field]}" for field in wanted]
    return _compile(cls, name, params, body + lines, names)


def refill(obj: object, name: str, value: object) -> None:
    """Set slot *name* of *obj*, a record that is still being built and nobody else holds.

    For the record's own construction (``Run``'s post-init, copies): once a record is
    shared, only ``runlife._commit`` writes it.
    """
    object.__setattr__(obj, name, value)
