"""Errors: every runlife error pickles (a worker process can raise it to its parent)."""

from __future__ import annotations

import pickle

import pytest

from runlife import (
    Conflict,
    GuardRejected,
    IllegalTransition,
    InvalidRun,
    RunlifeError,
    RunNotFound,
    ThreadBusy,
)
from runlife.diagrams import DiagramsUnavailable
from runlife.store import LeaseLost, SchemaTooNew, StoreError, StoreURLError

ERRORS = [
    IllegalTransition("run_1", "complete", "queued", ["in_progress"], ["start"]),
    GuardRejected("run_1", "complete", [("usage", "bad")]),
    InvalidRun([("$.id", "missing")], run_id="run_1"),
    RunNotFound("run_1", thread_id="thread_1"),
    ThreadBusy("thread_1", "run_1"),
    Conflict("run run_1 is at version 2, not 1"),
    RunlifeError("plain"),
    DiagramsUnavailable("install it"),
    StoreError("down"),
    StoreURLError("bad url"),
    SchemaTooNew("sqlite:///x.db", 9, 1),
    LeaseLost("run_1", "w1", "w2", "in_progress", None),
]


@pytest.mark.parametrize("error", ERRORS, ids=lambda e: type(e).__name__)
def test_errors_pickle(error: RunlifeError) -> None:
    """A pickled error comes back as the same class, message, attributes and notes."""
    error.add_note("while doing something")
    back = pickle.loads(pickle.dumps(error))  # noqa: S301 - our own bytes
    assert type(back) is type(error)
    assert str(back) == str(error)
    assert back.__notes__ == ["while doing something"]
    public = {k: v for k, v in vars(error).items() if not k.startswith("_")}
    assert {k: v for k, v in vars(back).items() if not k.startswith("_")} == public


def test_errors_show_under_their_public_name() -> None:
    """A traceback names runlife.InvalidRun, the name users import."""
    assert InvalidRun.__module__ == "runlife"
    assert ThreadBusy.__module__ == "runlife"
