"""Checks of a run's wire dict: structure, invariants and documented rules.

Everything here works on plain JSON values (``dict``, ``list``, ``str``, ``int``, ``float``,
``bool``, ``None``) and never raises, whatever it is given: a value that is not what the contract
says becomes a :class:`Finding`, never an exception. The three kinds of finding follow the
contract (``docs``: "Reading and writing" and "Invariants"):

- ``structure``: the payload cannot be loaded (:func:`structure_problems`; ``from_dict`` raises
  ``InvalidRun`` when it finds any);
- ``invariant``: one of the eight invariants of the lifecycle is broken
  (:func:`invariant_problems`);
- ``rule``: a documented rule of the API is broken; reported on load, never refused, because
  real API payloads break them (:func:`rule_problems`).

:func:`inspect` runs all three: structure first, and the other two only when the structure is
sound (they need the types to be right to say anything useful).

Each finding has a stable ``code``:

================================  =========  ====================================================
code                              kind       meaning
================================  =========  ====================================================
``not-an-object``                 structure  the payload is not a JSON object (a ``dict``)
``non-string-key``                structure  a top-level key is not a string
``missing-field``                 structure  a required field or nested member is absent
``wrong-type``                    structure  a value has the wrong JSON type (bools are never
                                             ints, floats never ints)
``wrong-object``                  structure  ``object`` is a string other than ``"thread.run"``
``unknown-status``                structure  ``status`` is a string that is not one of the nine
``invariant-required-action``     invariant  1: ``required_action`` set iff ``requires_action``
``invariant-last-error``          invariant  2: ``last_error`` set iff ``failed``
``invariant-incomplete-details``  invariant  3: ``incomplete_details`` set iff ``incomplete``
``invariant-end-stamp``           invariant  4: ``completed_at`` iff ``completed``/``incomplete``,
                                             ``failed_at`` iff ``failed``, ``cancelled_at`` iff
                                             ``cancelled`` (one finding per stamp)
``invariant-started-at``          invariant  5: ``started_at`` null in a status that has run
``invariant-stamp-order``         invariant  6: ``created_at <= started_at <=`` every end stamp
                                             (one finding per stamp out of order)
``invariant-expires-at``          invariant  7: ``expires_at`` set iff the status is active
``invariant-usage``               invariant  8: ``usage`` set while the status is active
``out-of-range``                  rule       a number outside its documented range: a negative
                                             timestamp or usage count, a token limit below 256,
                                             ``temperature`` outside [0, 2], ``top_p`` outside
                                             [0, 1], ``truncation_strategy.last_messages`` < 1
``null-field``                    rule       ``metadata``, ``tool_choice`` or
                                             ``truncation_strategy`` is null
``too-many-tools``                rule       more than 20 tools
``unknown-tool-type``             rule       a tool whose ``type`` is not ``code_interpreter``,
                                             ``file_search`` or ``function``
``invalid-tool``                  rule       a known tool with a badly shaped member (a
                                             ``function`` tool without a ``function`` object,
                                             a ``description`` that is not a string, ...)
``invalid-function-name``         rule       a function tool's name is missing, not a string,
                                             empty, longer than 64 characters or has characters
                                             other than ``a-zA-Z0-9_-``
``too-many-metadata-pairs``       rule       ``metadata`` has more than 16 pairs
``invalid-metadata-key``          rule       a ``metadata`` key that is not a string or is
                                             longer than 64 characters
``invalid-metadata-value``        rule       a ``metadata`` value that is not a string or is
                                             longer than 512 characters
``unknown-value``                 rule       a string outside its documented set of values
                                             (``tool_choice``, ``truncation_strategy.type``,
                                             ``response_format``, ``incomplete_details.reason``,
                                             ``required_action.type``, a tool call's ``type``)
``unknown-error-code``            rule       ``last_error.code`` is not ``server_error``,
                                             ``rate_limit_exceeded`` or ``invalid_prompt``
``invalid-tool-choice``           rule       a ``{"type": "function"}`` tool choice without
                                             ``function.name``
``invalid-response-format``       rule       a ``json_schema`` response format without a
                                             ``json_schema`` object
``usage-mismatch``                rule       ``total_tokens != prompt_tokens +
                                             completion_tokens``
``empty-tool-call-id``            rule       a pending tool call with an empty ``id``
``duplicate-tool-call-id``        rule       two pending tool calls share an ``id``
================================  =========  ====================================================

Paths are JSONPath-like: ``$`` is the run, ``.name`` a key (``["key"]``, JSON-quoted, when the
key is not an identifier; keys over 100 characters are cut with ``…``), ``[i]`` an index:
``$.required_action.submit_tool_outputs.tool_calls[0].function.name``. Messages say what was
wrong and what is allowed, with the type and a short repr (at most 60 characters) of the value:
``expected an int (Unix seconds), got bool True``.

Decisions where the contract leaves room:

- Values the checks do not descend into (unknown keys, ``function.parameters``,
  ``json_schema``, ``metadata`` of the wrong type, ...) are kept as given and never looked at:
  unknown keys at any level are never a finding. Only top-level keys must be strings.
- ``incomplete_details.reason`` may be absent or null (the official SDK accepts both); only a
  string outside the two documented reasons is a rule finding.
- Invariants 4 and 6 are checked stamp by stamp, so they give one finding per offending stamp.
  In 6 an end stamp is compared with ``started_at`` when that is set, else with ``created_at``.
- Invariant checks that depend on the status are skipped when the status is not one of the nine
  (that is a structure finding already); :func:`rule_problems` and :func:`invariant_problems`
  check the type of every value they use, so they never raise on a broken payload either.
"""

from __future__ import annotations

import json
import string
from collections.abc import Callable
from operator import is_not
from typing import Any, Final, TypeGuard

import attrs

from ._status import ACTIVE, RunStatus, suggest_status

__all__ = [
    "Finding",
    "field_problems",
    "inspect",
    "invariant_problems",
    "rule_problems",
    "structure_problems",
]

_STRUCTURE: Final = "structure"
_INVARIANT: Final = "invariant"
_RULE: Final = "rule"


@attrs.frozen
class Finding:
    """One problem found in a run's wire dict.

    Attributes:
        kind: ``"structure"`` (the payload cannot be loaded), ``"invariant"`` (one of the
            lifecycle's eight invariants is broken) or ``"rule"`` (a documented API rule is
            broken; real payloads do that, so it is reported, never refused, on load).
        code: A stable kebab-case code, e.g. ``"missing-field"``; the module docstring lists
            them all.
        path: Where: ``"$"`` is the run, e.g. ``"$.tools[3].type"``.
        message: What is wrong and what is allowed, in one line.
    """

    kind: str
    code: str
    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message} [{self.kind}/{self.code}]"


# --------------------------------------------------------------------------- values in messages

_CLIP: Final = 60
_DEPTH: Final = 3
_INT_BITS: Final = 128


def _render(value: object, budget: int, depth: int) -> str:
    """A repr of *value* that stops soon after *budget* characters and never recurses deeply."""
    budget = max(budget, 1)
    if isinstance(value, str):
        return repr(str.__getitem__(value, slice(budget)))
    if value is None or isinstance(value, bool):
        return repr(value)
    if isinstance(value, float):
        return float.__repr__(value)
    if isinstance(value, int):  # a huge int's repr raises past 4300 digits: show its size
        bits = int.bit_length(value)
        return int.__repr__(value) if bits <= _INT_BITS else f"<int of {bits} bits>"
    if isinstance(value, list | tuple | dict):
        opening, closing = ("{", "}") if isinstance(value, dict) else ("[", "]")
        if isinstance(value, tuple):
            opening, closing = "(", ")"
        if depth >= _DEPTH:
            return f"{opening}…{closing}" if value else f"{opening}{closing}"
        parts: list[str] = []
        used = 2
        items: Any = value.items() if isinstance(value, dict) else value
        for item in items:
            if used >= budget:
                parts.append("…")
                break
            if isinstance(value, dict):
                key, member = item
                head = _render(key, budget - used, depth + 1)
                piece = f"{head}: {_render(member, budget - used - len(head), depth + 1)}"
            else:
                piece = _render(item, budget - used, depth + 1)
            parts.append(piece)
            used += len(piece) + 2
        return f"{opening}{', '.join(parts)}{closing}"
    try:
        return repr(value)
    except Exception:  # noqa: BLE001 - a foreign object's repr must not break a check
        return f"<{type(value).__name__}>"


def _clip(value: object) -> str:
    """A repr of *value* of at most 60 characters."""
    text = _render(value, _CLIP + 1, 0)
    return text if len(text) <= _CLIP else f"{text[: _CLIP - 1]}…"


def _describe(value: object) -> str:
    """The type and a short repr of *value*, e.g. ``bool True``, or ``null``."""
    if value is None:
        return "null"
    return f"{type(value).__name__} {_clip(value)}"


def _key_path(parent: str, key: str) -> str:
    """The path of *key* under *parent*: ``.key``, or ``["key"]`` when it is no identifier."""
    if key.isascii() and key.isidentifier():
        return f"{parent}.{key}"
    if len(key) > 100:
        return f'{parent}[{json.dumps(key[:100], ensure_ascii=False)[:-1]}…"]'
    return f"{parent}[{json.dumps(key, ensure_ascii=False)}]"


def _is_int(value: object) -> TypeGuard[int]:
    """Whether *value* is a JSON integer (never a bool)."""
    return type(value) is int or (isinstance(value, int) and not isinstance(value, bool))


def _quote(value: str) -> str:
    """``repr`` of a string, also for a ``str`` subclass such as :class:`RunStatus`."""
    return repr(str.__str__(value))


# --------------------------------------------------------------------------- structure

_MISSING: Final[Any] = object()
_NONE: Final = type(None)

Types = frozenset[type]

_INT: Final[Types] = frozenset({int})
_INT_OR_NULL: Final[Types] = frozenset({int, _NONE})
_STR: Final[Types] = frozenset({str})
_STR_OR_NULL: Final[Types] = frozenset({str, _NONE})
_BOOL: Final[Types] = frozenset({bool})
_NUMBER_OR_NULL: Final[Types] = frozenset({int, float, _NONE})
_OBJECT: Final[Types] = frozenset({dict})
_OBJECT_OR_NULL: Final[Types] = frozenset({dict, _NONE})
_STR_OBJECT_OR_NULL: Final[Types] = frozenset({str, dict, _NONE})
_ARRAY: Final[Types] = frozenset({list})

#: (accepted exact types, what is expected) of a nested member.
Kind = tuple[Types, str]
_A_STRING: Final[Kind] = (_STR, "a string")
_A_STRING_OR_NULL: Final[Kind] = (_STR_OR_NULL, "a string or null")
_AN_INT: Final[Kind] = (_INT, "an int")
_AN_INT_OR_NULL: Final[Kind] = (_INT_OR_NULL, "an int or null")
_AN_OBJECT: Final[Kind] = (_OBJECT, "an object")
_AN_ARRAY: Final[Kind] = (_ARRAY, "an array")


_STATUS_VALUES: Final = frozenset(s.value for s in RunStatus)
_ACTIVE_VALUES: Final = frozenset(s.value for s in ACTIVE)

Check = Callable[[Any, list[Finding]], None]


def _accepts(value: object, accepted: Types) -> bool:
    """Whether *value*, whose exact type is not in *accepted*, is an instance of one of them.

    Subclasses count (a :class:`RunStatus` is a string), except that a bool is never a number.
    """
    if isinstance(value, bool):
        return False  # bool is in no set as a subclass: an exact bool was accepted before
    return any(isinstance(value, kind) for kind in accepted if kind is not _NONE)


def _wrong_type(path: str, expected: str, value: object) -> Finding:
    return Finding(_STRUCTURE, "wrong-type", path, f"expected {expected}, got {_describe(value)}")


def _missing(path: str) -> Finding:
    return Finding(_STRUCTURE, "missing-field", path, "missing")


def _member(
    obj: dict[Any, Any],
    key: str,
    path: str,
    kind: Kind,
    out: list[Finding],
    *,
    required: bool = True,
) -> Any:
    """``obj[key]`` if it is of *kind*; else ``_MISSING``, and a finding unless it may be absent."""
    accepted, expected = kind
    value = obj.get(key, _MISSING)
    if type(value) in accepted:
        return value
    if value is _MISSING:
        if required:
            out.append(_missing(path))
        return _MISSING
    if _accepts(value, accepted):
        return value
    out.append(_wrong_type(path, expected, value))
    return _MISSING


def _check_object(value: str, out: list[Finding]) -> None:
    if value != "thread.run":
        msg = f"expected 'thread.run', got {_describe(value)}"
        out.append(Finding(_STRUCTURE, "wrong-object", "$.object", msg))


def _check_status(value: str, out: list[Finding]) -> None:
    if value not in _STATUS_VALUES:
        if len(value) <= _CLIP:
            msg = suggest_status(str.__str__(value))
        else:
            msg = f"unknown status {_clip(value)}; allowed: {', '.join(s.value for s in RunStatus)}"
        out.append(Finding(_STRUCTURE, "unknown-status", "$.status", msg))


def _check_tools(tools: list[Any], out: list[Finding]) -> None:
    for tool in tools:
        if type(tool) is not dict or type(tool.get("type")) is not str:
            break
    else:
        return  # the usual case, checked fast
    for i, tool in enumerate(tools):
        if type(tool) is dict or isinstance(tool, dict):
            kind = tool.get("type", _MISSING)
            if type(kind) is str:
                continue
            _member(tool, "type", f"$.tools[{i}].type", _A_STRING, out)
        else:
            out.append(_wrong_type(f"$.tools[{i}]", "an object (a tool)", tool))


def _check_tool_choice(value: Any, out: list[Finding]) -> None:
    if type(value) is str or isinstance(value, str):
        return
    _member(value, "type", "$.tool_choice.type", _A_STRING, out)
    function = _member(value, "function", "$.tool_choice.function", _AN_OBJECT, out, required=False)
    if function is not _MISSING:
        _member(function, "name", "$.tool_choice.function.name", _A_STRING, out)


def _check_truncation_strategy(value: dict[Any, Any], out: list[Finding]) -> None:
    kind = value.get("type", _MISSING)
    last = value.get("last_messages")
    if type(kind) is str and (last is None or type(last) is int):
        return  # the usual case, checked fast
    _member(value, "type", "$.truncation_strategy.type", _A_STRING, out)
    path = "$.truncation_strategy.last_messages"
    _member(value, "last_messages", path, _AN_INT_OR_NULL, out, required=False)


def _check_response_format(value: Any, out: list[Finding]) -> None:
    if type(value) is str or isinstance(value, str):
        return
    _member(value, "type", "$.response_format.type", _A_STRING, out)


def _check_tool_call(call: object, path: str, out: list[Finding]) -> None:
    if type(call) is dict:
        function = call.get("function")
        if (
            type(call.get("id")) is str
            and type(call.get("type")) is str
            and type(function) is dict
            and type(function.get("name")) is str
            and type(function.get("arguments")) is str
        ):
            return  # the usual case, checked without building paths
    elif not isinstance(call, dict):
        out.append(_wrong_type(path, "an object (a tool call)", call))
        return
    _member(call, "id", f"{path}.id", _A_STRING, out)
    _member(call, "type", f"{path}.type", _A_STRING, out)
    function = _member(call, "function", f"{path}.function", _AN_OBJECT, out)
    if function is not _MISSING:
        _member(function, "name", f"{path}.function.name", _A_STRING, out)
        _member(function, "arguments", f"{path}.function.arguments", _A_STRING, out)


def _check_required_action(value: dict[Any, Any], out: list[Finding]) -> None:
    _member(value, "type", "$.required_action.type", _A_STRING, out)
    path = "$.required_action.submit_tool_outputs"
    submit = _member(value, "submit_tool_outputs", path, _AN_OBJECT, out)
    if submit is _MISSING:
        return
    calls = _member(submit, "tool_calls", f"{path}.tool_calls", _AN_ARRAY, out)
    if calls is _MISSING:
        return
    for i, call in enumerate(calls):
        _check_tool_call(call, f"{path}.tool_calls[{i}]", out)


def _check_last_error(value: dict[Any, Any], out: list[Finding]) -> None:
    _member(value, "code", "$.last_error.code", _A_STRING, out)
    _member(value, "message", "$.last_error.message", _A_STRING, out)


def _check_incomplete_details(value: dict[Any, Any], out: list[Finding]) -> None:
    path = "$.incomplete_details.reason"
    _member(value, "reason", path, _A_STRING_OR_NULL, out, required=False)


_USAGE_COUNTS: Final = ("prompt_tokens", "completion_tokens", "total_tokens")


def _check_usage(value: dict[Any, Any], out: list[Finding]) -> None:
    get = value.get
    if (
        type(get("prompt_tokens")) is int
        and type(get("completion_tokens")) is int
        and type(get("total_tokens")) is int
    ):
        return  # the usual case, checked fast
    for key in _USAGE_COUNTS:
        if type(value.get(key)) is not int:
            _member(value, key, f"$.usage.{key}", _AN_INT, out)


_STAMP: Final[Kind] = (_INT, "an int (Unix seconds)")
_STAMP_OR_NULL: Final[Kind] = (_INT_OR_NULL, "an int (Unix seconds) or null")
_AN_OBJECT_OR_NULL: Final[Kind] = (_OBJECT_OR_NULL, "an object or null")
_STRING_OBJECT_OR_NULL: Final[Kind] = (_STR_OBJECT_OR_NULL, "a string, an object or null")
_NUMBER: Final[Kind] = (_NUMBER_OR_NULL, "a number or null")

Field = tuple[str, str, Types, str, bool, Check | None]


def _field(name: str, kind: Kind, check: Check | None = None, *, required: bool = True) -> Field:
    """A row of :data:`_FIELDS`: flat, so that the hot loop unpacks it in one step."""
    return (name, f"$.{name}", kind[0], kind[1], required, check)


#: (name, path, accepted exact types, what is expected, required, check of a non-null value),
#: in the seed's order.
_FIELDS: Final[tuple[Field, ...]] = (
    _field("assistant_id", _A_STRING),
    _field("cancelled_at", _STAMP_OR_NULL),
    _field("completed_at", _STAMP_OR_NULL),
    _field("created_at", _STAMP),
    _field("expires_at", _STAMP_OR_NULL),
    _field("failed_at", _STAMP_OR_NULL),
    _field("id", _A_STRING),
    _field("incomplete_details", _AN_OBJECT_OR_NULL, _check_incomplete_details),
    _field("instructions", _A_STRING_OR_NULL),
    _field("last_error", _AN_OBJECT_OR_NULL, _check_last_error),
    _field("max_completion_tokens", _AN_INT_OR_NULL),
    _field("max_prompt_tokens", _AN_INT_OR_NULL),
    _field("metadata", _AN_OBJECT_OR_NULL),
    _field("model", _A_STRING),
    _field("object", (_STR, "the string 'thread.run'"), _check_object),
    _field("parallel_tool_calls", (_BOOL, "a bool")),
    _field("required_action", _AN_OBJECT_OR_NULL, _check_required_action),
    _field("response_format", _STRING_OBJECT_OR_NULL, _check_response_format),
    _field("started_at", _STAMP_OR_NULL),
    _field("status", (_STR, "a string status"), _check_status),
    _field("temperature", _NUMBER, required=False),
    _field("thread_id", _A_STRING),
    _field("tool_choice", _STRING_OBJECT_OR_NULL, _check_tool_choice),
    _field("tools", _AN_ARRAY, _check_tools),
    _field("top_p", _NUMBER, required=False),
    _field("truncation_strategy", _AN_OBJECT_OR_NULL, _check_truncation_strategy),
    _field("usage", _AN_OBJECT_OR_NULL, _check_usage),
)


def structure_problems(data: object) -> list[Finding]:
    """The structure findings of *data*: what makes it impossible to load as a run.

    This is the check every load runs, so it is written for speed: a sound run dict costs a
    few microseconds, and no path or message is built unless something is wrong.

    Args:
        data: Any value; a loadable run is a JSON object with the 27 fields of the seed
            (``temperature`` and ``top_p`` may be absent), each of its JSON type.

    Returns:
        The findings, all of kind ``"structure"``, in the seed's field order; empty when
        *data* can be loaded.
    """
    out: list[Finding] = []
    if type(data) is not dict and not isinstance(data, dict):
        msg = f"expected a JSON object (a run), got {_describe(data)}"
        out.append(Finding(_STRUCTURE, "not-an-object", "$", msg))
        return out
    get = data.get
    absent = 0
    for name, path, accepted, expected, required, check in _FIELDS:
        value = get(name, _MISSING)
        if type(value) in accepted:
            if check is not None and value is not None:
                check(value, out)
        elif value is _MISSING:
            absent += 1
            if required:
                out.append(_missing(path))
        elif _accepts(value, accepted):
            if check is not None:
                check(value, out)
        else:
            out.append(_wrong_type(path, expected, value))
    # Only keys beyond the known fields can be something else than strings; str.join checks
    # them all in C (faster than any loop here) and refuses anything but strings.
    if len(data) > len(_FIELDS) - absent:
        try:
            "".join(data)
        except TypeError:
            out[:0] = [
                Finding(
                    _STRUCTURE, "non-string-key", "$", f"expected string keys, got {_describe(k)}"
                )
                for k in data
                if not isinstance(k, str)
            ]
    return out


#: The rows of :data:`_FIELDS` by field name.
_ROWS: Final[dict[str, Field]] = {row[0]: row for row in _FIELDS}


def field_problems(name: str, value: object) -> list[Finding]:
    """The structure findings, then (if none) the rule findings, of one top-level field.

    What ``RunEngine.create`` checks of each field its caller gives: *value* is judged as
    ``data[name]`` of a run dict, and the findings have the paths they would have there.

    Args:
        name: A field of the wire object (``KeyError`` for anything else).
        value: Any value.
    """
    out: list[Finding] = []
    _, path, accepted, expected, _, check = _ROWS[name]
    if type(value) in accepted or _accepts(value, accepted):
        if check is not None and value is not None:
            check(value, out)
    else:
        out.append(_wrong_type(path, expected, value))
    if not out:
        rule = _RULES.get(name)
        if rule is not None:
            rule(value, out)
    return out


# --------------------------------------------------------------------------- rules

#: The stamps before ``incomplete_details`` in the seed's order (``started_at`` comes later).
_STAMPS: Final = ("cancelled_at", "completed_at", "created_at", "expires_at", "failed_at")
_LIMITS: Final = ("max_completion_tokens", "max_prompt_tokens")
_MIN_TOKENS: Final = 256
_MAX_TOOLS: Final = 20
_TOOL_TYPES: Final = ("code_interpreter", "file_search", "function")
_MAX_NAME: Final = 64
_NAME_CHARS: Final = frozenset(string.ascii_letters + string.digits + "_-")
_MAX_PAIRS: Final = 16
_MAX_KEY: Final = 64
_MAX_VALUE: Final = 512
_TOOL_CHOICES: Final = ("none", "auto", "required")
_TRUNCATION_TYPES: Final = ("auto", "last_messages")
_RESPONSE_TYPES: Final = ("text", "json_object", "json_schema")
_ERROR_CODES: Final = ("server_error", "rate_limit_exceeded", "invalid_prompt")
_REASONS: Final = ("max_prompt_tokens", "max_completion_tokens")


def _allowed(values: tuple[str, ...]) -> str:
    return ", ".join(values)


def _rule(code: str, path: str, message: str) -> Finding:
    return Finding(_RULE, code, path, message)


def _out_of_range(name: str, expected: str, value: object) -> Finding:
    return Finding(
        _RULE, "out-of-range", f"$.{name}", f"expected {expected}, got {_describe(value)}"
    )


def _rule_incomplete_details(value: object, out: list[Finding]) -> None:
    if not isinstance(value, dict):
        return
    reason = value.get("reason")
    if isinstance(reason, str) and reason not in _REASONS:
        msg = f"expected one of {_allowed(_REASONS)} (or null), got {_describe(reason)}"
        out.append(_rule("unknown-value", "$.incomplete_details.reason", msg))


def _rule_last_error(value: object, out: list[Finding]) -> None:
    if not isinstance(value, dict):
        return
    code = value.get("code")
    if isinstance(code, str) and code not in _ERROR_CODES:
        msg = f"expected one of {_allowed(_ERROR_CODES)}, got {_describe(code)}"
        out.append(_rule("unknown-error-code", "$.last_error.code", msg))


def _rule_metadata(value: object, out: list[Finding]) -> None:
    if value is None:
        msg = "expected an object of at most 16 string pairs, got null"
        out.append(_rule("null-field", "$.metadata", msg))
        return
    if not isinstance(value, dict):
        return
    if len(value) > _MAX_PAIRS:
        msg = f"expected at most {_MAX_PAIRS} pairs, got {len(value)}"
        out.append(_rule("too-many-metadata-pairs", "$.metadata", msg))
    for key, item in value.items():
        if not isinstance(key, str):
            msg = f"expected string keys, got {_describe(key)}"
            out.append(_rule("invalid-metadata-key", "$.metadata", msg))
            continue
        if len(key) > _MAX_KEY:
            msg = (
                f"expected keys of at most {_MAX_KEY} characters, got a key of {len(key)}: "
                f"{_clip(key)}"
            )
            out.append(_rule("invalid-metadata-key", "$.metadata", msg))
        if not isinstance(item, str):
            msg = f"expected a string of at most {_MAX_VALUE} characters, got {_describe(item)}"
            out.append(_rule("invalid-metadata-value", _key_path("$.metadata", key), msg))
        elif len(item) > _MAX_VALUE:
            msg = (
                f"expected a string of at most {_MAX_VALUE} characters, got a string of {len(item)}"
            )
            out.append(_rule("invalid-metadata-value", _key_path("$.metadata", key), msg))


def _rule_required_action(value: object, out: list[Finding]) -> None:
    if not isinstance(value, dict):
        return
    kind = value.get("type")
    if isinstance(kind, str) and kind != "submit_tool_outputs":
        msg = f"expected 'submit_tool_outputs', got {_describe(kind)}"
        out.append(_rule("unknown-value", "$.required_action.type", msg))
    submit = value.get("submit_tool_outputs")
    calls = submit.get("tool_calls") if isinstance(submit, dict) else None
    if not isinstance(calls, list):
        return
    base = "$.required_action.submit_tool_outputs.tool_calls"
    seen: dict[str, int] = {}
    for i, call in enumerate(calls):
        if not isinstance(call, dict):
            continue
        kind = call.get("type")
        if isinstance(kind, str) and kind != "function":
            msg = f"expected 'function', got {_describe(kind)}"
            out.append(_rule("unknown-value", f"{base}[{i}].type", msg))
        call_id = call.get("id")
        if not isinstance(call_id, str):
            continue
        if not call_id:
            msg = "expected a non-empty id, got str ''"
            out.append(_rule("empty-tool-call-id", f"{base}[{i}].id", msg))
        elif call_id in seen:
            msg = (
                f"id {_clip(call_id)} is also the id of tool_calls[{seen[call_id]}]; "
                "expected unique ids"
            )
            out.append(_rule("duplicate-tool-call-id", f"{base}[{i}].id", msg))
        else:
            seen[call_id] = i


def _rule_response_format(value: object, out: list[Finding]) -> None:
    if isinstance(value, str):
        if value != "auto":
            msg = (
                "expected 'auto' or an object of type text, json_object or json_schema, "
                f"got {_describe(value)}"
            )
            out.append(_rule("unknown-value", "$.response_format", msg))
        return
    if not isinstance(value, dict):
        return
    kind = value.get("type")
    if not isinstance(kind, str):
        return
    if kind not in _RESPONSE_TYPES:
        msg = f"expected one of {_allowed(_RESPONSE_TYPES)}, got {_describe(kind)}"
        out.append(_rule("unknown-value", "$.response_format.type", msg))
    elif kind == "json_schema":
        schema = value.get("json_schema", _MISSING)
        if not isinstance(schema, dict):
            got = "nothing" if schema is _MISSING else _describe(schema)
            msg = f"expected an object (a json_schema response format needs one), got {got}"
            out.append(_rule("invalid-response-format", "$.response_format.json_schema", msg))


def _rule_tool_choice(value: object, out: list[Finding]) -> None:
    if value is None:
        msg = (
            "expected 'none', 'auto', 'required' or an object of type function, file_search "
            "or code_interpreter, got null"
        )
        out.append(_rule("null-field", "$.tool_choice", msg))
        return
    if isinstance(value, str):
        if value not in _TOOL_CHOICES:
            msg = f"expected one of {_allowed(_TOOL_CHOICES)} or an object, got {_describe(value)}"
            out.append(_rule("unknown-value", "$.tool_choice", msg))
        return
    if not isinstance(value, dict):
        return
    kind = value.get("type")
    if not isinstance(kind, str):
        return
    if kind not in _TOOL_TYPES:
        msg = f"expected one of {_allowed(_TOOL_TYPES)}, got {_describe(kind)}"
        out.append(_rule("unknown-value", "$.tool_choice.type", msg))
    elif kind == "function":
        function = value.get("function", _MISSING)
        name = function.get("name", _MISSING) if isinstance(function, dict) else _MISSING
        if not isinstance(name, str):
            got = "nothing" if function is _MISSING else _describe(function)
            msg = f'expected a function object {{"name": ...}} (type function needs it), got {got}'
            out.append(_rule("invalid-tool-choice", "$.tool_choice.function", msg))


def _rule_function_tool(tool: dict[Any, Any], path: str, out: list[Finding]) -> None:
    function = tool.get("function", _MISSING)
    if not isinstance(function, dict):
        got = "nothing" if function is _MISSING else _describe(function)
        msg = f"expected an object (a function tool needs one), got {got}"
        out.append(_rule("invalid-tool", f"{path}.function", msg))
        return
    name = function.get("name", _MISSING)
    problem = None
    if not isinstance(name, str):
        problem = "nothing" if name is _MISSING else _describe(name)
    elif not name or len(name) > _MAX_NAME or not _NAME_CHARS.issuperset(name):
        problem = _describe(name)
    if problem is not None:
        msg = f"expected 1 to {_MAX_NAME} characters of a-z, A-Z, 0-9, _ and -, got {problem}"
        out.append(_rule("invalid-function-name", f"{path}.function.name", msg))
    description = function.get("description", _MISSING)
    if description is not _MISSING and not isinstance(description, str):
        msg = f"expected a string, got {_describe(description)}"
        out.append(_rule("invalid-tool", f"{path}.function.description", msg))
    parameters = function.get("parameters", _MISSING)
    if parameters is not _MISSING and not isinstance(parameters, dict):
        msg = f"expected an object (a JSON schema), got {_describe(parameters)}"
        out.append(_rule("invalid-tool", f"{path}.function.parameters", msg))
    strict = function.get("strict")
    if strict is not None and not isinstance(strict, bool):
        msg = f"expected a bool or null, got {_describe(strict)}"
        out.append(_rule("invalid-tool", f"{path}.function.strict", msg))


def _rule_tools(value: object, out: list[Finding]) -> None:
    if not isinstance(value, list):
        return
    if len(value) > _MAX_TOOLS:
        msg = f"expected at most {_MAX_TOOLS} tools, got {len(value)}"
        out.append(_rule("too-many-tools", "$.tools", msg))
    for i, tool in enumerate(value):
        if not isinstance(tool, dict):
            continue
        kind = tool.get("type")
        if not isinstance(kind, str) or kind == "code_interpreter":
            continue
        if kind == "function":
            _rule_function_tool(tool, f"$.tools[{i}]", out)
        elif kind == "file_search":
            search = tool.get("file_search")
            if search is not None and not isinstance(search, dict):
                msg = f"expected an object, got {_describe(search)}"
                out.append(_rule("invalid-tool", f"$.tools[{i}].file_search", msg))
        else:
            msg = f"expected one of {_allowed(_TOOL_TYPES)}, got {_describe(kind)}"
            out.append(_rule("unknown-tool-type", f"$.tools[{i}].type", msg))


def _rule_truncation_strategy(value: object, out: list[Finding]) -> None:
    if value is None:
        msg = 'expected an object {"type": "auto" | "last_messages", ...}, got null'
        out.append(_rule("null-field", "$.truncation_strategy", msg))
        return
    if not isinstance(value, dict):
        return
    kind = value.get("type")
    if isinstance(kind, str) and kind not in _TRUNCATION_TYPES:
        msg = f"expected one of {_allowed(_TRUNCATION_TYPES)}, got {_describe(kind)}"
        out.append(_rule("unknown-value", "$.truncation_strategy.type", msg))
    last = value.get("last_messages")
    if isinstance(last, int) and last < 1 and not isinstance(last, bool):
        msg = f"expected null or an int >= 1, got {_describe(last)}"
        out.append(_rule("out-of-range", "$.truncation_strategy.last_messages", msg))


def _rule_usage(value: object, out: list[Finding]) -> None:
    if not isinstance(value, dict):
        return
    prompt, completion, total = map(value.get, _USAGE_COUNTS)
    if (
        type(prompt) is int
        and type(completion) is int
        and type(total) is int
        and prompt >= 0
        and completion >= 0
        and total == prompt + completion
    ):
        return  # the usual case, checked fast
    counts: list[int] = []
    for key in _USAGE_COUNTS:
        count = value.get(key)
        if not _is_int(count):
            return
        if count < 0:
            msg = f"expected an int >= 0, got {_describe(count)}"
            out.append(_rule("out-of-range", f"$.usage.{key}", msg))
        counts.append(count)
    prompt, completion, total = counts
    if total != prompt + completion:
        msg = (
            "expected total_tokens == prompt_tokens + completion_tokens "
            f"({_clip(prompt)} + {_clip(completion)} = {_clip(prompt + completion)}), "
            f"got {_clip(total)}"
        )
        out.append(_rule("usage-mismatch", "$.usage.total_tokens", msg))


def _rule_limit(name: str) -> Check:
    def check(value: object, out: list[Finding]) -> None:
        if isinstance(value, int) and value < _MIN_TOKENS and not isinstance(value, bool):
            out.append(_out_of_range(name, f"null or an int >= {_MIN_TOKENS}", value))

    return check


def _rule_temperature(value: object, out: list[Finding]) -> None:
    if isinstance(value, int | float) and not 0 <= value <= 2 and not isinstance(value, bool):
        out.append(_out_of_range("temperature", "null or a number in [0, 2]", value))


def _rule_top_p(value: object, out: list[Finding]) -> None:
    if isinstance(value, int | float) and not 0 <= value <= 1 and not isinstance(value, bool):
        out.append(_out_of_range("top_p", "null or a number in [0, 1]", value))


#: The rules of the fields a caller gives ``create``, one check of the field's value each.
_RULES: Final[dict[str, Check]] = {
    "max_completion_tokens": _rule_limit("max_completion_tokens"),
    "max_prompt_tokens": _rule_limit("max_prompt_tokens"),
    "metadata": _rule_metadata,
    "response_format": _rule_response_format,
    "temperature": _rule_temperature,
    "tool_choice": _rule_tool_choice,
    "tools": _rule_tools,
    "top_p": _rule_top_p,
    "truncation_strategy": _rule_truncation_strategy,
}


def rule_problems(data: dict[str, Any]) -> list[Finding]:
    """The documented API rules that *data* breaks.

    Real API payloads break some of them (a ``max_completion_tokens`` of 16, a null
    ``metadata``, a service's own tool types), so these are reported on load, never refused;
    the engine enforces them on what it writes.

    Args:
        data: A run dict whose structure is sound (:func:`structure_problems` found nothing).
            Anything else gives a best-effort answer, never an exception.

    Returns:
        The findings, all of kind ``"rule"``, in the seed's field order.
    """
    out: list[Finding] = []
    if not isinstance(data, dict):
        return out
    # Straight-line, in the seed's order, with the common sound values passed over inline:
    # the engine runs this on every create.
    get = data.get
    for name in _STAMPS:
        value = get(name)
        if isinstance(value, int) and value < 0:  # a bool is never negative
            out.append(_out_of_range(name, "a Unix time >= 0", value))
    value = get("incomplete_details")
    if value is not None:
        _rule_incomplete_details(value, out)
    value = get("last_error")
    if value is not None:
        _rule_last_error(value, out)
    for name in _LIMITS:
        _RULES[name](get(name), out)
    value = get("metadata")
    if value != {}:
        _rule_metadata(value, out)
    value = get("required_action")
    if value is not None:
        _rule_required_action(value, out)
    value = get("response_format")
    if value is not None and value != "auto":
        _rule_response_format(value, out)
    value = get("started_at")
    if isinstance(value, int) and value < 0:
        out.append(_out_of_range("started_at", "a Unix time >= 0", value))
    _rule_temperature(get("temperature"), out)
    value = get("tool_choice")
    if value != "auto":
        _rule_tool_choice(value, out)
    _rule_tools(get("tools"), out)
    _rule_top_p(get("top_p"), out)
    _rule_truncation_strategy(get("truncation_strategy"), out)
    value = get("usage")
    if value is not None:
        _rule_usage(value, out)
    return out


# --------------------------------------------------------------------------- invariants

_ACTIVE_TEXT: Final = "active: queued, in_progress, requires_action or cancelling"
_RAN: Final = frozenset({"in_progress", "requires_action", "completed", "incomplete"})
_ENDS: Final = ("cancelled_at", "failed_at", "completed_at")
_ORDER: Final = "created_at <= started_at <= every end stamp"

#: The "non-null exactly when" invariants 1 to 4: (field, code, statuses, the statuses in words).
_IFF: Final[tuple[tuple[str, str, frozenset[str], str], ...]] = (
    (
        "required_action",
        "invariant-required-action",
        frozenset({"requires_action"}),
        "requires_action",
    ),
    ("last_error", "invariant-last-error", frozenset({"failed"}), "failed"),
    ("incomplete_details", "invariant-incomplete-details", frozenset({"incomplete"}), "incomplete"),
    (
        "completed_at",
        "invariant-end-stamp",
        frozenset({"completed", "incomplete"}),
        "completed or incomplete",
    ),
    ("failed_at", "invariant-end-stamp", frozenset({"failed"}), "failed"),
    ("cancelled_at", "invariant-end-stamp", frozenset({"cancelled"}), "cancelled"),
)


_IFF_NAMES: Final = tuple(name for name, _, _, _ in _IFF)
_IFF_NONES: Final = (None,) * len(_IFF)
#: Per status, which of the fields of ``_IFF`` are set when invariants 1 to 4 hold: one list
#: comparison tells a sound run (the usual case) from one whose findings need to be named.
_IFF_SHAPES: Final = {
    status: [status in statuses for _, _, statuses, _ in _IFF] for status in _STATUS_VALUES
}


def _iff_message(name: str, status: str, when: str, *, is_set: bool) -> str:
    state = "set" if is_set else "null"
    return (
        f"{name} is {state} but status is {_quote(status)} ({name} is non-null exactly when {when})"
    )


def invariant_problems(data: dict[str, Any]) -> list[Finding]:
    """The lifecycle invariants that *data* breaks.

    The eight invariants of the contract: 1. ``required_action`` non-null exactly in
    ``requires_action``; 2. ``last_error`` exactly in ``failed``; 3. ``incomplete_details``
    exactly in ``incomplete``; 4. ``completed_at`` exactly in ``completed``/``incomplete``,
    ``failed_at`` in ``failed``, ``cancelled_at`` in ``cancelled``; 5. ``started_at`` set in
    ``in_progress``, ``requires_action``, ``completed`` and ``incomplete``; 6. ``created_at <=
    started_at <=`` every end stamp, where set; 7. ``expires_at`` non-null exactly when the status
    is active; 8. ``usage`` null while active.

    Args:
        data: A run dict whose structure is sound (:func:`structure_problems` found nothing).
            Anything else gives a best-effort answer, never an exception.

    Returns:
        The findings, all of kind ``"invariant"``, in the order of the invariants.
    """
    out: list[Finding] = []
    if not isinstance(data, dict):
        return out
    get = data.get
    status = get("status")
    if not isinstance(status, str) or status not in _STATUS_VALUES:
        _stamp_order(data, out)  # the only invariant that does not depend on the status
        return out
    status = str.__str__(status)
    if list(map(is_not, map(get, _IFF_NAMES), _IFF_NONES)) != _IFF_SHAPES[status]:
        for name, code, statuses, words in _IFF:
            is_set = get(name) is not None
            if is_set != (status in statuses):
                msg = _iff_message(name, status, f"status is {words}", is_set=is_set)
                out.append(Finding(_INVARIANT, code, f"$.{name}", msg))
    if status in _RAN and get("started_at") is None:
        msg = (
            f"started_at is null but status is {_quote(status)} (started_at is set when "
            "status is in_progress, requires_action, completed or incomplete)"
        )
        out.append(Finding(_INVARIANT, "invariant-started-at", "$.started_at", msg))
    _stamp_order(data, out)
    active = status in _ACTIVE_VALUES
    if (get("expires_at") is not None) != active:
        msg = _iff_message("expires_at", status, f"the status is {_ACTIVE_TEXT}", is_set=not active)
        out.append(Finding(_INVARIANT, "invariant-expires-at", "$.expires_at", msg))
    if active and get("usage") is not None:
        msg = (
            f"usage is set but status is {_quote(status)} "
            f"(usage is null while the status is {_ACTIVE_TEXT})"
        )
        out.append(Finding(_INVARIANT, "invariant-usage", "$.usage", msg))
    return out


def _stamp_order(data: dict[Any, Any], out: list[Finding]) -> None:
    """Invariant 6: ``created_at <= started_at <=`` every end stamp, where set."""
    get = data.get
    created, started = get("created_at"), get("started_at")
    if type(created) is int and (started is None or (type(started) is int and started >= created)):
        # The usual case, in order: every end stamp null or at least the start (or creation).
        floor = created if started is None else started
        c, f, m = get("cancelled_at"), get("failed_at"), get("completed_at")
        if (
            (c is None or (type(c) is int and c >= floor))
            and (f is None or (type(f) is int and f >= floor))
            and (m is None or (type(m) is int and m >= floor))
        ):
            return
    created = data.get("created_at")
    if not _is_int(created):
        created = None
    started = data.get("started_at")
    if not _is_int(started):
        started = None
    if created is not None and started is not None and started < created:
        msg = f"started_at {_clip(started)} is before created_at {_clip(created)} ({_ORDER})"
        out.append(Finding(_INVARIANT, "invariant-stamp-order", "$.started_at", msg))
    for name in _ENDS:
        end = data.get(name)
        if not _is_int(end):
            continue
        if started is not None and end < started:
            msg = f"{name} {_clip(end)} is before started_at {_clip(started)} ({_ORDER})"
        elif created is not None and end < created:
            msg = f"{name} {_clip(end)} is before created_at {_clip(created)} ({_ORDER})"
        else:
            continue
        out.append(Finding(_INVARIANT, "invariant-stamp-order", f"$.{name}", msg))


# --------------------------------------------------------------------------- all of it


def inspect(data: object) -> list[Finding]:
    """Every finding of *data*: structure, then (when the structure is sound) invariants and rules.

    Never raises, whatever *data* is.

    Args:
        data: Any value; a run's wire dict is what it is meant for.

    Returns:
        The structure findings when there are any (the other checks need a sound structure);
        else the invariant findings followed by the rule findings. Empty for a sound run.
    """
    found = structure_problems(data)
    if found or not isinstance(data, dict):
        return found
    found.extend(invariant_problems(data))
    found.extend(rule_problems(data))
    return found
