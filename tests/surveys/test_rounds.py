"""A round's lifecycle: guarded transitions, one open round per rubric, every change logged."""

from datetime import timedelta

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from apps.scoring.models import ScoringJob
from apps.surveys import rounds
from apps.surveys.models import RoundEvent, SurveyRound
from tests.factories import SurveyRoundFactory, UserFactory, make_version

pytestmark = pytest.mark.django_db


@pytest.fixture
def version():
    return make_version()


def test_a_second_open_round_of_a_rubric_is_refused_by_the_service(version):
    SurveyRoundFactory(key="2024-04", rubric_version=version, state="open")
    planned = SurveyRoundFactory(key="2024-10", rubric_version=version, state="planned")
    with pytest.raises(rounds.RoundError, match="Round 2024-04 of Tiny rubric is open"):
        rounds.open_round(survey_round=planned)
    planned.refresh_from_db()
    assert planned.state == "planned" and not RoundEvent.objects.exists()


def test_a_second_open_round_of_a_rubric_is_refused_by_the_database(version):
    SurveyRoundFactory(key="2024-04", rubric_version=version, state="open")
    planned = SurveyRoundFactory(key="2024-10", rubric_version=version, state="planned")
    with pytest.raises(IntegrityError), transaction.atomic():
        SurveyRound.objects.filter(pk=planned.pk).update(state="open")


def test_rounds_of_other_rubrics_may_be_open_together(version):
    other = make_version(rubric="other")
    SurveyRoundFactory(rubric_version=version, state="open")
    planned = SurveyRoundFactory(rubric_version=other, state="planned")
    assert rounds.open_round(survey_round=planned).state == "open"


def test_create_round_refuses_a_second_open_round(version):
    SurveyRoundFactory(key="2024-04", rubric_version=version, state="open")
    with pytest.raises(rounds.RoundError, match="one open round per rubric"):
        rounds.create_round(
            key="2024-10",
            rubric_slug="tiny",
            version_label="1",
            opens_at=timezone.now(),
            closes_at=timezone.now() + timedelta(days=9),
            state="open",
        )
    assert not SurveyRound.objects.filter(key="2024-10").exists()


def test_every_transition_is_logged_with_who_and_why_and_repeating_changes_nothing(
    version, django_capture_on_commit_callbacks
):
    kim = UserFactory(username="kim")
    survey_round = SurveyRoundFactory(rubric_version=version, state="planned")
    rounds.open_round(survey_round=survey_round, user=kim, reason="on schedule")
    rounds.open_round(survey_round=survey_round, user=kim)  # again: nothing more
    with django_capture_on_commit_callbacks(execute=False):
        rounds.close_round(survey_round=survey_round, user=kim)
        rounds.close_round(survey_round=survey_round, user=kim)
    later = timezone.now() + timedelta(days=5)
    with django_capture_on_commit_callbacks(execute=False):
        rounds.reopen_round(
            survey_round=survey_round, reason="two teams were late", closes_at=later
        )
        rounds.reopen_round(survey_round=survey_round, reason="again")
    rounds.extend_deadline(survey_round=survey_round, closes_at=later + timedelta(days=2))
    rounds.extend_deadline(survey_round=survey_round, closes_at=later + timedelta(days=2))
    events = list(survey_round.events.order_by("at", "pk"))
    assert [(e.action, e.from_state, e.to_state) for e in events] == [
        ("opened", "planned", "open"),
        ("closed", "open", "closed"),
        ("reopened", "closed", "open"),
        ("extended", "open", "open"),
    ]
    assert (events[0].user, events[0].reason) == (kim, "on schedule")
    assert events[2].reason == "two teams were late" and events[2].closes_at == later
    survey_round.refresh_from_db()
    assert survey_round.closes_at == later + timedelta(days=2)
    # Closing and reopening each queued one recompute of the round.
    assert ScoringJob.objects.filter(kind="round", round=survey_round).count() == 2


def test_reopen_needs_a_reason_and_a_future_deadline(version):
    survey_round = SurveyRoundFactory(
        rubric_version=version,
        state="closed",
        opens_at=timezone.now() - timedelta(days=60),
        closes_at=timezone.now() - timedelta(days=30),
    )
    with pytest.raises(rounds.RoundError, match="Say why"):
        rounds.reopen_round(survey_round=survey_round, reason=" ")
    with pytest.raises(rounds.RoundError, match="has passed: choose a later one"):
        rounds.reopen_round(survey_round=survey_round, reason="late answers")
    survey_round.refresh_from_db()
    assert survey_round.state == "closed" and not survey_round.events.exists()


def test_a_closed_round_keeps_its_deadline_until_reopened(version):
    survey_round = SurveyRoundFactory(rubric_version=version, state="closed")
    with pytest.raises(rounds.RoundError, match="reopen it with a new deadline"):
        rounds.extend_deadline(
            survey_round=survey_round, closes_at=timezone.now() + timedelta(days=3)
        )
