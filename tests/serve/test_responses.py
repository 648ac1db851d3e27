"""``_responses``: JSON answers."""

from __future__ import annotations

from runlife.serve._responses import json_response


def test_compact_utf8_json():
    response = json_response({"a": [1, "é"]}, 201, {"x-a": "b"})
    assert response.status_code == 201
    assert response.body == '{"a":[1,"é"]}'.encode()
    assert response.headers["content-type"] == "application/json"
    assert response.headers["x-a"] == "b"
