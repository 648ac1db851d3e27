"""Engine benchmark: runlife against bare transitions, transitions the usual way, and a dict table.

Run:  python benchmarks/engine.py [--quick]

Prints, in one process, µs to create a run, µs per transition on the path
start -> require_action -> submit_tool_outputs -> start -> complete, bytes per live run with
20,000 live, and the wire round trip against the official SDK's pydantic model. Medians of
several repeats; these machines are noisy, so read ratios, not absolute numbers.
"""

from __future__ import annotations

import argparse
import gc
import json
import statistics
import sys
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

from transitions import Machine

import runlife
from runlife import ManualClock, RunEngine
from runlife._table import machine_config

PATH = ("start", "require_action", "submit_tool_outputs", "start", "complete")
TOOL = {"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}
CALLS = [
    {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": "{}"}}
]
OUTPUTS = [{"tool_call_id": "call_1", "output": "sunny"}]
USAGE = {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15}
PAYLOAD = (
    Path(__file__).parents[1] / "tests" / "data" / "payloads" / "openai-dotnet-completed-1.json"
)


def median_us(fn: Callable[[], Any], *, number: int, repeat: int) -> float:
    """Median over *repeat* runs of the µs per call of *fn*, called *number* times each."""
    samples = []
    for _ in range(repeat):
        gc.collect()
        t0 = time.perf_counter()
        for _ in range(number):
            fn()
        samples.append((time.perf_counter() - t0) / number * 1e6)
    return statistics.median(samples)


def bytes_per(make: Callable[[], Any], n: int) -> float:
    gc.collect()
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    keep = [make() for _ in range(n)]
    used = tracemalloc.get_traced_memory()[0] - base
    tracemalloc.stop()
    del keep
    return used / n


class Plain:
    """A plain model for bare transitions."""

    __slots__ = ("state",)

    def __init__(self) -> None:
        self.state = "queued"


class Usual:
    """A model for transitions the usual way (Machine per object)."""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats")
    args = parser.parse_args()
    number, repeat = (500, 5) if args.quick else (2000, 9)
    live = 20_000

    config = machine_config()
    shared = Machine(model=None, **config)
    events = shared.events

    def bare_path() -> None:
        m = Plain()
        for name in PATH:
            events[name].trigger(m)

    def bare_create() -> Plain:
        return Plain()

    def usual_create() -> Usual:
        obj = Usual()
        Machine(model=obj, **config)
        return obj

    def usual_path_factory() -> Callable[[], None]:
        def go() -> None:
            obj = usual_create()
            for name in PATH:
                getattr(obj, name)()

        return go

    table = {(s.value, t.trigger): t.dest.value for t in runlife.TRANSITIONS for s in t.sources}

    def dict_path() -> None:
        state = "queued"
        for name in PATH:
            state = table[(state, name)]

    clock = ManualClock(1_700_000_000)
    engine = RunEngine(clock=clock, record_history=False)
    engine_hist = RunEngine(clock=clock)
    fields = {"assistant_id": "asst", "thread_id": "thread", "model": "gpt-4o", "tools": [TOOL]}

    def rl_create(e: RunEngine = engine) -> runlife.Run:
        return e.create(**fields)

    def rl_path_factory(e: RunEngine) -> Callable[[], None]:
        def go() -> None:
            run = e.create(**fields)
            run.start()
            run.require_action(CALLS)
            run.submit_tool_outputs(OUTPUTS)
            run.start()
            run.complete(USAGE)

        return go

    rows: list[tuple[str, str, float, str]] = []

    # --- creation ---
    c_bare = median_us(bare_create, number=number, repeat=repeat)
    c_usual = median_us(usual_create, number=number // 4, repeat=repeat)
    c_rl = median_us(rl_create, number=number, repeat=repeat)
    rows += [
        ("create", "bare transitions (plain model)", c_bare, ""),
        ("create", "transitions, Machine per object", c_usual, ""),
        (
            "create",
            "runlife RunEngine.create",
            c_rl,
            f"{c_usual / c_rl:.1f}x cheaper than Machine per object (target >= 30x)",
        ),
    ]

    # --- transitions: the path on objects made beforehand, per transition ---
    def per_transition(make: Callable[[], Any], walk: Callable[[Any], None], n: int) -> float:
        samples = []
        for _ in range(repeat):
            objs = [make() for _ in range(n)]
            gc.collect()
            t0 = time.perf_counter()
            for obj in objs:
                walk(obj)
            samples.append((time.perf_counter() - t0) / n / len(PATH) * 1e6)
        return statistics.median(samples)

    def bare_walk(m: Plain) -> None:
        for name in PATH:
            events[name].trigger(m)

    def usual_walk(obj: Any) -> None:
        for name in PATH:
            getattr(obj, name)()

    def dict_walk(_: object) -> None:
        dict_path()

    def rl_walk(run: runlife.Run) -> None:
        run.start()
        run.require_action(CALLS)
        run.submit_tool_outputs(OUTPUTS)
        run.start()
        run.complete(USAGE)

    p_bare = per_transition(Plain, bare_walk, number)
    p_usual = per_transition(usual_create, usual_walk, number // 4)
    p_dict = per_transition(object, dict_walk, number)
    p_rl = per_transition(rl_create, rl_walk, number)
    p_rl_hist = per_transition(lambda: rl_create(engine_hist), rl_walk, number)
    unsubscribe = engine.subscribe(lambda _e: None)
    p_rl_l = per_transition(rl_create, rl_walk, number)
    unsubscribe()
    rows += [
        ("transition", "dict table", p_dict, ""),
        ("transition", "bare transitions (shared Machine)", p_bare, "baseline"),
        ("transition", "transitions, Machine per object", p_usual, f"{p_usual / p_bare:.2f}x bare"),
        (
            "transition",
            "runlife, no listener, no history",
            p_rl,
            f"{p_rl / p_bare:.2f}x bare (target <= 1.5x)",
        ),
        (
            "transition",
            "runlife, no listener, history on",
            p_rl_hist,
            f"{p_rl_hist / p_bare:.2f}x bare",
        ),
        ("transition", "runlife, one listener", p_rl_l, f"{p_rl_l / p_bare:.2f}x bare"),
    ]

    # --- memory per live run ---
    m_bare = bytes_per(Plain, live)
    m_usual = bytes_per(usual_create, live // 10)
    m_rl = bytes_per(rl_create, live)
    rows += [
        ("bytes/run", "bare transitions (plain model)", m_bare, ""),
        ("bytes/run", "transitions, Machine per object", m_usual, ""),
        (
            "bytes/run",
            "runlife Run (queued, one tool)",
            m_rl,
            f"{m_usual / m_rl:.1f}x smaller than Machine per object (target >= 10x)",
        ),
    ]

    # --- wire round trip ---
    from openai.types.beta.threads import Run as SdkRun

    data = json.loads(PAYLOAD.read_text())
    data["instructions"] = ""  # the SDK's validating parser refuses null instructions

    def rl_wire() -> None:
        runlife.to_dict(runlife.from_dict(data))

    def sdk_wire() -> None:
        SdkRun.model_validate(data).model_dump(mode="json")

    w_sdk = median_us(sdk_wire, number=number, repeat=repeat)
    w_rl = median_us(rl_wire, number=number, repeat=repeat)
    from runlife._check import structure_problems

    w_check = median_us(lambda: structure_problems(data), number=number, repeat=repeat)
    run = runlife.from_dict(data)
    w_to = median_us(lambda: runlife.to_dict(run), number=number, repeat=repeat)
    rows += [
        (
            "wire",
            "openai SDK model_validate + model_dump",
            w_sdk,
            "baseline (pydantic-core, compiled)",
        ),
        (
            "wire",
            "runlife from_dict + to_dict",
            w_rl,
            f"{w_rl / w_sdk:.2f}x the SDK (target <= 2x)",
        ),
        ("wire", "  of which structure check", w_check, ""),
        ("wire", "  of which to_dict", w_to, ""),
    ]

    print(
        f"runlife engine benchmark (python {sys.version.split()[0]}, {number} calls x {repeat} repeats, medians)"
    )
    print(f"{'what':<11} {'variant':<40} {'value':>10}  ratio")
    for what, variant, value, ratio in rows:
        unit = "B" if what == "bytes/run" else "us"
        print(f"{what:<11} {variant:<40} {value:>8.2f}{unit:>2}  {ratio}")


if __name__ == "__main__":
    main()
