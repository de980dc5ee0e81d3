from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from apps.scoring.statistics import describe, percentile

D = Decimal


def test_percentiles_interpolate_like_percentile_cont():
    values = [D(1), D(2), D(3), D(4)]
    assert percentile(values, D("0.5")) == D("2.5")
    assert percentile(values, D("0.25")) == D("1.75")
    assert percentile(values, D("0.75")) == D("3.25")
    assert percentile([D(7)], D("0.25")) == D(7)


def test_describe():
    stats = describe([D(3), D(1), D(2)])
    assert stats == {
        "n": 3,
        "mean": D(2),
        "median": D(2),
        "p25": D("1.5"),
        "p75": D("2.5"),
        "minimum": D(1),
        "maximum": D(3),
    }
    assert describe([])["n"] == 0 and describe([])["median"] is None


def test_percentile_of_nothing_is_an_error():
    with pytest.raises(ValueError):
        percentile([], D("0.5"))


@given(st.lists(st.decimals(0, 7, places=1), min_size=1))
def test_quartiles_are_ordered_and_within_range(values):
    stats = describe(values)
    assert stats["minimum"] <= stats["p25"] <= stats["median"] <= stats["p75"] <= stats["maximum"]
