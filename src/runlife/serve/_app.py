"""The ASGI app: the Assistants API's runs endpoints over a runlife store.

Every handler is a thin shell around one or two store operations, run in a thread (the
store is synchronous and thread-safe: one pooled connection per call). Moves go through
the store (compare-and-set, the engine's table and guards), so two clients racing to move
one run, or to start a second run on a thread, get the API's 400, never a lost update.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import logging
import secrets
import time
from collections.abc import AsyncIterator, Callable, Mapping
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from anyio import to_thread
from starlette.applications import Starlette
from starlette.background import BackgroundTask
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

import runlife
from runlife import (
    Conflict,
    GuardRejected,
    IllegalTransition,
    InvalidRun,
    RunEngine,
    RunlifeError,
    RunNotFound,
    to_dict,
)
from runlife.store import Page, Store, StoreError, open_store
from runlife.store import ThreadBusy as StoreThreadBusy

from ._errors import APIError, error_body
from ._signals import Signals
from .sse import encode as sse_encode

if TYPE_CHECKING:
    from starlette.types import ASGIApp, Receive, Scope, Send

__all__ = ["DEFAULT_MAX_BODY", "DEFAULT_POLL_AFTER_MS", "create_app"]

_log = logging.getLogger("runlife.serve")

_T = TypeVar("_T")

#: ``openai-poll-after-ms`` sent with every retrieve.
DEFAULT_POLL_AFTER_MS = 25
#: Request bodies larger than this are refused (413).
DEFAULT_MAX_BODY = 1 << 20

#: Where the SDK's poll helpers stop polling.
_POLL_STOP = frozenset(
    {"requires_action", "cancelled", "completed", "failed", "expired", "incomplete"}
)
#: Where a stream ends (the same set: ``cancelling`` goes on).
_STREAM_END = _POLL_STOP

_CREATE_FIELDS = frozenset(
    {
        "assistant_id",
        "model",
        "instructions",
        "tools",
        "metadata",
        "tool_choice",
        "parallel_tool_calls",
        "truncation_strategy",
        "response_format",
        "temperature",
        "top_p",
        "max_prompt_tokens",
        "max_completion_tokens",
    }
)
#: Accepted on create and ignored: this service has no messages, assistants or reasoning.
_CREATE_IGNORED = frozenset(
    {"stream", "additional_instructions", "additional_messages", "reasoning_effort", "include"}
)
_DUMPS = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode


def _json(data: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> Response:
    return Response(
        _DUMPS(data).encode(), status_code=status, headers=headers, media_type="application/json"
    )


def _first_field(path: str) -> str | None:
    """``$.tools[3].function.name`` -> ``tools``."""
    rest = path.removeprefix("$.").removeprefix("$")
    for stop in ".[":
        rest = rest.split(stop, 1)[0]
    return rest or None


def _not_found(run_id: str) -> APIError:
    return APIError(404, f"No run found with id '{run_id}'.")


class _Watch:
    """Wakes the coroutines that follow runs when a run's slot in the change table moves.

    One task looks at the slots of the runs being followed every *tick* seconds (memory
    reads, no I/O); a follower wakes when its slot changed, or after its own timeout (the
    database poll that catches moves made on other machines).
    """

    def __init__(self, signals: Signals, tick: float = 0.002) -> None:
        self.signals = signals
        self.tick = tick
        self._waiters: dict[asyncio.Event, tuple[int, int]] = {}
        self._task: asyncio.Task[None] | None = None

    def snapshot(self, run_id: str) -> tuple[int, int]:
        slot = self.signals.slot(run_id)
        return slot, self.signals.read(slot)

    async def wait(self, snap: tuple[int, int], timeout: float) -> None:  # noqa: ASYNC109
        """Return when the slot moved past *snap* or after *timeout* seconds."""
        if self.signals.read(snap[0]) != snap[1]:
            return
        event = asyncio.Event()
        self._waiters[event] = snap
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._loop())
        try:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(event.wait(), timeout)
        finally:
            self._waiters.pop(event, None)

    async def _loop(self) -> None:
        read = self.signals.read
        while self._waiters:
            await asyncio.sleep(self.tick)
            for event, (slot, seen) in list(self._waiters.items()):
                if read(slot) != seen:
                    event.set()


class _BodyLimit:
    """Refuse request bodies over *limit* bytes (413) and check the API key (401)."""

    def __init__(self, app: ASGIApp, *, limit: int, api_key: str | None) -> None:
        self.app = app
        self.limit = limit
        self.expected = f"Bearer {api_key}".encode() if api_key else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        if self.expected is not None:
            given = headers.get(b"authorization")
            if given is None or not hmac.compare_digest(given, self.expected):
                message = (
                    "You didn't provide an API key. Send it as a Bearer token in the "
                    "Authorization header."
                    if given is None
                    else "Incorrect API key provided."
                )
                response = _json(error_body(message, code="invalid_api_key"), 401)
                await response(scope, receive, send)
                return
        length = headers.get(b"content-length")
        if length is not None and length.isdigit() and int(length) > self.limit:
            await self._too_large(scope, receive, send)
            return
        seen = 0
        limit = self.limit

        async def limited() -> Any:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise APIError(413, f"The request body is larger than {limit} bytes.")
            return message

        await self.app(scope, limited, send)

    async def _too_large(self, scope: Scope, receive: Receive, send: Send) -> None:
        body = error_body(f"The request body is larger than {self.limit} bytes.")
        await _json(body, 413)(scope, receive, send)


class _Service:
    """The handlers, bound to one store."""

    def __init__(
        self,
        store: Store,
        *,
        signals: Signals,
        default_model: str,
        poll_after_ms: int,
        poll_wait_ms: int,
        poll_ms: int,
    ) -> None:
        self.store = store
        self.signals = signals
        self.watch = _Watch(signals)
        self.default_model = default_model
        self.poll_after = str(poll_after_ms)
        self.poll_wait = poll_wait_ms / 1000
        self.poll = poll_ms / 1000

    async def call(self, func: Callable[..., _T], *args: Any, **kwargs: Any) -> _T:
        """Run a store operation in a thread, mapping runlife's errors to the API's."""

        def run() -> _T:
            return func(*args, **kwargs)

        try:
            return await to_thread.run_sync(run)
        except RunNotFound as exc:
            raise _not_found(exc.run_id) from None
        except (runlife.ThreadBusy, StoreThreadBusy) as exc:
            holder = f" {exc.run_id}" if exc.run_id else ""
            raise APIError(
                400,
                f"Thread {exc.thread_id} already has an active run{holder}.",
                param="thread_id",
            ) from None
        except InvalidRun as exc:
            param = _first_field(exc.errors[0][0]) if exc.errors else None
            lines = "; ".join(f"{path}: {problem}" for path, problem in exc.errors)
            raise APIError(400, f"Invalid request: {lines}", param=param) from None
        except StoreError as exc:
            _log.exception("store error")
            raise APIError(
                503, f"The run store is unavailable: {exc}", type="server_error"
            ) from None
        except Conflict as exc:
            raise APIError(
                409, f"The run changed concurrently; nothing was written: {exc}", code="conflict"
            ) from None

    # --- reading input --------------------------------------------------------------------

    @staticmethod
    async def body(request: Request, *, allow_empty: bool = False) -> dict[str, Any]:
        raw = await request.body()
        if not raw.strip():
            if allow_empty:
                return {}
            raise APIError(400, "The request body must be a JSON object; it is empty.")
        try:
            data = json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            raise APIError(
                400,
                "We could not parse the JSON body of your request. The body must be valid JSON.",
            ) from None
        if not isinstance(data, dict):
            raise APIError(400, "The request body must be a JSON object.")
        return data

    @staticmethod
    def stream_flag(body: Mapping[str, Any]) -> bool:
        stream = body.get("stream", False)
        if stream is None:
            return False
        if not isinstance(stream, bool):
            raise APIError(
                400, f"Invalid 'stream': expected a boolean, got {stream!r}.", param="stream"
            )
        return stream

    async def held_run(self, thread_id: str, run_id: str) -> runlife.Run:
        run = await self.call(self.store.get, run_id)
        if run.thread_id != thread_id:
            raise _not_found(run_id)
        return run

    # --- threads --------------------------------------------------------------------------

    async def create_thread(self, request: Request) -> Response:
        body = await self.body(request, allow_empty=True)
        metadata = body.get("metadata") or {}
        if not isinstance(metadata, dict):
            raise APIError(400, "Invalid 'metadata': expected an object.", param="metadata")
        thread = {
            "id": f"thread_{secrets.token_urlsafe(18)}",
            "object": "thread",
            "created_at": int(time.time()),
            "metadata": metadata,
            "tool_resources": {},
        }
        return _json(thread)

    # --- runs -----------------------------------------------------------------------------

    async def create_run(self, request: Request) -> Response:
        thread_id = request.path_params["thread_id"]
        body = await self.body(request)
        stream = self.stream_flag(body)
        fields: dict[str, Any] = {}
        for name, value in body.items():
            if name in _CREATE_IGNORED or value is None:
                continue
            if name not in _CREATE_FIELDS:
                raise APIError(
                    400,
                    f"Unrecognized request argument supplied: {name}",
                    param=name,
                    code="unknown_parameter",
                )
            fields[name] = value
        assistant = fields.get("assistant_id")
        if assistant is None:
            raise APIError(
                400,
                "Missing required parameter: 'assistant_id'.",
                param="assistant_id",
                code="missing_required_parameter",
            )
        if not isinstance(assistant, str) or not assistant:
            raise APIError(
                400, "Invalid 'assistant_id': expected a non-empty string.", param="assistant_id"
            )
        fields.setdefault("model", self.default_model)
        run = await self.call(self._create, thread_id, fields)
        data = to_dict(run)
        if not stream:
            return _json(data)
        head = [("thread.run.created", data), ("thread.run.queued", data)]
        return self.sse(run.id, 0, head)

    def _create(self, thread_id: str, fields: dict[str, Any]) -> runlife.Run:
        try:
            run = self.store.create(thread_id=thread_id, **fields)
        except (TypeError, ValueError, AttributeError) as exc:
            if isinstance(exc, RunlifeError):
                raise
            # A value of a shape the engine's converter does not take: the client's mistake.
            raise InvalidRun([("$", f"{type(exc).__name__}: {exc}")]) from None
        self.signals.bump(run.id)
        self.signals.wake_workers()
        return run

    async def list_runs(self, request: Request) -> Response:
        thread_id = request.path_params["thread_id"]
        query = request.query_params
        raw_limit = query.get("limit", "20")
        try:
            limit = int(raw_limit)
        except ValueError:
            limit = 0
        if not 1 <= limit <= 100:
            raise APIError(
                400,
                f"Invalid 'limit': expected an integer from 1 to 100, got '{raw_limit}'.",
                param="limit",
            )
        order = query.get("order", "desc")
        if order not in {"asc", "desc"}:
            raise APIError(
                400, f"Invalid 'order': expected 'asc' or 'desc', got '{order}'.", param="order"
            )
        after = query.get("after") or None
        before = query.get("before") or None
        direction: Literal["asc", "desc"] = "asc" if order == "asc" else "desc"

        def page() -> Page:
            try:
                return self.store.list_runs(
                    thread_id, limit=limit, order=direction, after=after, before=before
                )
            except RunNotFound as exc:
                param = "after" if exc.run_id == after else "before"
                raise APIError(
                    400,
                    f"Invalid '{param}': no run '{exc.run_id}' in thread {thread_id}.",
                    param=param,
                ) from None

        found = await self.call(page)
        return _json(
            {
                "object": "list",
                "data": [to_dict(run) for run in found.data],
                "first_id": found.first_id,
                "last_id": found.last_id,
                "has_more": found.has_more,
            }
        )

    async def retrieve_run(self, request: Request) -> Response:
        thread_id = request.path_params["thread_id"]
        run_id = request.path_params["run_id"]
        snap = self.watch.snapshot(run_id)
        run = await self.held_run(thread_id, run_id)
        waiting = self.poll_wait > 0 and request.headers.get("x-stainless-poll-helper") == "true"
        if waiting:
            deadline = time.monotonic() + self.poll_wait
            while run.status.value not in _POLL_STOP:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                await self.watch.wait(snap, min(left, self.poll))
                snap = self.watch.snapshot(run_id)
                run = await self.held_run(thread_id, run_id)
        return _json(to_dict(run), headers={"openai-poll-after-ms": self.poll_after})

    async def update_run(self, request: Request) -> Response:
        thread_id = request.path_params["thread_id"]
        run_id = request.path_params["run_id"]
        body = await self.body(request, allow_empty=True)
        for name in body:
            if name != "metadata":
                raise APIError(
                    400,
                    f"Unrecognized request argument supplied: {name}",
                    param=name,
                    code="unknown_parameter",
                )
        run = await self.held_run(thread_id, run_id)
        if "metadata" not in body:
            return _json(to_dict(run))
        metadata = body["metadata"] if body["metadata"] is not None else {}
        if not isinstance(metadata, dict):
            raise APIError(400, "Invalid 'metadata': expected an object.", param="metadata")
        run = await self.call(self.store.update_metadata, run_id, metadata)
        return _json(to_dict(run))

    async def cancel_run(self, request: Request) -> Response:
        thread_id = request.path_params["thread_id"]
        run_id = request.path_params["run_id"]
        await self.body(request, allow_empty=True)
        run = await self.call(self._cancel, thread_id, run_id)
        background = None
        if run.history and run.history[-1].source in {"queued", "requires_action"}:
            # No worker holds it, so none would end it: finish the cancel right after the
            # answer (the client sees `cancelling`, as from the API). The sweep is the backstop.
            background = BackgroundTask(to_thread.run_sync, self._finish_cancel, run_id)
        response = _json(to_dict(run))
        response.background = background
        return response

    def _cancel(self, thread_id: str, run_id: str) -> runlife.Run:
        try:
            with self.store.move(run_id) as run:
                if run.thread_id != thread_id:
                    raise RunNotFound(run_id, thread_id=thread_id)
                run.cancel()
        except IllegalTransition as exc:
            raise APIError(400, f"Cannot cancel run with status '{exc.status}'.") from None
        self.signals.bump(run_id)
        return run

    def _finish_cancel(self, run_id: str) -> None:
        try:
            with self.store.move(run_id) as run:
                if run.status.value == "cancelling":
                    run.finish_cancel()
        except RunlifeError as exc:
            _log.info("finishing the cancel of %s: %s", run_id, exc)
            return
        self.signals.bump(run_id)

    async def submit_tool_outputs(self, request: Request) -> Response:
        thread_id = request.path_params["thread_id"]
        run_id = request.path_params["run_id"]
        body = await self.body(request)
        stream = self.stream_flag(body)
        for name in body:
            if name not in {"tool_outputs", "stream"}:
                raise APIError(
                    400,
                    f"Unrecognized request argument supplied: {name}",
                    param=name,
                    code="unknown_parameter",
                )
        outputs = body.get("tool_outputs")
        if outputs is None:
            raise APIError(
                400,
                "Missing required parameter: 'tool_outputs'.",
                param="tool_outputs",
                code="missing_required_parameter",
            )
        if not isinstance(outputs, list) or not all(isinstance(o, dict) for o in outputs):
            raise APIError(
                400, "Invalid 'tool_outputs': expected an array of objects.", param="tool_outputs"
            )
        run = await self.call(self._submit, thread_id, run_id, outputs)
        if not stream:
            return _json(to_dict(run))
        return self.sse(run_id, run.version - 1, [])

    def _submit(self, thread_id: str, run_id: str, outputs: list[dict[str, Any]]) -> runlife.Run:
        try:
            with self.store.move(run_id) as run:
                if run.thread_id != thread_id:
                    raise RunNotFound(run_id, thread_id=thread_id)
                run.submit_tool_outputs(outputs)
        except IllegalTransition as exc:
            raise APIError(
                400, f'Runs in status "{exc.status}" do not accept tool outputs.'
            ) from None
        except GuardRejected as exc:
            raise APIError(400, str(exc), param="tool_outputs") from None
        self.signals.bump(run_id)
        self.signals.wake_workers()
        return run

    async def list_steps(self, request: Request) -> Response:
        await self.held_run(request.path_params["thread_id"], request.path_params["run_id"])
        empty: dict[str, Any] = {
            "object": "list",
            "data": [],
            "first_id": None,
            "last_id": None,
            "has_more": False,
        }
        return _json(empty)

    # --- streams --------------------------------------------------------------------------

    def sse(self, run_id: str, after: int, head: list[tuple[str, dict[str, Any]]]) -> Response:
        return StreamingResponse(
            self._follow(run_id, after, head),
            media_type="text/event-stream",
            headers={"cache-control": "no-cache", "x-accel-buffering": "no"},
        )

    async def _follow(
        self, run_id: str, after: int, head: list[tuple[str, dict[str, Any]]]
    ) -> AsyncIterator[str]:
        """The run's events from version *after* on, until it stops; then ``[DONE]``."""
        for name, data in head:
            yield sse_encode(name, data)
        last = after
        try:
            while True:
                snap = self.watch.snapshot(run_id)
                rows = await to_thread.run_sync(self.store.events_since, run_id, last)
                for row in rows:
                    last = row.version
                    event = row.event
                    if event is None:
                        continue  # a metadata update: the API streams nothing
                    yield sse_encode(event, row.data)
                    if row.kind == "move" and row.dest in _STREAM_END:
                        yield sse_encode("done", "[DONE]")
                        return
                await self.watch.wait(snap, self.poll)
        except Exception as exc:  # noqa: BLE001 - reported in the stream, as the API does
            _log.exception("stream of run %s", run_id)
            yield sse_encode(
                "error", error_body(f"The stream of run {run_id} broke: {exc}", type="server_error")
            )


async def _api_error(_request: Request, exc: Exception) -> Response:
    if not isinstance(exc, APIError):  # pragma: no cover - registered for APIError only
        raise exc
    return _json(exc.body(), exc.status, exc.headers)


async def _http_error(request: Request, exc: Exception) -> Response:
    if not isinstance(exc, HTTPException):  # pragma: no cover - registered for it only
        raise exc
    if exc.status_code == 404:
        message = f"Unknown request URL: {request.method} {request.url.path}."
    elif exc.status_code == 405:
        message = f"Method {request.method} is not allowed on {request.url.path}."
    else:
        message = str(exc.detail)
    return _json(error_body(message), exc.status_code, exc.headers)


async def _server_error(_request: Request, exc: Exception) -> Response:
    _log.error("unexpected error", exc_info=exc)
    body = error_body(f"The server had an error: {type(exc).__name__}.", type="server_error")
    return _json(body, 500)


def create_app(
    store: Store | str,
    *,
    api_key: str | None = None,
    default_model: str = "runlife-demo",
    poll_after_ms: int = DEFAULT_POLL_AFTER_MS,
    poll_wait_ms: int = 250,
    poll_ms: int = 50,
    max_body_bytes: int = DEFAULT_MAX_BODY,
    ttl: int = 600,
    signals: Signals | None = None,
) -> ASGIApp:
    """The Assistants-compatible runs API over *store*, as an ASGI app (Starlette).

    Mount it anywhere; the SDK's ``base_url`` is the mount point plus ``/v1``. Runs are only
    moved past ``queued`` by workers (``runlife.serve.Worker``, or ``runlife serve
    --workers K``) on the same store.

    Args:
        store: a ``runlife.store.Store``, or a URL for ``open_store`` (the app then opens it
            with ``RunEngine(ttl=ttl)`` and closes it on shutdown).
        api_key: when given, every request must carry ``Authorization: Bearer <api_key>``
            (else 401).
        default_model: the ``model`` of runs created without one (the API takes it from the
            assistant, which this service does not have).
        poll_after_ms: the ``openai-poll-after-ms`` header of retrieve: how long the SDK's
            poll helpers sleep between retrieves.
        poll_wait_ms: how long a retrieve sent by a poll helper (``X-Stainless-Poll-Helper``)
            may wait for the run to reach a status where the helper stops (0: never wait).
        poll_ms: how often streams and waiting retrieves re-read the store when no change
            notice arrives (moves made by workers on other machines).
        max_body_bytes: the largest request body accepted (else 413).
        ttl: seconds from creation to ``expires_at`` (when *store* is a URL).
        signals: change notices and wake-ups shared with worker processes on this machine
            (``runlife serve`` passes them); local to the app when omitted.

    Raises:
        StoreURLError, StoreError: *store* is a URL that cannot be opened.
    """
    owned = isinstance(store, str)
    opened = (
        open_store(store, engine=RunEngine(ttl=ttl), pool_size=16)
        if isinstance(store, str)
        else store
    )
    service = _Service(
        opened,
        signals=signals if signals is not None else Signals.local(),
        default_model=default_model,
        poll_after_ms=poll_after_ms,
        poll_wait_ms=poll_wait_ms,
        poll_ms=poll_ms,
    )

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        yield
        if owned:
            opened.close()

    runs = "/v1/threads/{thread_id}/runs"
    routes = [
        Route("/v1/threads", service.create_thread, methods=["POST"]),
        Route(runs, service.create_run, methods=["POST"]),
        Route(runs, service.list_runs, methods=["GET"]),
        Route(runs + "/{run_id}", service.retrieve_run, methods=["GET"]),
        Route(runs + "/{run_id}", service.update_run, methods=["POST"]),
        Route(runs + "/{run_id}/cancel", service.cancel_run, methods=["POST"]),
        Route(
            runs + "/{run_id}/submit_tool_outputs", service.submit_tool_outputs, methods=["POST"]
        ),
        Route(runs + "/{run_id}/steps", service.list_steps, methods=["GET"]),
    ]
    app = Starlette(
        routes=routes,
        lifespan=lifespan,
        exception_handlers={
            APIError: _api_error,
            HTTPException: _http_error,
            Exception: _server_error,
        },
    )
    app.state.runlife_store = opened
    return _BodyLimit(app, limit=max_body_bytes, api_key=api_key)
