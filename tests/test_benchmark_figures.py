"""The figures ``benchmarks/bus.py`` prints are computed right (no timing involved)."""

from __future__ import annotations

import pytest

from benchmarks.bus import Poll, busy_share, gaps, percentile


def test_percentile_interpolates_between_ranks() -> None:
    assert percentile([3.0], 0.99) == 3.0
    assert percentile([4.0, 1.0, 3.0, 2.0], 0.0) == 1.0
    assert percentile([4.0, 1.0, 3.0, 2.0], 1.0) == 4.0
    assert percentile([1.0, 2.0, 3.0, 4.0], 0.5) == 2.5
    assert percentile([float(n) for n in range(101)], 0.99) == pytest.approx(99.0)
    with pytest.raises(ValueError, match="no values"):
        percentile([], 0.5)


def test_busy_share_clips_to_the_window_and_counts_overlaps_once() -> None:
    assert busy_share([], 0.0, 10.0) == 0.0
    assert busy_share([(1.0, 3.0), (5.0, 6.0)], 0.0, 10.0) == pytest.approx(0.3)
    # Overlapping and nested intervals, one starting before and one ending after.
    turns = [(-2.0, 1.0), (2.0, 5.0), (3.0, 4.0), (4.5, 6.0), (9.0, 12.0)]
    assert busy_share(turns, 0.0, 10.0) == pytest.approx((1 + 4 + 1) / 10)
    with pytest.raises(ValueError, match="empty window"):
        busy_share([(0.0, 1.0)], 5.0, 5.0)


def test_gaps_and_poll_lag() -> None:
    assert gaps([30.0, 0.0, 61.0]) == [30.0, 31.0]
    assert gaps([5.0]) == []
    assert Poll(1, due=10.0, woke=10.0, turn_start=12.5, end=13.0).lag == 2.5
    assert Poll(1, due=10.0, woke=10.0, end=11.0).lag == 1.0  # never got the line
