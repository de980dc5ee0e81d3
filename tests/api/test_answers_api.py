"""The API's side of carried-over answers and N/A reasons: read-only state, confirm by saving
or by area, submit refused with the list, an N/A without a reason refused (400) unchanged."""

import pytest

from apps.surveys.models import Answer
from apps.surveys.services import prefill_from_previous, start_response
from tests.api.test_api import client_for, world  # noqa: F401  (the fixture)

pytestmark = pytest.mark.django_db


@pytest.fixture
def prefilled(world):  # noqa: F811
    response = start_response(survey_round=world["open"], product=world["mine"])
    prefill_from_previous(response=response, user=world["users"]["member"])
    return response


def test_answers_show_their_carried_over_round_and_reason(world, prefilled):  # noqa: F811
    client = client_for(world, "member")
    answers = {
        a["question"]: a for a in client.get(f"/api/v1/responses/{prefilled.pk}/answers/").json()
    }
    assert {a["carried_over_from"] for a in answers.values()} == {"2021-10"}
    assert answers["data-features"]["not_applicable_reason"] == "Does not apply to this product."


def test_submit_is_refused_with_the_unconfirmed_list(world, prefilled):  # noqa: F811
    client = client_for(world, "member")
    reply = client.post(f"/api/v1/responses/{prefilled.pk}/submit/")
    assert reply.status_code == 400
    body = reply.json()
    assert body["unconfirmed"] == ["data-schema", "data-features", "monitoring-staleness"]
    assert "3 carried-over answers are not confirmed yet" in body["detail"]
    prefilled.refresh_from_db()
    assert prefilled.status == "draft"


def test_confirm_an_area_then_a_save_confirms_the_last_one(world, prefilled):  # noqa: F811
    client = client_for(world, "member")
    reply = client.post(f"/api/v1/responses/{prefilled.pk}/confirm/", {"area": "data"})
    assert reply.status_code == 200 and reply.json() == {"area": "data", "confirmed": 2}
    staleness = prefilled.answers.get(question__key="monitoring-staleness")
    saved = client.post(
        f"/api/v1/responses/{prefilled.pk}/answers/",
        {"question": "monitoring-staleness", "value": "0.5", "revision": staleness.revision},
    )
    assert saved.status_code == 200 and saved.json()["carried_over_from"] is None
    assert client.post(f"/api/v1/responses/{prefilled.pk}/submit/").status_code == 200


def test_confirm_is_for_the_team_and_known_areas_only(world, prefilled):  # noqa: F811
    url = f"/api/v1/responses/{prefilled.pk}/confirm/"
    assert client_for(world, "viewer").post(url, {"area": "data"}).status_code == 403
    assert client_for(world, "outsider").post(url, {"area": "data"}).status_code == 404
    member = client_for(world, "member")
    bad = member.post(url, {"area": "nope"})
    assert bad.status_code == 400 and bad.json()["field"] == "area"
    assert member.post(url, {}).status_code == 400
    assert Answer.objects.filter(response=prefilled, carried_over_from__isnull=False).count() == 3


def test_not_applicable_without_a_reason_is_a_400_and_saves_nothing(world):  # noqa: F811
    response = start_response(survey_round=world["open"], product=world["mine"])
    client = client_for(world, "member")
    url = f"/api/v1/responses/{response.pk}/answers/"
    reply = client.post(url, {"question": "data-features", "not_applicable": True})
    assert reply.status_code == 400
    assert reply.json()["field"] == "not_applicable_reason"
    assert not Answer.objects.filter(response=response).exists()
    ok = client.post(
        url,
        {"question": "data-features", "not_applicable": True, "not_applicable_reason": "Batch."},
    )
    assert ok.status_code == 200 and ok.json()["not_applicable_reason"] == "Batch."


def test_the_schema_documents_confirm_and_the_read_only_state(world):  # noqa: F811
    schema = client_for(world, "viewer").get("/api/schema/", {"format": "json"}).json()
    assert "/api/v1/responses/{id}/confirm/" in schema["paths"]
    answer = schema["components"]["schemas"]["Answer"]["properties"]
    assert answer["carried_over_from"]["readOnly"] is True
    assert "confirm" in answer["carried_over_from"]["description"]


def test_an_unknown_key_with_a_dot_is_a_json_404(world):  # noqa: F811
    client = client_for(world, "viewer")
    for url in ("/api/v1/products/surveys.Response/", "/api/v1/rounds/2021.10/"):
        reply = client.get(url)
        assert reply.status_code == 404 and reply["Content-Type"] == "application/json", url
