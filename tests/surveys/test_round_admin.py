"""The round admin: the state changes only through the Open and Close actions (services),
never through the form; scoring and exchange add their action and import page."""

import pytest
from django.urls import reverse

from apps.scoring.models import ScoringJob
from apps.surveys.models import SurveyRound
from tests.factories import SurveyRoundFactory

pytestmark = pytest.mark.django_db
CHANGELIST = reverse("admin:surveys_surveyround_changelist")


def act(admin_client, action: str, *rounds: SurveyRound):
    return admin_client.post(
        CHANGELIST,
        {"action": action, "_selected_action": [r.pk for r in rounds]},
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
    assert f"Opened {planned.key}." in page and f"Round {closed.key} is not planned." in page


def test_close_action_closes_and_queues_the_recompute_in_one_go(
    admin_client, django_capture_on_commit_callbacks
):
    survey_round = SurveyRoundFactory(state="open")
    with django_capture_on_commit_callbacks(execute=False):
        page = act(admin_client, "close_rounds", survey_round).content.decode()
    survey_round.refresh_from_db()
    assert survey_round.state == "closed" and f"Closed {survey_round.key}." in page
    job = ScoringJob.objects.get()
    assert (job.kind, job.round_id, job.state) == ("round", survey_round.pk, "queued")
    again = act(admin_client, "close_rounds", survey_round).content.decode()
    assert f"Round {survey_round.key} is not open." in again
    assert ScoringJob.objects.count() == 1


def test_scoring_and_exchange_extend_the_round_admin(admin_client):
    survey_round = SurveyRoundFactory(state="closed")
    page = admin_client.get(CHANGELIST).content.decode()
    assert 'value="recompute_scores"' in page and 'value="open_rounds"' in page
    import_url = reverse("admin:surveys_surveyround_import", args=[survey_round.pk])
    assert import_url in page
    act(admin_client, "recompute_scores", survey_round)
    assert ScoringJob.objects.get().round_id == survey_round.pk
