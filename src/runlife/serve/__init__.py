"""An Assistants-compatible runs service over a runlife store (``runlife serve``).

The official ``openai`` SDK drives it unchanged (``client.beta.threads.runs.*``, polling
and streaming): point ``base_url`` at ``http://HOST:PORT/v1``.

- ``create_app(store_or_url, ...)``: the ASGI app (Starlette), to mount in your own server;
- ``Worker``: claims queued runs and moves them with an executor; also runs the expiry and
  rescue sweeps;
- executors: ``Executor`` (``Turn -> Step``), the steps ``CallTools``, ``Complete``,
  ``Fail``, ``Incomplete``, the built-in ``demo``, and ``load_executor("pkg.mod:func")``;
- ``serve(ServeConfig(...))``: what ``runlife serve`` runs (workers in processes, uvicorn).

Needs ``pip install "runlife[serve]"`` (Starlette and uvicorn). See ``docs/serve.md``.
"""

from __future__ import annotations

from ._app import create_app
from ._errors import APIError
from ._executor import (
    CallTools,
    Complete,
    Executor,
    Fail,
    Incomplete,
    Step,
    Turn,
    demo,
    load_executor,
)
from ._server import ServeConfig, serve
from ._signals import Signals
from ._worker import Worker

__all__ = [
    "APIError",
    "CallTools",
    "Complete",
    "Executor",
    "Fail",
    "Incomplete",
    "ServeConfig",
    "Signals",
    "Step",
    "Turn",
    "Worker",
    "create_app",
    "demo",
    "load_executor",
    "serve",
]
