"""The API's documented constraints, as constants: codes, reasons and limits.

Declared once: the checks (``check``), the guards, create, the strategies and the
simulator all read them from here.
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, Final

__all__ = [
    "ERROR_CODES",
    "INCOMPLETE_REASONS",
    "MAX_INSTRUCTIONS",
    "MAX_JSON_DEPTH",
    "MAX_METADATA_KEY",
    "MAX_METADATA_PAIRS",
    "MAX_METADATA_VALUE",
    "MAX_NAME",
    "MAX_TOOLS",
    "MIN_TOKEN_LIMIT",
    "MISSING_DEFAULTS",
    "NAME_CHARS",
    "REPORTED_ONLY",
    "STEP_ERROR_CODES",
    "USAGE_COUNTS",
]

#: ``last_error.code`` values the API documents.
ERROR_CODES: Final[tuple[str, ...]] = ("server_error", "rate_limit_exceeded", "invalid_prompt")
#: A run step's ``last_error.code`` values (the reference lists no ``invalid_prompt`` for steps).
STEP_ERROR_CODES: Final[tuple[str, ...]] = ("server_error", "rate_limit_exceeded")
#: ``incomplete_details.reason`` values: the token limit that ended the run.
INCOMPLETE_REASONS: Final[tuple[str, ...]] = ("max_prompt_tokens", "max_completion_tokens")
#: At most this many tools on a run.
MAX_TOOLS: Final = 20
#: A function name: 1 to 64 characters of ``NAME_CHARS``.
MAX_NAME: Final = 64
NAME_CHARS: Final = frozenset(string.ascii_letters + string.digits + "_-")
#: ``metadata``: at most 16 pairs, keys of at most 64 characters, string values of at most 512.
MAX_METADATA_PAIRS: Final = 16
MAX_METADATA_KEY: Final = 64
MAX_METADATA_VALUE: Final = 512
#: The documented floor of ``max_prompt_tokens`` and ``max_completion_tokens``: only reported
#: (live recordings show the API accepting 16); what is enforced is null or >= 1.
MIN_TOKEN_LIMIT: Final = 256
#: ``instructions``: at most this many characters (the API's limit).
MAX_INSTRUCTIONS: Final = 256_000
#: A run's wire object nests at most this many levels deep (the run itself is level 1,
#: ``metadata`` level 2, ...): beyond it a value is refused (structure, ``too-deep``).
MAX_JSON_DEPTH: Final = 100
#: The codes of documented rules that the engine only reports, never refuses on write:
#: live recordings show the API accepting what they forbid.
REPORTED_ONLY: Final = frozenset({"below-documented-minimum"})
#: ``usage``'s three counts; ``total_tokens`` is the sum of the other two.
USAGE_COUNTS: Final = ("prompt_tokens", "completion_tokens", "total_tokens")

#: The value the API gives each top-level field of a run that never set it, in the API's
#: order: what ``from_dict(data, fill_missing=True)`` fills in for a field that a payload of
#: an older API version lacks (``check`` reports each as ``filled-missing-field``). The
#: identity fields (``id``, ``object``, ``created_at``, ``assistant_id``, ``thread_id``,
#: ``status``, ``model``) have none: missing, they stay a structure error; ``temperature``
#: and ``top_p`` may be absent anyway.
MISSING_DEFAULTS: Final[Mapping[str, Any]] = MappingProxyType(
    {
        "started_at": None,
        "expires_at": None,
        "cancelled_at": None,
        "failed_at": None,
        "completed_at": None,
        "required_action": None,
        "last_error": None,
        "instructions": None,
        "tools": (),
        "metadata": MappingProxyType({}),
        "max_completion_tokens": None,
        "max_prompt_tokens": None,
        "truncation_strategy": MappingProxyType({"type": "auto", "last_messages": None}),
        "incomplete_details": None,
        "usage": None,
        "response_format": "auto",
        "tool_choice": "auto",
        "parallel_tool_calls": True,
    }
)
