"""One simulated run after another, through the real engine and its real triggers.

Runs come in blocks of ``BLOCK`` (2,000), each driven by a random generator seeded from
``(seed, block number)`` alone: so a run does the same whatever the number of processes or
the order the blocks are simulated in (processes share out whole blocks). Runs share nothing
(no queue, no rate limit): the arrival rate sets when each run is created, and so the
virtual span of the simulation, not its outcome. A run is dropped once it ends.

With steps (the default), the simulated driver also makes the moves only a driver can: the
model writes a message in a ``message_creation`` step (``open_message_step``, then
``complete_message_step`` with the run's usage before the run completes), and the run's own
moves move its steps as the coupling table says. The driver's choices about messages come
from a generator of their own, seeded from the same ``(seed, block number)``, so a run's
fate is the same with steps on or off (``steps=False``).
"""

from __future__ import annotations

import bisect
import random
from collections.abc import Iterator
from typing import Any, Final

from runlife import Run, RunEngine, StepStatus, check, invariant_problems

from ._policy import Check, Policy, Range
from ._stats import Stats

__all__ = ["BLOCK", "START", "Simulator", "blocks"]

#: Virtual time (Unix seconds) at which the first run arrives.
START: Final = 1_700_000_000
#: Runs per unit of work: what a process simulates between two progress reports.
BLOCK: Final = 2_000


def blocks(runs: int) -> Iterator[tuple[int, int]]:
    """The blocks of *runs* runs: ``(start, stop)`` pairs of ``BLOCK`` runs, the last one short."""
    for start in range(0, runs, BLOCK):
        yield start, min(start + BLOCK, runs)


class _Clock:
    """A clock the simulator sets: each run lives on its own virtual timeline."""

    __slots__ = ("now",)

    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> int:
        return self.now


_TOOLS: Final = [{"type": "function", "function": {"name": "lookup"}}]
_FAIL_MESSAGES: Final = {
    "server_error": "The server had an error while processing your request.",
    "rate_limit_exceeded": "Rate limit reached.",
    "invalid_prompt": "Your prompt was flagged as potentially violating our usage policy.",
}
_NEVER: Final = 2**62
_OPEN: Final = StepStatus.IN_PROGRESS


class Simulator:
    """Simulates runs one at a time with one engine, keeping only ``Stats``.

    ``block(start, stop)`` simulates one block of runs (``seed_block``: seeding ``rng``, the
    runs' fates, and ``messages``, the driver's messages, from ``(seed, block number)``);
    ``run(index, stats)`` one run from the generators' current state; ``check_run(run,
    index, stats)`` applies the *check* to a run. *steps*: whether runs keep their steps
    (``RunEngine(steps=...)``) and the driver writes messages.
    """

    def __init__(self, policy: Policy, seed: int, check: Check, *, steps: bool = True) -> None:
        self.policy = policy
        self.seed = seed
        self.check = check
        self.steps = steps
        self.clock = _Clock()
        # Step ids from the run's index and a count: seeded, and nothing kept between runs.
        self.step_prefix = "step_0_"
        self.step_count = 0
        self.engine = RunEngine(
            clock=self.clock,
            ttl=policy.ttl,
            record_history=False,
            steps=steps,
            step_id_factory=self._step_id,
        )
        self.rng = random.Random()
        self.messages = random.Random()
        codes = [c for c, w in policy.fail_codes if w > 0]
        weights = [w for c, w in policy.fail_codes if w > 0]
        total = sum(weights)
        self.codes = codes
        self.code_cuts = [sum(weights[: i + 1]) / total for i in range(len(weights))]
        self.calls: dict[int, tuple[list[dict[str, Any]], list[dict[str, str]]]] = {}

    def _step_id(self) -> str:
        self.step_count += 1
        return f"{self.step_prefix}{self.step_count}"

    def seed_block(self, number: int) -> None:
        """Seed the generators for block *number*: the runs' fates, and the driver's messages."""
        self.rng.seed(self.seed * 2**64 + number)
        self.messages.seed(self.seed * 2**64 + number + 2**63)

    def _calls(self, n: int) -> tuple[list[dict[str, Any]], list[dict[str, str]]]:
        found = self.calls.get(n)
        if found is None:
            ids = [f"call_{i + 1}" for i in range(n)]
            calls = [
                {"id": i, "type": "function", "function": {"name": "lookup", "arguments": "{}"}}
                for i in ids
            ]
            found = self.calls[n] = (calls, [{"tool_call_id": i, "output": "ok"} for i in ids])
        return found

    def block(self, start: int, stop: int) -> Stats:
        """Simulate runs ``start`` to ``stop - 1`` (one block: *start* on the grid of BLOCK).

        The generator is seeded from ``(seed, block number)``: seeding costs 7 % of a whole
        run, so it is done once a block, not once a run.
        """
        if start % BLOCK or not start < stop <= start + BLOCK:
            raise ValueError(f"not a block: {start}..{stop} (blocks start on multiples of {BLOCK})")
        self.seed_block(start // BLOCK)
        stats = Stats()
        for index in range(start, stop):
            self.run(index, stats)
        return stats

    def run(self, index: int, stats: Stats) -> None:  # noqa: PLR0915 - one run's story
        """Simulate run *index* from arrival to its end, adding to *stats*."""
        p = self.policy
        rand = self.rng.random

        def uniform(bounds: Range) -> int:
            lo, hi = bounds
            return lo + int(rand() * (hi - lo + 1)) if hi > lo else lo

        clock = self.clock
        created = START + int(index / p.arrival_rate)
        clock.now = created
        limited = rand() < p.limited
        parallel = rand() < p.parallel
        run = self.engine.create(
            id=f"run_{index}",
            assistant_id="asst_sim",
            thread_id=f"thread_{index}",
            model="gpt-4o",
            tools=_TOOLS,
            parallel_tool_calls=parallel,
            max_completion_tokens=p.token_limit if limited else None,
        )
        moves = stats.moves
        check_moves = self.check == "moves"
        steps = self.steps
        early = self.messages.random
        if steps:
            self.step_prefix = f"step_{index}_"
            self.step_count = 0
        messages = 0

        def fire(trigger: str, at: int, *args: Any) -> None:
            clock.now = at
            moves[str(run.status), trigger] += 1
            getattr(run, trigger)(*args)
            if check_moves:
                self.check_run(run, index, stats)

        def step_move(op: str, arg: Any) -> None:
            """A driver's step move, now: not counted with the run's moves."""
            getattr(run, op)(arg)
            if check_moves:
                self.check_run(run, index, stats)

        def usage() -> dict[str, int]:
            prompt = uniform(p.prompt_tokens)
            completion = uniform(p.completion_tokens)
            if limited:
                completion = min(completion, p.token_limit)
            return {
                "prompt_tokens": prompt,
                "completion_tokens": completion,
                "total_tokens": prompt + completion,
            }

        def fail(at: int) -> None:
            code = self.codes[bisect.bisect_left(self.code_cuts, rand())]
            fire("fail", at, code, _FAIL_MESSAGES[code])

        def open_message() -> None:
            """The model starts a message now, unless it is writing one (steps only)."""
            nonlocal messages
            held = run.steps
            if held and held[-1].status is _OPEN:
                return
            messages += 1
            clock.now = t
            step_move("open_message_step", f"msg_{index}_{messages}")

        expires_at = created + p.ttl
        cancel_at = created + uniform(p.cancel_after) if rand() < p.cancel else _NEVER
        t = created
        rounds = 0
        started = False
        end: int | None = None

        def interrupted(nxt: int) -> bool:
            """Wait until *nxt*, unless the client cancels or the run expires first."""
            nonlocal t, end
            if cancel_at < nxt and cancel_at < expires_at:
                t = max(t, cancel_at)
                return True
            if nxt >= expires_at:
                fire("expire", expires_at)
                end = expires_at
                return True
            t = nxt
            return False

        while end is None:
            # queued -> in_progress, unless cancelled or expired first
            if interrupted(t + uniform(p.queue_wait)):
                break
            fire("start", t)
            started = True
            if steps and early() < p.early_message:
                open_message()
            # in_progress: one step of work
            if interrupted(t + uniform(p.step)):
                break
            if rand() < p.fail:
                fail(t)
                end = t
            elif rounds < p.max_tool_rounds and rand() < p.tool_round:
                rounds += 1
                calls, outputs = self._calls(uniform(p.tool_calls) if parallel else 1)
                fire("require_action", t, calls)
                stats.tool_calls += len(calls)
                # requires_action: the client answers, perhaps too late
                late = rand() < p.late
                if interrupted(expires_at + 1 if late else t + uniform(p.output_delay)):
                    break
                fire("submit_tool_outputs", t, outputs)
            elif limited and rand() < p.incomplete:
                spent = usage()
                spent["completion_tokens"] = p.token_limit
                spent["total_tokens"] = spent["prompt_tokens"] + p.token_limit
                if steps:  # the message the tokens ran out in: mark_incomplete completes it
                    open_message()
                fire("mark_incomplete", t, "max_completion_tokens", spent)
                end = t
            else:
                spent = usage()
                if steps:  # the run's answer: its message, with the run's usage
                    open_message()
                    step_move("complete_message_step", spent)
                fire("complete", t, spent)
                end = t
        if end is None:  # the client cancelled at t
            fire("cancel", t)
            nxt = t + uniform(p.cancel_delay)
            if nxt >= expires_at:
                fire("expire", expires_at)
                end = expires_at
            elif rand() < p.fail:
                fail(nxt)
                end = nxt
            elif started and rand() < p.cancel_ignored:
                fire("complete", nxt, usage())
                end = nxt
            else:
                fire("finish_cancel", nxt)
                end = nxt
        stats.runs += 1
        if steps:
            counts = stats.steps
            for step in run.steps:
                counts[step.type, step.status.value] += 1
        stats.durations[str(run.status)][end - created] += 1
        stats.last_end = max(stats.last_end, end)
        if self.check in {"final", "full"}:
            self.check_run(run, index, stats)

    def check_run(self, run: Run, index: int, stats: Stats) -> None:
        """Count *run*'s findings (``"full"``: ``runlife.check``; else the invariants) in *stats*."""
        findings = check(run) if self.check == "full" else invariant_problems(_invariant_view(run))
        if findings:
            stats.violations += len(findings)
            if stats.first_violation is None or index < stats.first_violation[0]:
                lines = [f"{f.path}: {f.message} [{f.kind} {f.code}]" for f in findings]
                stats.first_violation = (index, run.status.value, lines)


def _invariant_view(run: Run) -> dict[str, Any]:
    """What ``invariant_problems`` reads of a run's wire dict, straight from the record."""
    return {
        "status": run.status,
        "created_at": run.created_at,
        "started_at": run.started_at,
        "expires_at": run.expires_at,
        "cancelled_at": run.cancelled_at,
        "failed_at": run.failed_at,
        "completed_at": run.completed_at,
        "required_action": run.required_action,
        "last_error": run.last_error,
        "incomplete_details": run.incomplete_details,
        "usage": run.usage,
    }
