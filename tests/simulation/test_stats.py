"""Statistics of simulated runs: exact percentiles, merged in any order."""

from __future__ import annotations

from collections import Counter

import attrs
from hypothesis import given
from hypothesis import strategies as st

from runlife.simulation import DEFAULT_POLICY, Simulator, Stats, percentile


class TestPercentile:
    @given(st.lists(st.integers(0, 50), min_size=1), st.sampled_from([1, 50, 95, 99, 100]))
    def test_nearest_rank(self, values, p):
        """The percentile of the counts is the nearest-rank percentile of the values."""
        ordered = sorted(values)
        rank = max(1, -(-p * len(values) // 100))
        assert percentile(Counter(values), p) == ordered[rank - 1]

    def test_empty(self):
        """No values, no percentile."""
        assert percentile(Counter(), 50) is None


class TestStats:
    @given(st.lists(st.integers(0, 5), min_size=2, max_size=4))
    def test_merge_in_any_order(self, seeds):
        """Merging is exact and commutative: statistics add up whatever the order."""
        parts = [Simulator(DEFAULT_POLICY, s, "final").block(0, 5) for s in seeds]
        forward, backward = Stats(), Stats()
        for part in parts:
            forward.merge(part)
        for part in reversed(parts):
            backward.merge(part)
        assert attrs.asdict(forward, recurse=False) == attrs.asdict(backward, recurse=False)
        assert forward.runs == 5 * len(seeds)
