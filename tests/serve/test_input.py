"""``_input``: what a request may carry, checked before any store operation."""

from __future__ import annotations

import asyncio
from typing import Any, cast

import pytest

from runlife import MAX_JSON_DEPTH
from runlife.serve._errors import APIError
from runlife.serve._input import (
    Paging,
    create_and_run_fields,
    create_fields,
    json_body,
    metadata_update,
    page_query,
    run_path,
    step_path,
    stream_flag,
    thread_fields,
    thread_path,
    thread_update,
    tool_outputs,
)
from runlife.serve._limits import (
    MAX_ID,
    MAX_MODEL,
    MAX_TOOL_DESCRIPTION,
    MAX_TOOL_PARAMETERS,
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
        b'{"\\udfff": 1}',
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
        "surrogate-field-name",
        "too-deep",
        "int-too-long",
    ],
)
def test_a_body_the_api_cannot_hold_is_a_400(raw):
    """Not JSON, or JSON no answer could echo (non-finite numbers, a field name that is a
    lone surrogate, nested too deep for the parser)."""
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
    request = cast("Any", _Request(thread_id="thread_1", run_id="run_1", step_id="step_1"))
    assert thread_path(request) == "thread_1"
    assert run_path(request) == ("thread_1", "run_1")
    assert step_path(request) == ("thread_1", "run_1", "step_1")


def test_a_thread_id_with_a_nul_is_a_400():
    """A database cannot hold a NUL in text: the store must never see one."""
    error = refused(thread_path, cast("Any", _Request(thread_id="a\x00b")))
    assert (error.status, error.param) == (400, "thread_id")


def test_a_run_id_with_a_nul_is_a_404():
    error = refused(run_path, cast("Any", _Request(thread_id="t", run_id="run\x00")))
    assert (error.status, error.message) == (404, "No run found with id 'run\\x00'.")


def test_a_step_id_with_a_nul_is_a_404_and_one_too_long_a_400():
    nul = cast("Any", _Request(thread_id="t", run_id="r", step_id="step\x00"))
    error = refused(step_path, nul)
    assert (error.status, error.message) == (404, "No run step found with id 'step\\x00'.")
    long = cast("Any", _Request(thread_id="t", run_id="r", step_id="s" * 129))
    error = refused(step_path, long)
    assert (error.status, error.param) == (400, "step_id")


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


def test_thread_fields():
    empty: dict[str, Any] = {"metadata": {}, "tool_resources": {}}
    assert thread_fields({}) == empty
    assert thread_fields({"metadata": None, "messages": []}) == empty
    assert thread_fields({"metadata": {"k": "v"}})["metadata"] == {"k": "v"}
    bad: object
    for bad in ([], "", 0):
        assert refused(thread_fields, {"metadata": bad}).param == "metadata"
    assert refused(thread_fields, {"messages": [1]}).param == "messages"


def test_a_thread_refuses_unknown_fields():
    error = refused(thread_fields, {"metadata": {}, "title": "x"})
    assert (error.status, error.param, error.code) == (400, "title", "unknown_parameter")
    inside = refused(
        create_and_run_fields, {"assistant_id": "a", "thread": {"x": 1}}, default_model="m"
    )
    assert (inside.param, inside.message) == (
        "thread.x",
        "Unrecognized request argument supplied: thread.x",
    )


@pytest.mark.parametrize(
    ("metadata", "where"),
    [
        ({f"k{i}": "v" for i in range(17)}, "metadata"),
        ({"k" * 65: "v"}, "metadata"),
        ({"k": "v" * 513}, "metadata.k"),
        ({"k": 1}, "metadata.k"),
    ],
)
def test_thread_metadata_follows_the_rules_of_a_run(metadata, where):
    """The engine's metadata rules, on create, create-and-run and update of a thread."""
    for error in (
        refused(thread_fields, {"metadata": metadata}),
        refused(thread_update, {"metadata": metadata}),
        refused(metadata_update, {"metadata": metadata}),
    ):
        assert (error.status, error.param) == (400, "metadata")
        assert error.message.startswith(f"Invalid '{where}': ")
    nested = refused(
        create_and_run_fields,
        {"assistant_id": "a", "thread": {"metadata": metadata}},
        default_model="m",
    )
    assert nested.param == "thread.metadata"


def nested(depth: int) -> Any:
    value: Any = []
    for _ in range(depth - 1):
        value = [value]
    return value


@pytest.mark.parametrize("field", ["metadata", "tools", "tool_outputs", "x"])
def test_a_field_nested_deeper_than_the_limit_is_a_400_naming_it(field):
    """Counted as the library counts a run's levels (the body is level 1): a field's value
    may nest MAX_JSON_DEPTH - 1 levels; one more is refused, never a RecursionError."""
    import json

    def body(depth: int) -> bytes:
        return f'{{"{field}": {"[" * depth}{"]" * depth}}}'.encode()

    most = MAX_JSON_DEPTH - 1
    assert body_of(body(most)) == {field: nested(most)}
    for depth in (most + 1, 490):
        error = refused(body_of, body(depth))
        assert (error.status, error.param) == (400, field)
        assert f"nested more than {MAX_JSON_DEPTH} levels deep" in error.message
    deep_object: Any = {}
    for _ in range(most):
        deep_object = {"k": deep_object}
    assert refused(body_of, json.dumps({field: deep_object}).encode()).param == field


@pytest.mark.parametrize(
    "raw",
    [
        '{"a": 1}'.encode("utf-16"),
        '{"a": 1}'.encode("utf-16-le"),
        '{"a": 1}'.encode("utf-16-be"),
        '{"a": 1}'.encode("utf-32"),
        '{"a": 1}'.encode("utf-8-sig"),
    ],
)
def test_a_body_not_in_plain_utf8_is_not_json(raw):
    """The API reads JSON as UTF-8: UTF-16, UTF-32 and a byte order mark are refused."""
    error = refused(body_of, raw)
    assert (error.status, error.message) == (400, UNPARSABLE)


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        (b'{"metadata": {"k": "\\ud800"}}', "metadata"),
        (b'{"metadata": {"\\ud800": "v"}}', "metadata"),
        (b'{"tool_outputs": [{"tool_call_id": "c", "output": "\\udfff"}]}', "tool_outputs"),
        (b'{"a": [{"b": "\\ud83d"}]}', "a"),
    ],
)
def test_a_lone_surrogate_is_a_400_naming_the_field(raw, field):
    error = refused(body_of, raw)
    assert (error.status, error.param) == (400, field)
    assert "lone UTF-16 surrogate" in error.message


def test_thread_update():
    assert thread_update({}) == {}
    assert thread_update({"metadata": None}) == {"metadata": {}}
    assert thread_update({"tool_resources": {}}) == {"tool_resources": {}}
    assert refused(thread_update, {"messages": []}).code == "unknown_parameter"


def test_create_and_run_splits_the_thread_from_the_run():
    thread, run = create_and_run_fields(
        {
            "assistant_id": "a",
            "thread": {"messages": [{"role": "user", "content": "hi"}], "metadata": {"k": "v"}},
            "tool_resources": {},
            "stream": True,
        },
        default_model="m",
    )
    assert thread == {"metadata": {"k": "v"}, "tool_resources": {}}
    assert run == {"assistant_id": "a", "model": "m"}
    assert (
        refused(create_and_run_fields, {"assistant_id": "a", "thread": []}, default_model="m").param
        == "thread"
    )


# --- the serve-only caps ----------------------------------------------------------------------


def test_the_caps():
    assert (MAX_MODEL, MAX_ID, MAX_TOOL_DESCRIPTION, MAX_TOOL_PARAMETERS, MAX_JSON_DEPTH) == (
        256,
        128,
        1024,
        64 * 1024,
        100,
    )


def test_model_and_assistant_id_are_capped():
    assert create_fields({"assistant_id": "a", "model": "m" * MAX_MODEL}, default_model="x")
    error = refused(
        create_fields, {"assistant_id": "a", "model": "m" * (MAX_MODEL + 1)}, default_model="x"
    )
    assert (error.status, error.param) == (400, "model")
    assert create_fields({"assistant_id": "a" * MAX_ID}, default_model="x")
    error = refused(create_fields, {"assistant_id": "a" * (MAX_ID + 1)}, default_model="x")
    assert (error.status, error.param) == (400, "assistant_id")


def _tool(**function: Any) -> dict[str, Any]:
    return {
        "assistant_id": "a",
        "tools": [
            {"type": "code_interpreter"},
            {"type": "function", "function": {"name": "f", **function}},
        ],
    }


def test_a_tool_description_is_capped():
    assert create_fields(_tool(description="d" * MAX_TOOL_DESCRIPTION), default_model="m")
    error = refused(
        create_fields, _tool(description="d" * (MAX_TOOL_DESCRIPTION + 1)), default_model="m"
    )
    assert (error.status, error.param) == (400, "tools[1].function.description")


def test_tool_parameters_are_capped_as_compact_json():
    # {"p":"..."} is 8 bytes of JSON around the string.
    fits = {"p": "x" * (MAX_TOOL_PARAMETERS - 8)}
    assert create_fields(_tool(parameters=fits), default_model="m")
    over = {"p": "x" * (MAX_TOOL_PARAMETERS - 7)}
    error = refused(create_fields, _tool(parameters=over), default_model="m")
    assert (error.status, error.param) == (400, "tools[1].function.parameters")
    assert str(MAX_TOOL_PARAMETERS) in error.message


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
