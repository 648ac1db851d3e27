"""Engine benchmark: runlife against bare transitions, transitions the usual way, and a dict table.

Run:  python benchmarks/engine.py [--quick]

Prints, in one process, µs to create a run, µs per transition on the path
start -> require_action -> submit_tool_outputs -> start -> complete, bytes per live run with
20,000 live, and the wire round trip against the official SDK's pydantic model. Then steps
on (the default) against off (``RunEngine(steps=False)``): a move of that path, and a run's
whole path with a message step (create -> start -> require_action -> submit_tool_outputs ->
start -> open_message_step -> complete_message_step -> complete; steps off makes the same
run moves without the two step moves, which an engine without steps refuses).

These machines are noisy (the same loop varies by 2x from one minute to the next), so every
ratio is measured in pairs: each repeat times the baseline and then the subject back to
back, and the ratio printed is the median of the per-repeat ratios. The µs columns are the
medians of the repeats. Read ratios, not absolute numbers.
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


def sample_us(fn: Callable[[], Any], number: int) -> float:
    """µs per call of *fn*, called *number* times (after a full collection)."""
    gc.collect()
    t0 = time.perf_counter()
    for _ in range(number):
        fn()
    return (time.perf_counter() - t0) / number * 1e6


def median_us(fn: Callable[[], Any], *, number: int, repeat: int) -> float:
    """Median over *repeat* runs of the µs per call of *fn*, called *number* times each."""
    return statistics.median(sample_us(fn, number) for _ in range(repeat))


def paired(
    measure_base: Callable[[], float], measure: Callable[[], float], repeat: int
) -> tuple[float, float, float]:
    """(median base, median subject, median of subject/base), measured back to back."""
    pairs = [(measure_base(), measure()) for _ in range(repeat)]
    return (
        statistics.median(b for b, _ in pairs),
        statistics.median(x for _, x in pairs),
        statistics.median(x / b for b, x in pairs),
    )


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

    config = runlife.TABLE.machine_config()
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

    table = {(s.value, t.trigger): t.dest.value for t in runlife.TRANSITIONS for s in t.sources}

    def dict_path() -> None:
        state = "queued"
        for name in PATH:
            state = table[(state, name)]

    clock = ManualClock(1_700_000_000)
    engine = RunEngine(clock=clock, record_history=False)
    engine_hist = RunEngine(clock=clock)
    fields: dict[str, Any] = {
        "assistant_id": "asst",
        "thread_id": "thread",
        "model": "gpt-4o",
        "tools": [TOOL],
    }

    def rl_create(e: RunEngine = engine) -> runlife.Run:
        return e.create(**fields)

    rows: list[tuple[str, str, float, str]] = []

    # --- creation: each runlife figure paired with the baseline it is compared to ---
    c_bare = median_us(bare_create, number=number, repeat=repeat)
    c_usual, c_rl, c_ratio = paired(
        lambda: sample_us(usual_create, number // 10),
        lambda: sample_us(rl_create, number),
        repeat,
    )
    rows += [
        ("create", "bare transitions (plain model)", c_bare, ""),
        ("create", "transitions, Machine per object", c_usual, ""),
        (
            "create",
            "runlife RunEngine.create",
            c_rl,
            f"{1 / c_ratio:.1f}x cheaper than Machine per object (target >= 30x)",
        ),
    ]

    # --- transitions: the path on objects made beforehand, per transition ---
    def per_transition(make: Callable[[], Any], walk: Callable[[Any], None], n: int) -> float:
        objs = [make() for _ in range(n)]
        gc.collect()
        t0 = time.perf_counter()
        for obj in objs:
            walk(obj)
        return (time.perf_counter() - t0) / n / len(PATH) * 1e6

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

    def bare() -> float:
        return per_transition(Plain, bare_walk, number)

    def against_bare(make: Callable[[], Any], walk: Callable[[Any], None], n: int) -> float:
        """The median ratio to bare transitions; the µs go into *figures*."""
        b, x, ratio = paired(bare, lambda: per_transition(make, walk, n), repeat)
        figures.append(x)
        bases.append(b)
        return ratio

    figures: list[float] = []
    bases: list[float] = []
    r_usual = against_bare(usual_create, usual_walk, number // 10)
    r_dict = against_bare(object, dict_walk, number)
    r_rl = against_bare(rl_create, rl_walk, number)
    r_hist = against_bare(lambda: rl_create(engine_hist), rl_walk, number)
    unsubscribe = engine.subscribe(lambda _e: None)
    r_listener = against_bare(rl_create, rl_walk, number)
    unsubscribe()
    unsubscribe = engine.subscribe(lambda e: e.data)
    r_reader = against_bare(rl_create, rl_walk, number)
    unsubscribe()
    p_usual, p_dict, p_rl, p_rl_hist, p_rl_l, p_rl_r = figures
    rows += [
        ("transition", "dict table", p_dict, f"{r_dict:.2f}x bare"),
        ("transition", "bare transitions (shared Machine)", statistics.median(bases), "baseline"),
        ("transition", "transitions, Machine per object", p_usual, f"{r_usual:.2f}x bare"),
        (
            "transition",
            "runlife, no listener, no history",
            p_rl,
            f"{r_rl:.2f}x bare (target <= 1.5x)",
        ),
        ("transition", "runlife, no listener, history on", p_rl_hist, f"{r_hist:.2f}x bare"),
        (
            "transition",
            "runlife, one listener",
            p_rl_l,
            f"{r_listener:.2f}x bare (target <= 1.5x)",
        ),
        ("transition", "runlife, one listener reading .data", p_rl_r, f"{r_reader:.2f}x bare"),
    ]

    # --- steps on (the default) against off: a move, and a run's whole path ---
    engine_off = RunEngine(clock=clock, record_history=False, steps=False)
    n_steps = engine.steps, engine_off.steps
    assert n_steps == (True, False), n_steps

    def off_create() -> runlife.Run:
        return engine_off.create(**fields)

    s_off, s_on, s_ratio = paired(
        lambda: per_transition(off_create, rl_walk, number),
        lambda: per_transition(rl_create, rl_walk, number),
        repeat,
    )
    s_bare_off = against_bare(off_create, rl_walk, number)
    figures.pop()

    def whole_on() -> None:
        run = engine.create(**fields)
        run.start()
        run.require_action(CALLS)
        run.submit_tool_outputs(OUTPUTS)
        run.start()
        run.open_message_step("msg_1")
        run.complete_message_step(USAGE)
        run.complete(USAGE)

    def whole_off() -> None:
        run = engine_off.create(**fields)
        run.start()
        run.require_action(CALLS)
        run.submit_tool_outputs(OUTPUTS)
        run.start()
        run.complete(USAGE)

    f_off, f_on, f_ratio = paired(
        lambda: sample_us(whole_off, number), lambda: sample_us(whole_on, number), repeat
    )
    rows += [
        (
            "steps",
            "a move, steps off (steps=False)",
            s_off,
            f"{s_bare_off:.2f}x bare transitions",
        ),
        ("steps", "a move, steps on (the default)", s_on, f"{s_ratio:.2f}x steps off"),
        ("steps", "whole path, steps off (5 moves)", f_off, "baseline"),
        (
            "steps",
            "whole path + message step, steps on",
            f_on,
            f"{f_ratio:.2f}x steps off (5 moves + 2 step moves)",
        ),
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

    w_sdk, w_rl, w_ratio = paired(
        lambda: sample_us(sdk_wire, number), lambda: sample_us(rl_wire, number), repeat
    )
    # A breakdown of from_dict: internal. The load checks the shape (shape_problems) and the
    # values as it copies them, so the shape check is the part that is only a check.
    from runlife._structure import shape_problems

    w_check = median_us(lambda: shape_problems(data), number=number, repeat=repeat)
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
            f"{w_ratio:.2f}x the SDK (target <= 2x)",
        ),
        ("wire", "  of which shape check", w_check, ""),
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
