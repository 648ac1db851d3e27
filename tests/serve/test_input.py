"""``_input``: what a request may carry, checked before any store operation."""

from __future__ import annotations

import asyncio
from typing import Any, cast

import pytest

from runlife.serve._errors import APIError
from runlife.serve._input import (
    Paging,
    create_fields,
    json_body,
    metadata_update,
    page_query,
    run_path,
    stream_flag,
    thread_metadata,
    thread_path,
    tool_outputs,
)

UNPARSABLE = "We could not parse the JSON body of your request. The body must be valid JSON."


class _Request:
    """What ``_input`` reads of a Starlette request: the body and the path parameters."""

    def __init__(self, raw: bytes = b"", **path_params: str) -> None:
        self.raw = raw
        self.path_params = path_params

    async def body(self) -> bytes:
        return self.raw


def body_of(raw: bytes, *, allow_empty: bool = False) -> dict[str, Any]:
    return asyncio.run(json_body(cast("Any", _Request(raw)), allow_empty=allow_empty))


def refused(func: Any, *args: Any, **kwargs: Any) -> APIError:
    with pytest.raises(APIError) as info:
        func(*args, **kwargs)
    return info.value


# --- the body -------------------------------------------------------------------------------


def test_a_json_object_is_the_body():
    assert body_of(b'{"a": [1, 2.5, "\\u00e9", null, true]}') == {"a": [1, 2.5, "é", None, True]}


def test_an_empty_body_is_an_empty_object_only_where_allowed():
    assert body_of(b"  \n", allow_empty=True) == {}
    error = refused(body_of, b"")
    assert (error.status, error.message) == (
        400,
        "The request body must be a JSON object; it is empty.",
    )


@pytest.mark.parametrize(
    "raw",
    [
        b"{",
        b"\xff\xfe",
        b'{"a": NaN}',
        b'{"a": Infinity}',
        b'{"a": -Infinity}',
        b'{"a": 1e999}',
        b'{"a": "\\ud800"}',
        b'{"\\udfff": 1}',
        b'{"a": [{"b": "\\ud83d"}]}',
        b'{"a": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
        b'{"a": ' + b"9" * 5000 + b"}",
    ],
    ids=[
        "truncated",
        "not-utf8",
        "nan",
        "infinity",
        "minus-infinity",
        "float-overflow",
        "lone-surrogate",
        "surrogate-key",
        "nested-surrogate",
        "too-deep",
        "int-too-long",
    ],
)
def test_a_body_the_api_cannot_hold_is_a_400(raw):
    """Not JSON, or JSON no answer could echo (non-finite numbers, lone surrogates)."""
    error = refused(body_of, raw)
    assert (error.status, error.message, error.param) == (400, UNPARSABLE, None)


@pytest.mark.parametrize("raw", [b"[]", b'"x"', b"1", b"null"])
def test_a_body_that_is_not_an_object_is_a_400(raw):
    error = refused(body_of, raw)
    assert (error.status, error.message) == (400, "The request body must be a JSON object.")


def test_a_valid_surrogate_pair_is_kept():
    assert body_of(b'{"a": "\\ud83d\\ude00"}') == {"a": "\U0001f600"}


# --- the path -------------------------------------------------------------------------------


def test_path_ids():
    request = cast("Any", _Request(thread_id="thread_1", run_id="run_1"))
    assert thread_path(request) == "thread_1"
    assert run_path(request) == ("thread_1", "run_1")


def test_a_thread_id_with_a_nul_is_a_400():
    """A database cannot hold a NUL in text: the store must never see one."""
    error = refused(thread_path, cast("Any", _Request(thread_id="a\x00b")))
    assert (error.status, error.param) == (400, "thread_id")


def test_a_run_id_with_a_nul_is_a_404():
    error = refused(run_path, cast("Any", _Request(thread_id="t", run_id="run\x00")))
    assert (error.status, error.message) == (404, "No run found with id 'run\\x00'.")


# --- fields ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("body", "expected"), [({}, False), ({"stream": None}, False)])
def test_stream_defaults_to_false(body, expected):
    assert stream_flag(body) is expected


def test_stream_must_be_a_boolean():
    error = refused(stream_flag, {"stream": "yes"})
    assert (error.status, error.param) == (400, "stream")


def test_create_fields_drop_nulls_and_ignored_names_and_default_the_model():
    body = {"assistant_id": "asst_1", "stream": True, "include": [], "temperature": None}
    assert create_fields(body, default_model="m") == {"assistant_id": "asst_1", "model": "m"}
    assert create_fields({"assistant_id": "a", "model": "x"}, default_model="m")["model"] == "x"


def test_create_refuses_an_unknown_field():
    error = refused(create_fields, {"assistant_id": "a", "colour": "red"}, default_model="m")
    assert (error.status, error.param, error.code) == (400, "colour", "unknown_parameter")
    assert error.message == "Unrecognized request argument supplied: colour"


@pytest.mark.parametrize("body", [{}, {"assistant_id": None}])
def test_create_needs_an_assistant(body):
    error = refused(create_fields, body, default_model="m")
    assert (error.status, error.param, error.code) == (
        400,
        "assistant_id",
        "missing_required_parameter",
    )


@pytest.mark.parametrize("assistant", ["", 5, ["a"]])
def test_create_needs_an_assistant_id_string(assistant):
    error = refused(create_fields, {"assistant_id": assistant}, default_model="m")
    assert (error.status, error.param) == (400, "assistant_id")


def test_thread_metadata():
    assert thread_metadata({}) == {}
    assert thread_metadata({"metadata": None, "messages": []}) == {}
    assert thread_metadata({"metadata": {"k": "v"}}) == {"k": "v"}
    bad: object
    for bad in ([], "", 0):
        assert refused(thread_metadata, {"metadata": bad}).param == "metadata"


def test_metadata_update():
    assert metadata_update({}) is None
    assert metadata_update({"metadata": None}) == {}
    assert metadata_update({"metadata": {"k": "v"}}) == {"k": "v"}
    assert refused(metadata_update, {"metadata": [1]}).param == "metadata"
    assert refused(metadata_update, {"model": "x"}).code == "unknown_parameter"


def test_tool_outputs():
    outputs = [{"tool_call_id": "c1", "output": "x"}]
    assert tool_outputs({"tool_outputs": outputs, "stream": False}) == outputs
    assert refused(tool_outputs, {}).code == "missing_required_parameter"
    assert refused(tool_outputs, {"tool_outputs": {}}).param == "tool_outputs"
    assert refused(tool_outputs, {"tool_outputs": ["x"]}).param == "tool_outputs"
    assert refused(tool_outputs, {"tool_outputs": [], "x": 1}).code == "unknown_parameter"


# --- paging ---------------------------------------------------------------------------------


def test_paging_defaults():
    assert page_query({}) == Paging(limit=20, order="desc", after=None, before=None)
    assert page_query({"limit": "100", "order": "asc", "after": "run_1", "before": ""}) == (
        Paging(limit=100, order="asc", after="run_1", before=None)
    )


@pytest.mark.parametrize("limit", ["0", "101", "-1", "x", "", "1.5"])
def test_a_limit_out_of_range_is_a_400(limit):
    error = refused(page_query, {"limit": limit})
    assert (error.status, error.param) == (400, "limit")


def test_an_unknown_order_is_a_400():
    assert refused(page_query, {"order": "up"}).param == "order"


@pytest.mark.parametrize("name", ["after", "before"])
def test_a_cursor_with_a_nul_is_a_400(name):
    error = refused(page_query, {name: "run\x00"})
    assert (error.status, error.param) == (400, name)
