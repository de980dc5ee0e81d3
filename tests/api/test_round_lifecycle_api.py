"""Round transitions through the API: the same services and guards as the admin."""

from datetime import timedelta

import pytest
from django.utils import timezone

from apps.scoring.models import ScoringJob
from apps.surveys.models import SurveyRound
from tests.api.test_api import client_for, world  # noqa: F401 (the fixture)

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("role", ["member", "viewer", "staff"])
def test_only_administrators_change_a_rounds_state(world, role):  # noqa: F811
    reply = client_for(world, role).post("/api/v1/rounds/2022-04/close/", {"confirm": True})
    assert reply.status_code == 403
    assert SurveyRound.objects.get(key="2022-04").state == "open"


def test_closing_an_empty_round_is_refused_with_its_impact_until_confirmed(
    world,  # noqa: F811
    django_capture_on_commit_callbacks,
):
    client = client_for(world, "admin-group")
    refused = client.post("/api/v1/rounds/2022-04/close/", {}, format="json")
    assert refused.status_code == 409
    body = refused.json()
    assert (body["scored"], body["cohort_before"], body["cohort_after"]) == (0, 2, 2)
    assert "no scored response" in body["detail"]
    assert SurveyRound.objects.get(key="2022-04").state == "open"
    with django_capture_on_commit_callbacks(execute=False):
        done = client.post(
            "/api/v1/rounds/2022-04/close/", {"confirm": True, "reason": "api"}, format="json"
        )
    assert done.status_code == 200 and done.json()["state"] == "closed"
    assert ScoringJob.objects.filter(kind="round", round__key="2022-04").count() == 1


def test_reopen_and_deadline_through_the_api(world):  # noqa: F811
    client = client_for(world, "admin-group")
    bad = client.post("/api/v1/rounds/2021-10/reopen/", {}, format="json")
    assert bad.status_code == 400 and "reason" in bad.json()
    second = client.post(
        "/api/v1/rounds/2021-10/reopen/", {"reason": "late"}, format="json"
    )  # 2022-04 of the same rubric is open
    assert second.status_code == 400 and "close it first" in second.json()["detail"]
    later = timezone.now() + timedelta(days=10)
    moved = client.post(
        "/api/v1/rounds/2022-04/deadline/", {"closes_at": later.isoformat()}, format="json"
    )
    assert moved.status_code == 200
    assert SurveyRound.objects.get(key="2022-04").closes_at == later
    assert SurveyRound.objects.get(key="2022-04").events.get().action == "extended"
