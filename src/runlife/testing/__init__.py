"""Testing with runlife: hypothesis strategies and a state machine for your own code.

Needs hypothesis, the testing extra (``pip install ".[testing]"`` from a checkout). ``import runlife`` never imports this
package (nor hypothesis).

- :mod:`runlife.testing.strategies`: :func:`runs` (with their steps), :func:`run_steps`
  (step wire dicts), :func:`tool_calls`, :func:`tool_outputs_for`, :func:`triggers`,
  :func:`usages`, :func:`create_kwargs`, and for the driver's step moves
  :func:`step_moves`, :func:`step_arguments` and :func:`step_usage_for`, also importable
  from here;
- :class:`RunLifecycleStateMachine`: a ``RuleBasedStateMachine`` that drives runs of a real
  engine through legal moves and step moves (and checks refused ones change nothing), to
  subclass with your own code and invariants.

Paths through the lifecycle (shortest, covering, simple) and their replay need no
hypothesis: they are in :mod:`runlife.paths`.

The names are imported on first use, so that hypothesis' entry point (which registers
:func:`runs` for ``st.from_type(Run)``) costs every hypothesis user almost nothing.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from runlife import missing_extra

try:
    import hypothesis  # noqa: F401 - imported for the clear error below
except ModuleNotFoundError as exc:  # hypothesis is in the dev extra: tested in a subprocess
    clear = missing_extra(exc, needed_by="runlife.testing")
    if clear is None:  # pragma: no cover - hypothesis's own broken import
        raise
    raise clear from exc

if TYPE_CHECKING:
    from . import strategies
    from .stateful import RunLifecycleStateMachine
    from .strategies import (
        create_kwargs,
        run_steps,
        runs,
        step_arguments,
        step_moves,
        step_usage_for,
        tool_calls,
        tool_outputs_for,
        triggers,
        usages,
    )

__all__ = [
    "RunLifecycleStateMachine",
    "create_kwargs",
    "run_steps",
    "runs",
    "step_arguments",
    "step_moves",
    "step_usage_for",
    "strategies",
    "tool_calls",
    "tool_outputs_for",
    "triggers",
    "usages",
]

#: Where each public name lives.
_HOMES = {
    "RunLifecycleStateMachine": "stateful",
    "create_kwargs": "strategies",
    "run_steps": "strategies",
    "runs": "strategies",
    "step_arguments": "strategies",
    "step_moves": "strategies",
    "step_usage_for": "strategies",
    "tool_calls": "strategies",
    "tool_outputs_for": "strategies",
    "triggers": "strategies",
    "usages": "strategies",
}


def __getattr__(name: str) -> Any:
    if name == "strategies":
        return import_module(".strategies", __name__)
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'runlife.testing' has no attribute {name!r}")
    value = getattr(import_module(f".{home}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})


def _hypothesis_setup_hook() -> None:
    """Register ``runs()`` for ``st.from_type(Run)``: hypothesis' ``hypothesis`` entry point.

    The strategy is deferred, so that this costs an import of ``runlife`` and nothing more.
    """
    from hypothesis import strategies as st  # noqa: PLC0415

    from runlife import Run  # noqa: PLC0415

    def any_run() -> st.SearchStrategy[Run]:
        return import_module(".strategies", __name__).runs()  # type: ignore[no-any-return]

    st.register_type_strategy(Run, st.deferred(any_run))
