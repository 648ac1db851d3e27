"""An Assistants-compatible runs service over a runlife store (``runlife serve``).

The official ``openai`` SDK drives it unchanged (``client.beta.threads.runs.*``, polling
and streaming): point ``base_url`` at ``http://HOST:PORT/v1``.

- ``create_app(store_or_url, ...)``: the ASGI app (Starlette), to mount in your own server;
- ``Worker``: claims queued runs and moves them with an executor; also runs the expiry and
  rescue sweeps;
- executors: ``Executor`` (``Turn -> Step`` or a list of steps), the steps ``CallTools``,
  ``Complete``, ``Fail``, ``Incomplete``, and for the messages it writes ``OpenMessageStep``
  and ``CompleteMessageStep`` (ids from ``new_message_id()``), the built-in ``demo``, and
  ``load_executor("pkg.mod:func")``;
- ``serve(ServeConfig(...))``: what ``runlife serve`` runs (workers in processes, uvicorn);
- ``runlife.serve.sse``: Server-Sent Events framing (standard library only).

Needs the serve extra (Starlette and uvicorn: ``pip install ".[serve]"`` from a checkout,
``pip install "runlife[serve]"`` once published), except ``runlife.serve.sse``:
the names above are imported on first use, so that importing the package (or its ``sse``
module) alone needs neither. See ``docs/serve.md``.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from runlife import missing_extra

if TYPE_CHECKING:
    from ._app import create_app
    from ._errors import APIError
    from ._executor import (
        CallTools,
        Complete,
        CompleteMessageStep,
        Executor,
        Fail,
        Incomplete,
        OpenMessageStep,
        Step,
        Turn,
        demo,
        load_executor,
        new_message_id,
    )
    from ._server import ServeConfig, serve
    from ._signals import Signals
    from ._worker import Worker

__all__ = [
    "APIError",
    "CallTools",
    "Complete",
    "CompleteMessageStep",
    "Executor",
    "Fail",
    "Incomplete",
    "OpenMessageStep",
    "ServeConfig",
    "Signals",
    "Step",
    "Turn",
    "Worker",
    "create_app",
    "demo",
    "load_executor",
    "new_message_id",
    "serve",
]

#: Where each public name lives.
_HOMES = {
    "APIError": "_errors",
    "CallTools": "_executor",
    "Complete": "_executor",
    "CompleteMessageStep": "_executor",
    "Executor": "_executor",
    "Fail": "_executor",
    "Incomplete": "_executor",
    "OpenMessageStep": "_executor",
    "ServeConfig": "_server",
    "Signals": "_signals",
    "Step": "_executor",
    "Turn": "_executor",
    "Worker": "_worker",
    "create_app": "_app",
    "demo": "_executor",
    "load_executor": "_executor",
    "new_message_id": "_executor",
    "serve": "_server",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    try:
        module = import_module(f".{home}", __name__)
    except ModuleNotFoundError as exc:
        # A missing module of an extra is named with the extra to install (runlife.EXTRAS).
        clear = missing_extra(exc, needed_by=f"runlife.serve.{name}")
        if clear is None:
            raise
        raise clear from exc
    value = getattr(module, name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
