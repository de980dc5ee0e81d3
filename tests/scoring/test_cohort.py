"""The cohort from any start round, the churn and the N/A shares, as the aggregate refresh
stores them (real answers, real scores)."""

from datetime import date, timedelta

import pytest
from django.db import connection
from django.db.models import Q
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from apps.scoring import aggregates, cohort, scores
from apps.scoring.models import CohortMember, RoundAggregate
from tests.factories import ProductFactory, make_version
from tests.scoring.test_services import FULL, make_round, submit

pytestmark = pytest.mark.django_db


@pytest.fixture
def version():
    return make_version()


def cohort_n(start_key: str) -> dict[str, int]:
    """round key → n of the cohort from `start_key`."""
    return dict(
        RoundAggregate.objects.filter(like_for_like=False)
        .filter(population="cohort", cohort_from__key=start_key)
        .order_by("round__opens_at")
        .values_list("round__key", "n")
    )


@pytest.fixture
def history(version):
    """Four closed rounds (the third without any response) and an open one:
    - steady answers every round;
    - skipper misses 2022-04, then answers every round;
    - late joins in 2023-04;
    - gone answers 2021-10 only."""
    keys = ("2021-10", "2022-04", "2022-10", "2023-04")
    rounds = [make_round(version, key, days=90 * i) for i, key in enumerate(keys)]
    open_round = make_round(version, "2023-10", state="open", days=360)
    steady, skipper, late, gone = (ProductFactory(name=n) for n in ("s", "k", "l", "g"))
    r1, r2, _empty, r4 = rounds
    for survey_round, products in (
        (r1, (steady, skipper, gone)),
        (r2, (steady,)),
        (r4, (steady, skipper, late)),
        (open_round, (steady,)),
    ):
        for product in products:
            submit(survey_round, product, FULL)
    scores.score_all()
    return {"rounds": rounds, "open": open_round, "steady": steady, "skipper": skipper}


def test_start_rounds_are_the_closed_rounds_with_scores(history):
    rubric_id = history["open"].rubric_version.rubric_id
    assert [r.key for r in cohort.start_rounds(rubric_id)] == ["2021-10", "2022-04", "2023-04"]
    assert cohort.start_round(rubric_id, "") == history["rounds"][0]  # the default
    for key in ("2022-10", "2023-10", "nope"):  # empty, open, unknown
        assert cohort.start_round(rubric_id, key) is None


def test_a_product_that_skipped_a_round_is_in_the_cohorts_starting_after_it(history):
    # From the first round: only steady answered 2021-10, 2022-04 and 2023-04 (the empty
    # 2022-10 does not count).
    assert cohort_n("2021-10") == {
        "2021-10": 1,
        "2022-04": 1,
        "2022-10": 0,
        "2023-04": 1,
        "2023-10": 1,
    }
    # From 2022-04 on: the skipper skipped 2022-04 itself, so still out.
    assert cohort_n("2022-04") == {"2022-04": 1, "2022-10": 0, "2023-04": 1, "2023-10": 1}
    # From 2023-04: everyone scored there, points only from the start round on.
    assert cohort_n("2023-04") == {"2023-04": 3, "2023-10": 1}
    runs = dict(CohortMember.objects.values_list("product__name", "since__key"))
    assert runs == {"s": "2021-10", "k": "2023-04", "l": "2023-04"}


def test_the_same_products_at_every_point_of_a_cohort(history):
    start = RoundAggregate.objects.filter(like_for_like=False).get(
        population="cohort", cohort_from__key="2023-04", n=3
    )
    assert start.round.key == "2023-04"
    # the open round: the one of the three that has answered so far
    assert cohort_n("2023-04")["2023-10"] == 1


def test_a_closed_round_without_scores_is_no_start_and_keeps_the_cohort(history):
    assert (
        not RoundAggregate.objects.filter(like_for_like=False)
        .filter(cohort_from__key="2022-10")
        .exists()
    )
    assert RoundAggregate.objects.filter(like_for_like=False).filter(population="all").count() == 5


def test_churn_counts_joined_stayed_retired_and_skipped(history, version):
    gone = ProductFactory(name="retired")
    submit(history["rounds"][0], gone, FULL)
    gone.retired_at = timezone.localdate(history["rounds"][1].opens_at) - timedelta(days=1)
    gone.active_from = date(2000, 1, 1)
    gone.save()
    scores.score_all()
    churn = dict(
        RoundAggregate.objects.filter(like_for_like=False)
        .filter(population="all")
        .values_list("round__key", "churn")
    )
    assert churn["2021-10"] == {}  # nothing before it
    # 2022-04 against 2021-10: steady stayed; skipper and gone skipped; "retired" retired.
    assert churn["2022-04"] == {
        "previous": "2021-10",
        "joined": 0,
        "stayed": 1,
        "retired": 1,
        "skipped": 2,
    }
    # The empty 2022-10 and 2023-04 compare with 2022-04 (the empty round does not count).
    assert churn["2022-10"]["previous"] == "2022-04" and churn["2022-10"]["skipped"] == 1
    assert churn["2023-04"] == {
        "previous": "2022-04",
        "joined": 2,
        "stayed": 1,
        "retired": 0,
        "skipped": 0,
    }
    assert churn["2023-10"]["previous"] == "2023-04" and churn["2023-10"]["stayed"] == 1
    assert (
        not RoundAggregate.objects.filter(like_for_like=False)
        .filter(population="cohort")
        .exclude(churn={})
        .exists()
    )


def test_not_applicable_shares_per_area_and_population(version):
    survey_round = make_round(version, "2021-10")
    submit(survey_round, ProductFactory(), {**FULL, "data-features": "na"})
    submit(survey_round, ProductFactory(), FULL)
    scores.score_all()
    stored = RoundAggregate.objects.filter(like_for_like=False).get(population="all")
    assert stored.area_not_applicable == {
        "data": {"answered": 3, "na": 1},
        "monitoring": {"answered": 2, "na": 0},
    }
    assert aggregates.not_applicable_share(stored.area_not_applicable["data"]) == 0.25
    assert aggregates.not_applicable_share(stored.area_not_applicable["monitoring"]) == 0
    assert aggregates.not_applicable_share(None) is None
    in_cohort = RoundAggregate.objects.filter(like_for_like=False).get(population="cohort")
    assert in_cohort.area_not_applicable == stored.area_not_applicable


def test_a_refresh_takes_as_many_queries_whatever_the_rounds_and_starts(version):
    def refresh_queries() -> int:
        with CaptureQueriesContext(connection) as queries:
            aggregates.refresh_aggregates(rubric_id=version.rubric_id)
        return len(queries)

    products = [ProductFactory() for _ in range(3)]
    for i, key in enumerate(("2021-10", "2022-04")):
        survey_round = make_round(version, key, days=90 * i)
        for product in products:
            submit(survey_round, product, FULL)
    scores.score_all()
    two = refresh_queries()
    for i, key in enumerate(("2022-10", "2023-04", "2023-10"), start=2):
        survey_round = make_round(version, key, days=90 * i)
        for product in products[: 5 - i]:
            submit(survey_round, product, FULL)
    scores.score_all()
    assert refresh_queries() == two
    assert len(cohort.start_rounds(version.rubric_id)) == 5
    assert (
        RoundAggregate.objects.filter(like_for_like=False).filter(~Q(population="all")).count()
        == 5 + 4 + 3 + 2 + 1
    )
