"""``RequestId``: every answer of the app carries ``x-request-id: req_<32 hex>``, in-process."""

from __future__ import annotations

import re
from pathlib import Path

from tests.serve.asgi import request

from runlife.serve import create_app
from runlife.serve._request_id import new_request_id

PATTERN = re.compile(r"req_[0-9a-f]{32}")


def test_the_format_is_the_apis():
    ids = {new_request_id() for _ in range(100)}
    assert len(ids) == 100
    assert all(PATTERN.fullmatch(i) for i in ids)


def test_every_answer_has_one_errors_included(tmp_path: Path):
    app = create_app(f"sqlite:///{tmp_path / 'runs.db'}", api_key="k", max_body_bytes=10)
    auth = {"Authorization": "Bearer k"}
    answers = [
        request(app, "POST", "/v1/threads", headers=auth),  # 200
        request(app, "GET", "/v1/threads/t/runs/r", headers=auth),  # 404
        request(app, "GET", "/v1/nothing", headers=auth),  # 404, no route
        request(app, "PUT", "/v1/threads", headers=auth),  # 405
        request(app, "POST", "/v1/threads"),  # 401
        request(app, "POST", "/v1/threads", headers={**auth, "Content-Length": "11"}),  # 413
    ]
    assert [a.status for a in answers] == [200, 404, 404, 405, 401, 413]
    ids = [a.headers.get("x-request-id", "") for a in answers]
    assert all(PATTERN.fullmatch(i) for i in ids), ids
    assert len(set(ids)) == len(ids)
