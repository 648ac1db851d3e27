"""The simulator behind ``runlife simulate``: seeded, shardable, bounded, and sound."""

from __future__ import annotations

import gc
import tracemalloc
from typing import Any

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from runlife import Finding, Run, Usage, invariant_problems, to_dict
from runlife._table import LIFECYCLE
from runlife.simulation import (
    BLOCK,
    DEFAULT_POLICY,
    ENDS,
    Policy,
    Report,
    Simulator,
    Stats,
    _simulator,
    blocks,
    format_text,
    simulate,
)
from runlife.testing import runs


def stats_of(report: Report) -> dict[str, Any]:
    return attrs.asdict(report.stats, recurse=False)


class TestDeterminism:
    def test_same_seed_same_result(self):
        """The same seed and options give the same statistics and text."""
        a, b = simulate(runs=300, seed=7), simulate(runs=300, seed=7)
        assert stats_of(a) == stats_of(b)
        assert format_text(a) == format_text(b)

    def test_different_seeds_differ(self):
        """Another seed gives other runs."""
        assert stats_of(simulate(runs=300, seed=1)) != stats_of(simulate(runs=300, seed=2))

    def test_blocks_do_not_depend_on_each_other(self, monkeypatch):
        """A block depends on (seed, block number) alone: blocks in any order merge to the same."""
        monkeypatch.setattr(_simulator, "BLOCK", 100)
        simulator = Simulator(DEFAULT_POLICY, 5, "final")
        whole = Stats()
        for start in (0, 100, 200, 300):
            whole.merge(simulator.block(start, start + 100))
        parts = Stats()
        for start in (300, 0, 200, 100):  # another simulator, another order
            parts.merge(Simulator(DEFAULT_POLICY, 5, "final").block(start, start + 100))
        assert attrs.asdict(parts, recurse=False) == attrs.asdict(whole, recurse=False)
        assert whole.runs == 400

    def test_a_run_does_not_depend_on_the_runs_after_it(self):
        """A block is one stream: its first runs are the same however many runs follow."""
        one_by_one = Simulator(DEFAULT_POLICY, 5, "final")
        one_by_one.seed_block(0)  # what block(0, ...) seeds with
        each = []
        for index in range(20):
            stats = Stats()
            one_by_one.run(index, stats)
            each.append(stats)

        def merged(parts: list[Stats]) -> dict[str, Any]:
            total = Stats()
            for part in parts:
                total.merge(part)
            return attrs.asdict(total, recurse=False)

        for n in (1, 10, 20):
            block = Simulator(DEFAULT_POLICY, 5, "final").block(0, n)
            assert attrs.asdict(block, recurse=False) == merged(each[:n])

    def test_block_refuses_what_is_not_a_block(self):
        """A block starts on the grid and holds at most BLOCK runs."""
        simulator = Simulator(DEFAULT_POLICY, 5, "final")
        with pytest.raises(ValueError, match="not a block"):
            simulator.block(1, 10)
        with pytest.raises(ValueError, match="not a block"):
            simulator.block(0, BLOCK + 1)

    def test_blocks(self):
        """Runs are handed out in blocks of BLOCK, the last one short."""
        assert list(blocks(2 * BLOCK + 5)) == [
            (0, BLOCK),
            (BLOCK, 2 * BLOCK),
            (2 * BLOCK, 2 * BLOCK + 5),
        ]


class TestSoundness:
    def test_every_move_checked(self):
        """With check="moves", runlife.check finds nothing after any move of any run."""
        report = simulate(runs=300, seed=3, check="moves")
        assert report.stats.violations == 0
        assert report.stats.first_violation is None

    @settings(max_examples=25, deadline=None)
    @given(
        policy=st.builds(
            Policy,
            ttl=st.integers(1, 120),
            parallel=st.floats(0, 1),
            limited=st.floats(0, 1),
            queue_wait=st.tuples(st.integers(0, 5), st.integers(0, 30)).map(sorted).map(tuple),
            step=st.tuples(st.integers(0, 5), st.integers(0, 60)).map(sorted).map(tuple),
            tool_round=st.floats(0, 1),
            max_tool_rounds=st.integers(0, 5),
            tool_calls=st.tuples(st.integers(1, 3), st.integers(3, 5)),
            late=st.floats(0, 1),
            cancel=st.floats(0, 1),
            cancel_after=st.tuples(st.integers(0, 5), st.integers(5, 90)),
            cancel_ignored=st.floats(0, 1),
            fail=st.floats(0, 1),
            incomplete=st.floats(0, 1),
        ),
        seed=st.integers(0, 2**32),
    )
    def test_any_policy_makes_only_legal_moves(self, policy, seed):
        """Whatever the policy, every move is legal (the engine would raise) and every run sound."""
        stats = Simulator(policy, seed, "moves").block(0, 20)
        assert stats.violations == 0
        assert stats.runs == sum(sum(c.values()) for c in stats.durations.values()) == 20

    def test_violations_are_counted_and_shown(self, monkeypatch):
        """A finding is counted, and the run with the lowest index is shown with it."""
        finding = Finding("invariant", "invariant-usage", "$.usage", "usage set while queued")
        monkeypatch.setattr(_simulator, "invariant_problems", lambda data: [finding])
        report = simulate(runs=3, seed=1)
        assert report.stats.violations == 3
        assert report.stats.first_violation == (
            0,
            "completed",
            ["$.usage: usage set while queued [invariant invariant-usage]"],
        )
        assert format_text(report).endswith(
            "invariant violations: 3 (the eight invariants on every run's final state)\n"
            "first violation: run_0 (completed):\n"
            "  $.usage: usage set while queued [invariant invariant-usage]\n"
        )

    def test_check_full_runs_runlife_check_on_the_run_with_its_steps(self, monkeypatch):
        """check="full" hands every final run, with its steps, to runlife.check, and says so."""
        seen: list[Run] = []

        def inspect(run: Run) -> list[Finding]:
            seen.append(run)
            return []

        monkeypatch.setattr(_simulator, "check", inspect)
        report = simulate(runs=4, seed=1, check="full")
        assert [r.id for r in seen] == ["run_0", "run_1", "run_2", "run_3"]
        assert all(r.status in ENDS for r in seen)
        assert all(r.steps for r in seen)  # checked with its steps
        assert (
            "invariant violations: 0 (runlife.check, structure, invariants and rules, "
            "on every run's final state)" in format_text(report)
        )

    def test_final_check_sees_a_broken_record(self):
        """The default check reads the record itself: a run whose stamps break an invariant counts."""
        simulator = Simulator(DEFAULT_POLICY, 1, "final")
        stats = Stats()
        engine = simulator.engine
        run = engine.create(assistant_id="a", thread_id="t", model="m")
        usage = Usage(prompt_tokens=1, completion_tokens=1, total_tokens=2)
        object.__setattr__(run, "usage", usage)  # written around the engine: usage while queued
        simulator.check_run(run, 7, stats)
        assert stats.violations == 1
        assert stats.first_violation is not None
        assert stats.first_violation[:2] == (7, "queued")
        assert "[invariant invariant-usage]" in stats.first_violation[2][0]

    @given(a=runs(), b=runs(), swapped=st.sets(st.sampled_from(LIFECYCLE)))
    @settings(deadline=None)
    def test_the_record_view_finds_what_check_finds(self, a, b, swapped):
        """The default check reads the record, and finds what the wire dict's check finds.

        *a* with some lifecycle fields taken from *b* (written around the engine) breaks
        invariants in every way a mix of two sound runs can.
        """
        for name in swapped:
            object.__setattr__(a, name, getattr(b, name))
        expected = invariant_problems(to_dict(a))
        assert invariant_problems(_simulator._invariant_view(a)) == expected

    def test_check_none(self):
        """check="none" skips runlife.check, and says so."""
        report = simulate(runs=10, seed=1, check="none")
        assert "invariant violations: 0 (not checked: --check none)" in format_text(report)


class TestSteps:
    def test_steps_change_no_run_fate(self):
        """With steps off, the same runs end the same way: only the step counts differ."""
        on, off = simulate(runs=600, seed=4), simulate(runs=600, seed=4, steps=False)
        assert on.steps
        assert not off.steps
        assert off.stats.steps == {}
        assert attrs.evolve(on.stats, steps=off.stats.steps) == off.stats

    def test_step_counts_follow_the_runs(self):
        """A tool_calls step a round; a completed message a run that completed or ran out."""
        stats = simulate(runs=1_000, seed=2).stats
        tool_steps = sum(n for (kind, _), n in stats.steps.items() if kind == "tool_calls")
        rounds = sum(n for (_, trigger), n in stats.moves.items() if trigger == "require_action")
        assert tool_steps == rounds > 0
        answered = sum(n for (_, t), n in stats.moves.items() if t == "submit_tool_outputs")
        assert stats.steps["tool_calls", "completed"] == answered
        ended_well = sum(stats.durations[s].total() for s in ("completed", "incomplete"))
        assert stats.steps["message_creation", "completed"] >= ended_well
        assert not any(status == "in_progress" for _, status in stats.steps)
        assert {status for _, status in stats.steps} <= {
            "completed",
            "failed",
            "cancelled",
            "expired",
        }

    def test_no_early_messages(self):
        """early_message 0: the only messages are the answers of runs that completed or ran out."""
        policy = attrs.evolve(DEFAULT_POLICY, early_message=0.0)
        stats = simulate(runs=500, seed=3, policy=policy).stats
        messages = sum(n for (kind, _), n in stats.steps.items() if kind == "message_creation")
        ended_well = sum(stats.durations[s].total() for s in ("completed", "incomplete"))
        assert messages == stats.steps["message_creation", "completed"] == ended_well

    @settings(max_examples=20, deadline=None)
    @given(
        policy=st.builds(
            Policy,
            ttl=st.integers(1, 120),
            step=st.tuples(st.integers(0, 5), st.integers(0, 60)).map(sorted).map(tuple),
            tool_round=st.floats(0, 1),
            early_message=st.floats(0, 1),
            cancel=st.floats(0, 1),
            cancel_after=st.tuples(st.integers(0, 5), st.integers(5, 90)),
            cancel_ignored=st.floats(0, 1),
            fail=st.floats(0, 1),
            incomplete=st.floats(0, 1),
        ),
        seed=st.integers(0, 2**32),
    )
    def test_any_policy_leaves_sound_steps(self, policy, seed):
        """Whatever the policy, runlife.check finds nothing in any run with its steps."""
        stats = Simulator(policy, seed, "full").block(0, 20)
        assert stats.violations == 0, stats.first_violation
        assert sum(stats.steps.values()) > 0 or not stats.moves

    def test_step_ids_are_seeded(self):
        """A run's step ids come from its index: the same for every process and every repeat."""
        made: list[str] = []
        simulator = Simulator(DEFAULT_POLICY, 1, "final")
        simulator.engine.subscribe(
            lambda event: made.extend(s.data["id"] for s in event.step_events)
        )
        simulator.block(0, 5)
        again: list[str] = []
        other = Simulator(DEFAULT_POLICY, 1, "final")
        other.engine.subscribe(lambda event: again.extend(s.data["id"] for s in event.step_events))
        other.block(0, 5)
        assert made == again
        assert made[0] == "step_0_1"
        assert {i.rpartition("_")[0] for i in made} <= {f"step_{n}" for n in range(5)}


class TestMemory:
    def test_retained_state_does_not_grow_with_runs(self, monkeypatch):
        """Memory is flat: after each block of runs, the simulation holds the same bytes.

        Runs are dropped once they end, and the statistics are bounded. (Measured after a
        full collection, which also empties CPython's free lists of small objects: they are
        bounded too, but fill up at their own pace.)
        """
        # Fixed durations, so the histograms are full after a few runs; small blocks.
        policy = attrs.evolve(
            DEFAULT_POLICY,
            queue_wait=(1, 1),
            step=(5, 5),
            output_delay=(3, 3),
            cancel_after=(10, 10),
            cancel_delay=(2, 2),
        )
        monkeypatch.setattr(_simulator, "BLOCK", 150)
        simulate(runs=300, seed=2, policy=policy)  # warm every cache

        def retained(runs: int) -> list[int]:
            samples: list[int] = []

            def sample(done: int) -> None:
                gc.collect()
                samples.append(tracemalloc.get_traced_memory()[0])

            gc.collect()
            tracemalloc.start()
            try:
                report = simulate(runs=runs, seed=1, policy=policy, progress=sample)
            finally:
                tracemalloc.stop()
            assert report.stats.runs == runs
            return samples

        small, big = retained(300), retained(1_500)
        assert len(big) == 10
        assert max(big) - min(big) < 2_048, big
        assert abs(big[-1] - small[-1]) < 2_048, (small, big)

    def test_stats_are_bounded(self):
        """Durations are counted per virtual second: at most ttl + a few seconds of keys."""
        stats = simulate(runs=500, seed=4).stats
        keys = sum(len(c) for c in stats.durations.values())
        assert 0 < keys <= 5 * (DEFAULT_POLICY.ttl + 1)
        assert len(stats.moves) <= 18
