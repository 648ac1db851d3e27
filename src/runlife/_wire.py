"""The wire format: a cattrs converter between ``Run`` and the API's JSON.

Shaped like ``cattrs.preconf``: ``make_converter()`` returns a new converter with runlife's
hooks, ``configure_converter(converter)`` installs them into yours, and the module-level
``to_dict``/``from_dict``/``to_json``/``from_json`` use one private default converter.

Loading checks the *structure* only (``runlife._structure``) and keeps everything else
(``runlife._decode``): rule-breaking values, unknown tool types and unknown keys at every
level, so that ``to_dict(from_dict(d)) == d`` for every structurally valid ``d``. Writing is
``runlife._encode``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import cattrs

from ._commit import bind
from ._constraints import MAX_JSON_DEPTH, MISSING_DEFAULTS
from ._decode import decode_run
from ._encode import NESTED, encode_run
from ._errors import InvalidRun
from ._json import NotJSON, thaw
from ._makers import refill
from ._order import arrange, canonical
from ._record import WIRE_FIELDS, WIRE_ORDER, Run
from ._state import Mover, bind_validator
from ._status import STATUS_BY_VALUE, RunStatus, suggest_status
from ._step_record import RunStep
from ._step_wire import step_from_dict, step_to_dict
from ._structure import shape_problems, structure_problems, value_problems

__all__ = [
    "configure_converter",
    "from_dict",
    "from_json",
    "make_converter",
    "structure_run",
    "to_dict",
    "to_json",
    "validate_record",
    "with_missing_filled",
]


def structure_run(data: Any, _: Any = None) -> Run:
    """A run from a wire dict: its structure checked, everything else kept.

    Raises:
        InvalidRun: *data* is not structurally a run; one line per problem, path first.
    """
    # The shape is checked first and the values as the decoder copies them (freeze): one
    # walk, not two. What the decoder refuses, value_problems names (a property test holds
    # this to structure_problems, the check of check()).
    problems = shape_problems(data)
    if not problems:
        try:
            run: Run = decode_run(data)
        except NotJSON:
            problems = value_problems(data)
        else:
            return run
    else:
        problems = structure_problems(data)
    run_id = data.get("id") if isinstance(data, dict) else None
    raise InvalidRun(
        [(p.path, p.message) for p in problems],
        run_id=run_id if isinstance(run_id, str) else None,
    )


def _is(cls: type) -> Callable[[Any], bool]:
    return lambda t: t is cls


def configure_converter(converter: cattrs.Converter) -> None:
    """Install runlife's hooks for ``Run`` and its nested classes into *converter*.

    After this, ``converter.unstructure(run)`` gives the API's JSON dict and
    ``converter.structure(data, Run)`` loads one (raising ``InvalidRun`` on bad structure),
    also when a ``Run`` is nested in your own attrs classes; ``RunStep`` likewise.
    """
    # Predicate registration: the hooks are runlife's own, not generated from type hints.
    converter.register_unstructure_hook_func(_is(Run), encode_run)
    converter.register_structure_hook_func(_is(Run), structure_run)
    converter.register_unstructure_hook_func(_is(RunStep), step_to_dict)
    converter.register_structure_hook_func(_is(RunStep), lambda d, _: step_from_dict(d))
    for cls, hook in NESTED.items():
        converter.register_unstructure_hook_func(_is(cls), hook)


def make_converter(**kwargs: Any) -> cattrs.Converter:
    """A new ``cattrs.Converter`` (created with *kwargs*) with runlife's hooks installed."""
    converter = cattrs.Converter(**kwargs)
    configure_converter(converter)
    return converter


def to_dict(run: Run) -> dict[str, Any]:
    """The run as the API's JSON object: every field, ``null`` included, then unknown keys.

    The result is a fresh dict that shares nothing with the run. Thread-safe: taken under
    the run's lock, so it is never a half-moved run.
    """
    if not isinstance(run, Run):
        raise TypeError(f"to_dict() expects a runlife.Run, got {type(run).__name__}")
    with run._state.lock:
        return encode_run(run)


def with_missing_filled(data: Any) -> tuple[Any, tuple[str, ...]]:
    """*data* with each top-level field it lacks filled with the API's default, and their names.

    The defaults are ``MISSING_DEFAULTS``; a filled field goes at its API position among the
    keys *data* has, which keep their order. *data* itself is not changed; anything but a
    dict, or a dict that lacks nothing, is given back as it is.
    """
    if not isinstance(data, dict):
        return data, ()
    missing = tuple(name for name in MISSING_DEFAULTS if name not in data)
    if not missing:
        return data, ()
    merged = dict(data)
    for name in missing:
        merged[name] = thaw(MISSING_DEFAULTS[name])
    api = {k: merged[k] for k in canonical(tuple(merged), WIRE_ORDER)}
    return arrange(api, tuple(data)), missing


def from_dict(data: Any, *, engine: Mover | None = None, fill_missing: bool = False) -> Run:
    """Load a run from the API's JSON object, keeping every value, unknown key and key order.

    The run is bound to *engine* (the module's default engine when omitted) without joining
    its indexes: ``RunEngine.load`` does both. With *fill_missing*, a payload of an older
    API version that lacks top-level fields loads: each gets the value the API gives a run
    that never set it (``MISSING_DEFAULTS``, at its API position), and ``check(run)``
    reports it (``filled-missing-field``); the run's ``filled`` names them.

    Raises:
        InvalidRun: *data* is not structurally a run; one line per problem, path first.
    """
    filled: tuple[str, ...] = ()
    if fill_missing:
        data, filled = with_missing_filled(data)
    run = structure_run(data)
    if filled:
        refill(run, "filled", filled)
    if engine is not None:
        bind(run, engine)
    return run


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def to_json(run: Run) -> str:
    """The run as compact JSON text: known fields in the reference's order, then unknown keys."""
    return json.dumps(to_dict(run), separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def from_json(
    text: str | bytes | bytearray, *, engine: Mover | None = None, fill_missing: bool = False
) -> Run:
    """Load a run from JSON text (see ``from_dict``, also for *fill_missing*).

    Raises:
        InvalidRun: the text is not JSON (``$: malformed JSON: ...``) or not a run.
    """
    if not isinstance(text, (str, bytes, bytearray)):
        raise InvalidRun([("$", f"expected JSON text (str or bytes), got {type(text).__name__}")])
    try:
        data = json.loads(text, parse_constant=_reject_constant)
    except RecursionError:
        msg = f"nested more than {MAX_JSON_DEPTH} levels deep (the limit of a run's JSON)"
        raise InvalidRun([("$", msg)]) from None
    except ValueError as exc:
        raise InvalidRun([("$", f"malformed JSON: {exc}")]) from None
    return from_dict(data, engine=engine, fill_missing=fill_missing)


def validate_record(run: Run) -> None:
    """Check a run built by hand (``Run(...)``) for structure, and make its values the record's.

    A status string becomes a ``RunStatus``, lists tuples, and JSON read-only: the run is
    rebuilt from its own wire dict, as loading it would build it.

    Raises:
        InvalidRun: the record's values do not have the wire object's structure.
    """
    status = run.status
    if not isinstance(status, RunStatus):
        if not isinstance(status, str):
            raise InvalidRun(
                [("$.status", f"expected a status string, got {type(status).__name__}")]
            )
        if status not in STATUS_BY_VALUE:
            raise InvalidRun([("$.status", suggest_status(status))], run_id=run.id)
        refill(run, "status", STATUS_BY_VALUE[status])
    if type(run.tools) is not tuple:
        refill(run, "tools", tuple(run.tools))
    try:
        data = encode_run(run)
    except (AttributeError, TypeError) as exc:  # a nested value of the wrong class
        raise InvalidRun(
            [("$", f"a nested value is not one of the record's classes ({exc})")], run_id=run.id
        ) from None
    problems = structure_problems(data)
    if problems:
        raise InvalidRun([(p.path, p.message) for p in problems], run_id=run.id)
    built = decode_run(data)
    for name in WIRE_FIELDS:
        refill(run, name, getattr(built, name))


bind_validator(validate_record)
