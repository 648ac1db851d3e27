"""The request handlers: the Assistants API's threads and runs endpoints over one store.

Every handler is a thin shell around one or two store operations, run in a thread (the
store is synchronous and thread-safe: one pooled connection per call). Moves go through
the store (compare-and-set, the engine's table and guards), so two clients racing to move
one run, or to start a second run on a thread, get the API's 400, never a lost update.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any, TypeVar

from anyio import to_thread
from starlette.background import BackgroundTask

from runlife import (
    ACTIVE,
    HELD,
    WAITING,
    GuardRejected,
    IllegalTransition,
    InvalidRun,
    RunlifeError,
    RunNotFound,
    RunStatus,
    RunStep,
    step_to_dict,
    to_dict,
)
from runlife.store import StepNotFound

from ._errors import APIError, from_runlife, not_found, server_error
from ._input import (
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
from ._responses import json_response
from ._stream import Streams
from ._threads import Threads, deleted_thread, thread_object
from ._watch import Watch

if TYPE_CHECKING:
    from collections.abc import Callable

    from starlette.requests import Request
    from starlette.responses import Response

    import runlife
    from runlife.store import Page, StepPage, Store

    from ._input import Paging
    from ._signals import Signals

__all__ = ["Handlers"]

_log = logging.getLogger("runlife.serve")

_T = TypeVar("_T")

#: Where a cancel leaves a run that no worker holds (so none would finish the cancel).
_UNHELD = ACTIVE - HELD


class Handlers:
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
        self.watch = Watch(signals)
        self.default_model = default_model
        self.poll_after = str(poll_after_ms)
        self.poll_wait = poll_wait_ms / 1000
        self.poll = poll_ms / 1000
        self.streams = Streams(store, self.watch, poll=self.poll)
        self.threads = Threads()

    async def call(
        self, func: Callable[..., _T], *args: Any, client_input: bool = False, **kwargs: Any
    ) -> _T:
        """Run a store operation in a thread, mapping runlife's errors to the API's.

        An ``InvalidRun`` is the client's 400 only when the operation checks the client's
        values (*client_input*: create); anywhere else it is a stored row that does not
        load, the server's 500 (its details logged, never answered).
        """

        def run() -> _T:
            return func(*args, **kwargs)

        try:
            return await to_thread.run_sync(run)
        except InvalidRun as exc:
            if client_input:
                raise from_runlife(exc) or exc from None
            _log.error("a stored run does not load: %s", exc)
            body = server_error()["error"]
            raise APIError(500, body["message"], type=body["type"]) from None
        except RunlifeError as exc:
            error = from_runlife(exc)
            if error is None:
                raise
            raise error from None

    async def held_run(self, thread_id: str, run_id: str) -> runlife.Run:
        """The run *run_id* of *thread_id* (404 when it is not there)."""
        run = await self.call(self.store.get, run_id)
        if run.thread_id != thread_id:
            raise not_found(run_id)
        return run

    # --- threads --------------------------------------------------------------------------

    async def create_thread(self, request: Request) -> Response:
        fields = thread_fields(await json_body(request, allow_empty=True))
        return json_response(self.threads.add(self.threads.new_id(), fields))

    async def create_and_run(self, request: Request) -> Response:
        """A new thread and its first run (``POST /v1/threads/runs``).

        The thread is kept only once its run was created: a refused run leaves no thread.
        """
        body = await json_body(request)
        stream = stream_flag(body)
        thread_in, fields = create_and_run_fields(body, default_model=self.default_model)
        thread_id = self.threads.new_id()
        run = await self.call(self._create, thread_id, fields, client_input=True)
        thread = self.threads.add(thread_id, thread_in)
        data = to_dict(run)
        if not stream:
            return json_response(data)
        head = [
            ("thread.created", thread),
            ("thread.run.created", data),
            ("thread.run.queued", data),
        ]
        return self.streams.response(run.id, 0, head)

    async def thread(self, thread_id: str) -> dict[str, Any]:
        """The thread *thread_id*: explicit, or implicit from its first run (404 if neither)."""
        known = self.threads.get(thread_id)
        if known is not None:
            return known
        if not self.threads.deleted(thread_id):
            first = await self.call(self.store.list_runs, thread_id, limit=1, order="asc")
            if first.data:
                return thread_object(thread_id, first.data[0].created_at, {}, {})
        raise APIError(404, f"No thread found with id '{thread_id}'.")

    async def retrieve_thread(self, request: Request) -> Response:
        return json_response(await self.thread(thread_path(request)))

    async def update_thread(self, request: Request) -> Response:
        thread_id = thread_path(request)
        fields = thread_update(await json_body(request, allow_empty=True))
        updated = self.threads.update(await self.thread(thread_id), fields)
        if updated is None:
            raise APIError(404, f"No thread found with id '{thread_id}'.")
        return json_response(updated)

    async def delete_thread(self, request: Request) -> Response:
        thread_id = thread_path(request)
        await self.thread(thread_id)
        self.threads.delete(thread_id)
        return json_response(deleted_thread(thread_id))

    # --- runs -----------------------------------------------------------------------------

    async def create_run(self, request: Request) -> Response:
        thread_id = thread_path(request)
        body = await json_body(request)
        stream = stream_flag(body)
        fields = create_fields(body, default_model=self.default_model)
        if self.threads.deleted(thread_id):
            raise APIError(404, f"No thread found with id '{thread_id}'.")
        run = await self.call(self._create, thread_id, fields, client_input=True)
        data = to_dict(run)
        if not stream:
            return json_response(data)
        head = [("thread.run.created", data), ("thread.run.queued", data)]
        return self.streams.response(run.id, 0, head)

    def _create(self, thread_id: str, fields: dict[str, Any]) -> runlife.Run:
        run = self.store.create(thread_id=thread_id, **fields)
        self.signals.bump(run.id)
        self.signals.wake_workers()
        return run

    async def list_runs(self, request: Request) -> Response:
        thread_id = thread_path(request)
        paging = page_query(request.query_params)

        def page() -> Page:
            try:
                return self.store.list_runs(
                    thread_id,
                    limit=paging.limit,
                    order=paging.order,
                    after=paging.after,
                    before=paging.before,
                )
            except RunNotFound as exc:
                raise unknown_cursor(paging, exc.run_id, "run", f"thread {thread_id}") from None

        found = await self.call(page)
        return json_response(list_object(found, [to_dict(run) for run in found.data]))

    async def retrieve_run(self, request: Request) -> Response:
        """The run; a poll helper's retrieve may wait for it to reach ``runlife.WAITING``."""
        thread_id, run_id = run_path(request)
        snap = self.watch.snapshot(run_id)
        run = await self.held_run(thread_id, run_id)
        waiting = self.poll_wait > 0 and request.headers.get("x-stainless-poll-helper") == "true"
        if waiting:
            deadline = time.monotonic() + self.poll_wait
            while run.status not in WAITING:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                await self.watch.wait(snap, min(left, self.poll))
                snap = self.watch.snapshot(run_id)
                run = await self.held_run(thread_id, run_id)
        return json_response(to_dict(run), headers={"openai-poll-after-ms": self.poll_after})

    async def update_run(self, request: Request) -> Response:
        thread_id, run_id = run_path(request)
        metadata = metadata_update(await json_body(request, allow_empty=True))
        run = await self.held_run(thread_id, run_id)
        if metadata is None:
            return json_response(to_dict(run))
        run = await self.call(self.store.update_metadata, run_id, metadata)
        return json_response(to_dict(run))

    async def cancel_run(self, request: Request) -> Response:
        thread_id, run_id = run_path(request)
        await json_body(request, allow_empty=True)
        run = await self.call(self._cancel, thread_id, run_id)
        background = None
        if run.history and run.history[-1].source in _UNHELD:
            # No worker holds it, so none would end it: finish the cancel right after the
            # answer (the client sees `cancelling`, as from the API). The sweep is the backstop.
            background = BackgroundTask(to_thread.run_sync, self._finish_cancel, run_id)
        response = json_response(to_dict(run))
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
                if run.status is RunStatus.CANCELLING:
                    run.finish_cancel()
        except RunlifeError as exc:
            _log.info("finishing the cancel of %s: %s", run_id, exc)
            return
        self.signals.bump(run_id)

    async def submit_tool_outputs(self, request: Request) -> Response:
        thread_id, run_id = run_path(request)
        body = await json_body(request)
        stream = stream_flag(body)
        outputs = tool_outputs(body)
        run = await self.call(self._submit, thread_id, run_id, outputs)
        if not stream:
            return json_response(to_dict(run))
        return self.streams.response(run_id, run.version - 1)

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
            problems = "; ".join(
                f"{path}: {problem}" if path else problem for path, problem in exc.problems
            )
            raise APIError(
                400,
                f"Invalid 'tool_outputs' for run {run_id}: {problems}.",
                param="tool_outputs",
            ) from None
        self.signals.bump(run_id)
        self.signals.wake_workers()
        return run

    # --- run steps ------------------------------------------------------------------------

    async def list_steps(self, request: Request) -> Response:
        """The run's steps, a page as the API lists them (``include[]`` is ignored)."""
        thread_id, run_id = run_path(request)
        paging = page_query(request.query_params)
        await self.held_run(thread_id, run_id)

        def page() -> StepPage:
            try:
                return self.store.list_steps(
                    run_id,
                    limit=paging.limit,
                    order=paging.order,
                    after=paging.after,
                    before=paging.before,
                )
            except StepNotFound as exc:
                raise unknown_cursor(paging, exc.step_id, "step", f"run {run_id}") from None

        found = await self.call(page)
        return json_response(list_object(found, [step_to_dict(step) for step in found.data]))

    async def retrieve_step(self, request: Request) -> Response:
        """One step of the run (``include[]`` is ignored)."""
        thread_id, run_id, step_id = step_path(request)
        run = await self.held_run(thread_id, run_id)  # read with its steps, in one statement
        held: RunStep | None = next((s for s in run.steps if s.id == step_id), None)
        if held is None:  # not one of them: the store's answer is the 404 (StepNotFound)
            held = await self.call(self.store.get_step, run_id, step_id)
        return json_response(step_to_dict(held))


def unknown_cursor(paging: Paging, cursor: str, kind: str, where: str) -> APIError:
    """The 400 of *paging*'s cursor *cursor*, which names no *kind* in *where*."""
    param = "after" if cursor == paging.after else "before"
    return APIError(400, f"Invalid '{param}': no {kind} '{cursor}' in {where}.", param=param)


def list_object(page: Page | StepPage, data: list[dict[str, Any]]) -> dict[str, Any]:
    """The API's list object of *page*, whose items' wire objects are *data*."""
    return {
        "object": "list",
        "data": data,
        "first_id": page.first_id,
        "last_id": page.last_id,
        "has_more": page.has_more,
    }
