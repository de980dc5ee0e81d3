"""Small groups (k-anonymity): which trend points a user who may not read every product sees."""

import pytest

from apps.scoring.disclosure import hidden_points, hidden_stored_points


@pytest.mark.parametrize(
    ("n", "readable", "hidden"),
    [
        (0, 0, False),  # no scores: nothing to tell
        (1, 1, False),  # their own product alone
        (3, 3, False),  # their own products alone
        (1, 0, True),  # one product of another team
        (4, 0, True),
        (6, 2, True),  # their own products do not make up for too few others
        (5, 0, False),  # five others: a group
        (7, 2, False),
        (2, 3, False),  # counts read a moment apart: never negative
    ],
)
def test_a_point_is_hidden_when_one_to_four_of_its_products_are_not_readable(
    settings, n, readable, hidden
):
    settings.DASHBOARD_MIN_GROUP = 5
    point = ("2021-10", "all")
    assert hidden_points({point: n}, {point: readable}) == (
        frozenset({point}) if hidden else frozenset()
    )


def test_the_threshold_is_a_setting(settings):
    sizes = {("2021-10", "all"): 2, ("2021-10", "cohort"): 1}
    settings.DASHBOARD_MIN_GROUP = 2
    assert hidden_points(sizes, {}) == {("2021-10", "cohort")}
    settings.DASHBOARD_MIN_GROUP = 1  # groups of one: nothing hidden
    assert hidden_points(sizes, {}) == frozenset()


def test_whoever_reads_every_product_is_hidden_nothing():
    assert hidden_stored_points(1, None, [], None) == frozenset()  # no query either
