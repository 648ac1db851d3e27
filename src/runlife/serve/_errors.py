"""Errors as the Assistants API gives them: ``{"error": {"message", "type", "param", "code"}}``.

Statuses follow what the official SDK does with them: it retries 408, 409, 429 and every 5xx,
so a client's mistake is always a 4xx it does not retry (400, 401, 404, 405, 413), and a 409
always carries ``x-should-retry: false``.
"""

from __future__ import annotations

from typing import Any

__all__ = ["APIError", "error_body"]


def error_body(
    message: str,
    *,
    type: str = "invalid_request_error",  # noqa: A002 - the API's field name
    param: str | None = None,
    code: str | None = None,
) -> dict[str, Any]:
    """The API's error object, wrapped: ``{"error": {...}}``."""
    return {"error": {"message": message, "type": type, "param": param, "code": code}}


class APIError(Exception):
    """An error answer: *status*, the error object's fields, and extra *headers*."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        type: str = "invalid_request_error",  # noqa: A002 - the API's field name
        param: str | None = None,
        code: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.type = type
        self.param = param
        self.code = code
        self.headers = dict(headers or {})
        if status == 409:
            self.headers["x-should-retry"] = "false"

    def body(self) -> dict[str, Any]:
        """The JSON body of the answer."""
        return error_body(self.message, type=self.type, param=self.param, code=self.code)
