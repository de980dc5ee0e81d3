"""Closing a round shows its impact first; an empty round never wipes the cohort."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from apps.scoring import scores
from apps.scoring.closing import ConfirmationNeeded, close_impact, close_with_impact
from apps.scoring.models import RoundAggregate, ScoringJob
from apps.surveys.models import SurveyRound
from tests.factories import ProductFactory, make_version
from tests.scoring.test_services import FULL, make_round, submit

pytestmark = pytest.mark.django_db


@pytest.fixture
def history():
    """Two closed rounds answered by the same three products, and an open round."""
    version = make_version()
    products = [ProductFactory() for _ in range(3)]
    closed = [
        make_round(version, key, state="closed", days=d)
        for key, d in (("2021-10", 0), ("2022-04", 180))
    ]
    for survey_round in closed:
        for product in products:
            submit(survey_round, product, FULL)
    open_round = make_round(version, "2022-10", state="open", days=360)
    scores.score_all()
    return products, closed, open_round


def cohort_n(survey_round) -> int:
    """n of the round's point of the cohort from the first round (the default start)."""
    return (
        RoundAggregate.objects.filter(like_for_like=False)
        .get(round=survey_round, population="cohort", cohort_from__key="2021-10")
        .n
    )


def test_closing_an_empty_round_needs_confirmation_and_keeps_the_cohort(
    history, django_capture_on_commit_callbacks
):
    _products, closed, open_round = history
    impact = close_impact(open_round)
    assert (impact.scored, impact.cohort_before, impact.cohort_after) == (0, 3, 3)
    assert impact.needs_confirmation and "no scored response" in impact.warnings[0]
    with pytest.raises(ConfirmationNeeded):
        close_with_impact(survey_round=open_round)
    open_round.refresh_from_db()
    assert open_round.state == "open" and not ScoringJob.objects.exists()
    with django_capture_on_commit_callbacks(execute=True):
        close_with_impact(survey_round=open_round, confirmed=True)
    open_round.refresh_from_db()
    assert open_round.state == "closed"
    # The empty closed round carries no information: the cohort is still the three.
    assert [cohort_n(r) for r in closed] == [3, 3]


def test_a_close_that_shrinks_the_cohort_a_lot_needs_confirmation(history):
    products, _closed, open_round = history
    submit(open_round, products[0], FULL)
    scores.score_round(round_id=open_round.pk)
    impact = close_impact(open_round)
    assert (impact.scored, impact.cohort_before, impact.cohort_after) == (1, 3, 1)
    assert impact.needs_confirmation and "from 3 to 1 products" in impact.warnings[-1]


def test_a_close_that_keeps_the_cohort_needs_no_confirmation(
    history, django_capture_on_commit_callbacks
):
    products, closed, open_round = history
    for product in products:
        submit(open_round, product, FULL)
    scores.score_round(round_id=open_round.pk)
    impact = close_impact(open_round)
    assert (impact.progress.submitted, impact.cohort_after, impact.warnings) == (3, 3, [])
    with django_capture_on_commit_callbacks(execute=True):
        close_with_impact(survey_round=open_round)
    assert [cohort_n(r) for r in [*closed, open_round]] == [3, 3, 3]


def test_close_round_command_prints_the_impact_and_needs_yes(
    history, django_capture_on_commit_callbacks
):
    _products, _closed, open_round = history
    out = StringIO()
    with pytest.raises(CommandError, match="Nothing changed: run again with --yes"):
        call_command("close_round", "2022-10", stdout=out)
    assert "0 submitted (0 scored)" in out.getvalue()
    assert "Continuous cohort: 3 → 3 products." in out.getvalue()
    assert "Warning: Round 2022-10 has no scored response" in out.getvalue()
    assert SurveyRound.objects.get(key="2022-10").state == "open"
    with django_capture_on_commit_callbacks(execute=False):
        call_command("close_round", "2022-10", "--yes", "--reason", "deadline", stdout=out)
    open_round.refresh_from_db()
    assert open_round.state == "closed" and "Closed 2022-10" in out.getvalue()
    assert ScoringJob.objects.get().round_id == open_round.pk
    assert open_round.events.get().reason == "deadline"


def test_unfinished_scoring_jobs_are_a_warning_before_closing(history):
    products, _closed, open_round = history
    response = submit(open_round, products[0], FULL)
    ScoringJob.objects.create(kind="response", response=response)  # queued, not yet run
    impact = close_impact(open_round)
    assert any("1 scoring jobs of this round have not finished" in w for w in impact.warnings)
