"""Carried-over answers: prefill marks each copied answer until a team member confirms it (a
save, or "Confirm all in this area"); submit refuses while some remain; last round's answer
is shown beside each question."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from apps.surveys.models import Answer, Response
from apps.surveys.services import (
    AnswerError,
    SubmitError,
    confirm_carried_over,
    prefill_from_previous,
    save_answer,
    start_response,
    submit_response,
)
from tests.factories import (
    ProductFactory,
    ResponseFactory,
    SurveyRoundFactory,
    TeamFactory,
    UserFactory,
    answer_all,
    make_version,
)

pytestmark = pytest.mark.django_db
JSON = {"HTTP_ACCEPT": "application/json"}


@pytest.fixture
def world():
    """Product "ranker" answered everything in the closed round 2030-01 (same version);
    2030-07 is open; "member" is on its team."""
    version = make_version()
    now = timezone.now()
    old = SurveyRoundFactory(
        key="2030-01",
        rubric_version=version,
        state="closed",
        opens_at=now - timedelta(days=200),
        closes_at=now - timedelta(days=170),
    )
    new = SurveyRoundFactory(key="2030-07", rubric_version=version, state="open")
    team = TeamFactory()
    product = ProductFactory(slug="ranker", team=team)
    previous = ResponseFactory(round=old, product=product)
    answer_all(previous, {"data-schema": 1, "data-features": "na", "monitoring-staleness": 0.5})
    Answer.objects.filter(response=previous, question__key="data-schema").update(
        evidence="Schema checked in CI"
    )
    member = UserFactory(username="member")
    team.members.add(member)
    return {"old": old, "new": new, "product": product, "member": member}


def prefilled(world) -> Response:
    response = start_response(survey_round=world["new"], product=world["product"])
    prefill_from_previous(response=response, user=world["member"])
    return response


def url(name):
    return reverse(name, args=["2030-07", "ranker"])


def test_prefill_marks_every_copied_answer_carried_over_from_its_round(world):
    response = prefilled(world)
    marks = dict(response.answers.values_list("question__key", "carried_over_from__key"))
    assert marks == {
        "data-schema": "2030-01",
        "data-features": "2030-01",
        "monitoring-staleness": "2030-01",
    }
    features = response.answers.get(question__key="data-features")
    assert features.not_applicable_reason == "Does not apply to this product."
    assert features.history.latest().carried_over_from_id == world["old"].pk


def test_saving_a_carried_over_answer_confirms_it(world):
    response = prefilled(world)
    answer = response.answers.get(question__key="data-schema")
    saved = save_answer(
        response=response,
        question_key="data-schema",
        value=answer.value,
        evidence=answer.evidence,
        base_revision=answer.revision,
        user=world["member"],
    )
    assert saved.carried_over_from is None
    assert response.answers.filter(carried_over_from__isnull=False).count() == 2


def test_confirm_all_in_an_area_is_one_update_with_history(world, django_assert_num_queries):
    response = prefilled(world)
    data = response.answers.filter(question__area__key="data")
    revisions = dict(data.values_list("pk", "revision"))
    # savepoint, lock the response, check the area, lock its carried answers, one UPDATE,
    # one INSERT of history rows, release
    with django_assert_num_queries(7):
        confirmed = confirm_carried_over(response=response, area="data", user=world["member"])
    assert confirmed == 2
    assert not data.filter(carried_over_from__isnull=False).exists()
    assert dict(data.values_list("pk", "revision")) == revisions  # content unchanged
    assert set(data.values_list("updated_by__username", flat=True)) == {"member"}
    latest = Answer.history.filter(id__in=revisions).order_by("-history_id")[:2]
    assert {(h.carried_over_from_id, h.history_user_id) for h in latest} == {
        (None, world["member"].pk)
    }
    monitoring = response.answers.get(question__area__key="monitoring")
    assert monitoring.carried_over_from_id == world["old"].pk  # other areas untouched
    assert confirm_carried_over(response=response, area="data") == 0


def test_confirming_an_unknown_area_or_a_submitted_response_changes_nothing(world):
    response = prefilled(world)
    with pytest.raises(AnswerError, match="'nope' is not an area"):
        confirm_carried_over(response=response, area="nope")
    Response.objects.filter(pk=response.pk).update(status="submitted", submitted_at=timezone.now())
    with pytest.raises(AnswerError, match="read-only"):
        confirm_carried_over(response=response, area="data")
    assert response.answers.filter(carried_over_from__isnull=False).count() == 3


def test_submit_refuses_unconfirmed_answers_with_their_list(world):
    response = prefilled(world)
    confirm_carried_over(response=response, area="data")
    with pytest.raises(SubmitError, match="1 carried-over answer is not confirmed yet") as caught:
        submit_response(response=response, user=world["member"])
    assert caught.value.unconfirmed == ["monitoring-staleness"]
    assert caught.value.unanswered == []
    assert Response.objects.get(pk=response.pk).status == "draft"
    confirm_carried_over(response=response, area="monitoring")
    assert submit_response(response=response, user=world["member"]).status == "submitted"


def test_prefill_message_names_the_round_and_counts(client, world):
    client.force_login(world["member"])
    page = client.post(url("prefill-response"), follow=True)
    assert "Copied 3 answers from 2030-01; none needs review." in page.content.decode()


def test_questionnaire_counts_confirmed_answers_apart_and_shows_last_round(
    client, world, django_assert_max_num_queries
):
    response = prefilled(world)
    confirm_carried_over(response=response, area="monitoring")
    client.force_login(world["member"])
    html = client.get(url("questionnaire")).content.decode()
    assert '<span id="overall-count">1</span>/3 answered' in html
    assert '· <span id="carried-count">2</span> carried over, not confirmed' in html
    assert html.count("Carried over from 2030-01: change it or save it to confirm.") == 2
    assert html.count("data-carried>") == 2
    assert 'data-confirm-area="data"' in html and 'data-confirm-area="monitoring"' not in html
    previous = html[html.index('data-previous="data-schema"') :]
    assert "Last round (2030-01):" in previous[:400]
    assert "1 · Automated" in previous[:400] or "1 ·" in previous[:400]
    assert "Schema checked in CI" in previous[:400]
    # The page reads last round's answers in a fixed number of queries, however many.
    with django_assert_max_num_queries(15):
        client.get(url("questionnaire"))


def test_refused_submit_links_each_unconfirmed_answer(client, world):
    prefilled(world)
    client.force_login(world["member"])
    # The review lists them and offers no Confirm ...
    review = client.get(url("review-response"))
    html = review.content.decode()
    assert 'id="review-unconfirmed"' in html and 'id="confirm-form"' not in html
    assert len(review.context["review"].unconfirmed) == 3
    # ... and a submit confirmed from that review anyway is refused, each one linked.
    reply = client.post(url("submit-response"), {"reviewed": review.context["review"].token})
    assert reply.status_code == 302 and reply.url.endswith("?unanswered#unconfirmed")
    html = client.get(reply.url).content.decode()
    assert "Not submitted: 3 carried-over answers are not confirmed yet." in html
    listed = html[html.index('id="unconfirmed"') : html.index('class="survey"')]
    assert '<a href="#q-data-schema">' in listed and '<a href="#q-monitoring-staleness">' in listed


def test_confirm_all_in_area_page_post(client, world):
    response = prefilled(world)
    client.force_login(world["member"])
    reply = client.post(url("confirm-area"), {"area": "data"})
    assert reply.status_code == 302 and reply.url.endswith("#area-data")
    assert response.answers.filter(carried_over_from__isnull=False).count() == 1
    bad = client.post(url("confirm-area"), {"area": "nope"}, follow=True)
    assert "&#x27;nope&#x27; is not an area" in bad.content.decode()
    client.force_login(UserFactory(username="outsider"))
    assert client.post(url("confirm-area"), {"area": "monitoring"}).status_code == 404
    assert client.get(url("confirm-area")).status_code == 405
    assert response.answers.filter(carried_over_from__isnull=False).count() == 1


def test_autosave_confirms_a_carried_over_answer(client, world):
    response = prefilled(world)
    answer = response.answers.get(question__key="monitoring-staleness")
    client.force_login(world["member"])
    reply = client.post(
        url("save-answer"),
        {"question": "monitoring-staleness", "value": "1", "revision": answer.revision},
        **JSON,
    )
    assert reply.status_code == 200
    answer.refresh_from_db()
    assert (answer.value, answer.carried_over_from) == (Decimal(1), None)
