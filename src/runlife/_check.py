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

:func:`inspect` runs all three: structure first, then the invariants and rules, which are
kept on the top-level fields that are present and structurally sound (so a payload with
missing keys still gets its invariant and rule findings on the others).

Each kind has its module: ``_structure``, ``_invariants`` and ``_rules``; :class:`Finding` and
the paths are in ``_findings``.

Each finding has a stable ``code``:

================================  =========  ====================================================
code                              kind       meaning
================================  =========  ====================================================
``not-an-object``                 structure  the payload is not a JSON object (a ``dict``)
``non-string-key``                structure  a key (at any level) is not a string
``missing-field``                 structure  a required field or nested member is absent
``wrong-type``                    structure  a value has the wrong JSON type (bools are never
                                             ints, floats never ints)
``wrong-object``                  structure  ``object`` is a string other than ``"thread.run"``
``unknown-status``                structure  ``status`` is a string that is not one of the nine
``too-deep``                      structure  a value nested beyond ``MAX_JSON_DEPTH`` (100) levels
                                             (the run is level 1)
``not-json``                      structure  a value JSON cannot hold: a NaN or infinite float,
                                             or an object that is no JSON value (a set, bytes)
``invariant-required-action``     invariant  1: ``required_action`` set iff ``requires_action``
``invariant-last-error``          invariant  2: ``last_error`` set iff ``failed``
``invariant-incomplete-details``  invariant  3: ``incomplete_details`` null in ``incomplete``
``invariant-end-stamp``           invariant  4: ``completed_at`` iff ``completed``/``incomplete``,
                                             ``failed_at`` iff ``failed``, ``cancelled_at`` iff
                                             ``cancelled`` (one finding per stamp)
``invariant-started-at``          invariant  5: ``started_at`` null in a status that has run
``invariant-stamp-order``         invariant  6: ``created_at <= started_at <=`` every end stamp
                                             (one finding per stamp out of order)
``invariant-expires-at``          invariant  7: ``expires_at`` set iff the status is active
``invariant-usage``               invariant  8: ``usage`` set while the status is active
``out-of-range``                  rule       a number outside its documented range: a negative
                                             timestamp or usage count, a token limit below 1,
                                             ``temperature`` outside [0, 2], ``top_p`` outside
                                             [0, 1], ``truncation_strategy.last_messages`` < 1
``below-documented-minimum``      rule       a token limit of 1 to 255: under the documented
                                             256, but the live API accepts it (never refused)
``too-long``                      rule       ``instructions`` longer than 256,000 characters
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
``duplicate-function-name``       rule       two function tools share a name
``tool-choice-not-in-tools``      rule       ``tool_choice`` names a function or a tool type the
                                             run does not have, or is ``"required"`` with no
                                             tools
``incomplete-details-set``        rule       ``incomplete_details`` set in another status than
                                             ``incomplete`` (real ``completed`` runs have it;
                                             the engine never writes it)
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
``filled-missing-field``          rule       a field an older payload lacked, filled with the
                                             API's default by ``fill_missing=True``
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
from typing import Final

from ._constraints import MISSING_DEFAULTS
from ._findings import RULE, Finding
from ._invariants import invariant_problems
from ._json import thaw
from ._rules import rule_problems
from ._structure import structure_problems

__all__ = ["inspect"]


def inspect(data: object, *, filled: tuple[str, ...] = ()) -> list[Finding]:
    """Every finding of *data*: structure, then invariants, then rules.

    Never raises, whatever *data* is. Structure findings do not hide the others: the
    invariants and rules are checked on the top-level fields that are present and sound,
    and only their findings on those fields are kept.

    Args:
        data: Any value; a run's wire dict is what it is meant for.
        filled: The fields ``from_dict(..., fill_missing=True)`` filled in (each a
            ``filled-missing-field`` rule finding, after the other rules).

    Returns:
        The structure findings, then the invariant findings, then the rule findings. Empty
        for a sound run.
    """
    found = structure_problems(data)
    if not isinstance(data, dict):
        return found
    invariants = invariant_problems(data)
    rules = rule_problems(data)
    if found:
        # Fields that are absent or whose structure is broken: what is said of them is the
        # structure finding; a rule of the tool choice needs the tools.
        broken = {_field(f.path) for f in found} | {k for k in _FIELDS if k not in data}
        invariants = [f for f in invariants if _field(f.path) not in broken]
        rules = [
            f
            for f in rules
            if _field(f.path) not in broken
            and not (f.code == "tool-choice-not-in-tools" and "tools" in broken)
        ]
    found.extend(invariants)
    found.extend(rules)
    found.extend(
        Finding(RULE, "filled-missing-field", f"$.{name}", _filled_message(name)) for name in filled
    )
    return found


#: The top-level fields the invariants and rules read.
_FIELDS: Final = (*MISSING_DEFAULTS, "id", "object", "created_at", "status")


def _field(path: str) -> str:
    """The top-level field a path is under (``$.usage.total_tokens``: ``usage``)."""
    head = path[2:] if path.startswith("$.") else ""
    for i, char in enumerate(head):
        if char in ".[":
            return head[:i]
    return head


def _filled_message(name: str) -> str:
    value = json.dumps(thaw(MISSING_DEFAULTS[name]))
    return f"missing from the payload (an older API shape): filled with the API's default {value}"
