"""``_errors``: the API's error object, and runlife's errors as the API's answers."""

from __future__ import annotations

import logging

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
from runlife.serve import APIError
from runlife.serve._errors import error_body, first_field, from_runlife, not_found, server_error
from runlife.store import StoreError


def test_error_body_is_wrapped():
    assert error_body("m", param="p", code="c") == {
        "error": {"message": "m", "type": "invalid_request_error", "param": "p", "code": "c"}
    }


def test_a_409_is_never_retried():
    """The SDK retries a 409 unless told not to."""
    assert APIError(409, "x").headers == {"x-should-retry": "false"}
    assert APIError(400, "x", headers={"a": "b"}).headers == {"a": "b"}


def test_a_server_error_says_nothing_of_its_cause():
    assert server_error() == error_body(
        "The server had an error while processing your request.", type="server_error"
    )


@pytest.mark.parametrize(
    ("path", "field"),
    [("$.tools[3].function.name", "tools"), ("$.metadata", "metadata"), ("$", None), ("", None)],
)
def test_first_field(path, field):
    assert first_field(path) == field


def test_an_unknown_run_is_a_404():
    error = from_runlife(RunNotFound("run_1"))
    assert error is not None
    assert (error.status, error.body()) == (404, not_found("run_1").body())
    assert error.message == "No run found with id 'run_1'."


def test_a_busy_thread_is_a_400_on_thread_id():
    error = from_runlife(ThreadBusy("thread_1", "run_1"))
    assert error is not None
    assert (error.status, error.param) == (400, "thread_id")
    assert error.message == "Thread thread_1 already has an active run run_1."
    unknown = from_runlife(ThreadBusy("thread_1", None))
    assert unknown is not None
    assert unknown.message == "Thread thread_1 already has an active run."


def test_an_invalid_run_is_a_400_naming_the_field():
    error = from_runlife(InvalidRun([("$.tools[0]", "expected an object"), ("$.top_p", "no")]))
    assert error is not None
    assert (error.status, error.param) == (400, "tools")
    assert error.message == "Invalid request: $.tools[0]: expected an object; $.top_p: no"


def test_a_refused_guard_and_an_illegal_trigger_are_400s():
    guard = from_runlife(GuardRejected("run_1", "submit_tool_outputs", [("tool_outputs", "x")]))
    assert guard is not None
    assert guard.status == 400
    illegal = from_runlife(IllegalTransition("run_1", "cancel", "completed", ["queued"], []))
    assert illegal is not None
    assert (illegal.status, illegal.message) == (
        400,
        "The run's status 'completed' does not allow this request.",
    )


def test_a_store_error_is_a_generic_503_and_is_logged(caplog):
    """The cause (a URL, a driver's message) is logged, never sent."""
    with caplog.at_level(logging.ERROR, logger="runlife.serve"):
        error = from_runlife(StoreError("postgresql://user:secret@db/x: connection refused"))
    assert error is not None
    assert (error.status, error.type) == (503, "server_error")
    assert error.message == "The run store is unavailable; try again later."
    assert "secret" in caplog.text


def test_a_conflict_is_a_409():
    error = from_runlife(Conflict("changed"))
    assert error is not None
    assert (error.status, error.code, error.headers) == (
        409,
        "conflict",
        {"x-should-retry": "false"},
    )


def test_other_errors_are_not_answered_here():
    """Anything else is the server's error (a 500 with a generic message)."""
    assert from_runlife(RunlifeError("x")) is None
    assert from_runlife(AttributeError("x")) is None
