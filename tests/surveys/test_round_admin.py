"""The round admin: the state changes only through the Open and Close actions (services),
never through the form; scoring and exchange add their action and import page."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from apps.scoring.jobs import request_scoring
from apps.scoring.models import ScoringJob
from apps.surveys.models import SurveyRound
from tests.factories import ProductFactory, ResponseFactory, SurveyRoundFactory, answer_all

FULL = {"data-schema": 1, "data-features": 1, "monitoring-staleness": 1}

pytestmark = pytest.mark.django_db
CHANGELIST = reverse("admin:surveys_surveyround_changelist")


def act(admin_client, action: str, *rounds: SurveyRound, **form):
    return admin_client.post(
        CHANGELIST,
        {"action": action, "_selected_action": [r.pk for r in rounds], **form},
        follow=True,
    )


def test_the_change_form_shows_the_state_but_cannot_change_it(admin_client):
    survey_round = SurveyRoundFactory(state="open")
    url = reverse("admin:surveys_surveyround_change", args=[survey_round.pk])
    form = admin_client.get(url).content.decode()
    assert 'name="state"' not in form and "Open" in form
    data = {
        "key": survey_round.key,
        "title": "Renamed",
        "rubric_version": survey_round.rubric_version_id,
        "opens_at_0": survey_round.opens_at.strftime("%Y-%m-%d"),
        "opens_at_1": "00:00:00",
        "closes_at_0": survey_round.closes_at.strftime("%Y-%m-%d"),
        "closes_at_1": "00:00:00",
        "state": "closed",
        "events-TOTAL_FORMS": "0",
        "events-INITIAL_FORMS": "0",
    }
    assert admin_client.post(url, data).status_code == 302
    survey_round.refresh_from_db()
    assert (survey_round.title, survey_round.state) == ("Renamed", "open")
    assert not ScoringJob.objects.exists()


def test_open_action_opens_planned_rounds_only(admin_client):
    planned = SurveyRoundFactory(state="planned")
    closed = SurveyRoundFactory(state="closed")
    page = act(admin_client, "open_rounds", planned, closed).content.decode()
    planned.refresh_from_db(), closed.refresh_from_db()
    assert (planned.state, closed.state) == ("open", "closed")
    assert f"Opened {planned.key}." in page
    assert f"{closed.key}: Round {closed.key} is closed: reopen it instead." in page


def test_close_action_shows_the_impact_then_closes_and_queues_the_recompute(
    admin_client, django_capture_on_commit_callbacks
):
    survey_round = SurveyRoundFactory(state="open")
    product = ProductFactory()
    answer_all(ResponseFactory(round=survey_round, product=product), FULL)
    with django_capture_on_commit_callbacks(execute=True):  # scored on submit, as the page
        request_scoring(kind="response", response_id=product.responses.get().pk)
    page = act(admin_client, "close_rounds", survey_round).content.decode()
    assert "1 (1 scored)" in page and "1 → 1" in page  # the cohort, before and after
    survey_round.refresh_from_db()
    assert survey_round.state == "open"  # only shown, not closed
    with django_capture_on_commit_callbacks(execute=False):
        done = act(admin_client, "close_rounds", survey_round, apply="1", reason="on time")
    survey_round.refresh_from_db()
    assert survey_round.state == "closed" and f"{survey_round.key}: done." in done.content.decode()
    assert ScoringJob.objects.filter(kind="round", round=survey_round).count() == 1
    event = survey_round.events.get()
    assert (event.action, event.reason, event.user.username) == ("closed", "on time", "admin")


def test_closing_an_empty_round_needs_the_confirmation_box(admin_client):
    survey_round = SurveyRoundFactory(state="open")
    page = act(admin_client, "close_rounds", survey_round, apply="1").content.decode()
    assert "has no scored response" in page and "Tick to confirm" in page
    survey_round.refresh_from_db()
    assert survey_round.state == "open" and not ScoringJob.objects.exists()
    act(admin_client, "close_rounds", survey_round, apply="1", confirm="on")
    survey_round.refresh_from_db()
    assert survey_round.state == "closed"


def test_reopen_asks_for_a_reason_and_a_future_deadline(admin_client):
    survey_round = SurveyRoundFactory(state="closed")
    asked = act(admin_client, "reopen_rounds", survey_round, apply="1").content.decode()
    assert "This field is required" in asked
    later = (timezone.now() + timedelta(days=7)).strftime("%Y-%m-%d %H:%M")
    act(admin_client, "reopen_rounds", survey_round, apply="1", reason="late team", closes_at=later)
    survey_round.refresh_from_db()
    assert survey_round.state == "open"
    assert survey_round.events.get().reason == "late team"


def test_scoring_and_exchange_extend_the_round_admin(admin_client):
    survey_round = SurveyRoundFactory(state="closed")
    page = admin_client.get(CHANGELIST).content.decode()
    assert 'value="recompute_scores"' in page and 'value="open_rounds"' in page
    import_url = reverse("admin:surveys_surveyround_import", args=[survey_round.pk])
    assert import_url in page
    act(admin_client, "recompute_scores", survey_round)
    assert ScoringJob.objects.get().round_id == survey_round.pk
