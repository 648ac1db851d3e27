"""``runlife.serve.sse``: Server-Sent Events framing, standard library only."""

from __future__ import annotations

import json

import pytest
from tests.serve.conftest import heavy_imports, run_python

from runlife.serve import sse
from runlife.serve._errors import error_body


def test_encode_frames_compact_json():
    """``event:``, ``data:`` in compact JSON (non-ASCII kept), then a blank line."""
    frame = sse.encode("thread.run.queued", {"id": "run_1", "metadata": {"k": "é"}})
    assert frame == 'event: thread.run.queued\ndata: {"id":"run_1","metadata":{"k":"é"}}\n\n'


def test_done_is_sent_as_is():
    assert sse.DONE == "[DONE]"
    assert sse.encode("done", sse.DONE) == "event: done\ndata: [DONE]\n\n"
    assert sse.done() == "event: done\ndata: [DONE]\n\n"


def test_other_strings_are_json():
    assert sse.encode("x", "[done]") == 'event: x\ndata: "[done]"\n\n'


@pytest.mark.parametrize("name", ["a\nb", "a\rb", "a\r\n"])
def test_an_event_name_with_a_line_break_is_refused(name):
    with pytest.raises(ValueError, match="line break"):
        sse.encode(name, {})


def test_the_media_type():
    assert sse.MEDIA_TYPE == "text/event-stream"


def test_stream_error_event_shape():
    """The error event's data is wrapped as the SDK needs to raise APIError."""
    frame = sse.encode("error", error_body("broke", type="server_error"))
    data = json.loads(frame.split("data: ", 1)[1])
    assert data["error"]["message"] == "broke"


def test_importing_sse_imports_no_starlette():
    """``import runlife.serve.sse`` loads neither starlette nor the service's modules."""
    assert heavy_imports("import runlife.serve.sse as sse\nassert sse.done()") == []


def test_sse_works_without_the_serve_extra():
    """With starlette missing, ``runlife.serve.sse`` still frames events."""
    done = run_python(
        "from runlife.serve import sse\nprint(sse.encode('done', sse.DONE), end='')",
        missing=("starlette",),
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == "event: done\ndata: [DONE]\n\n"
