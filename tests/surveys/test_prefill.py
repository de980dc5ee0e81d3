"""Prefill from the previous round: copy by question key, flag new or reworded questions."""

from decimal import Decimal

import pytest
from django.urls import reverse

from apps.surveys.models import Answer
from apps.surveys.services import (
    AnswerError,
    prefill_from_previous,
    review_flags,
    start_response,
)
from tests.factories import (
    ProductFactory,
    ResponseFactory,
    SurveyRoundFactory,
    UserFactory,
    answer_all,
    make_version,
    rubric_document,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def rounds():
    from datetime import timedelta

    from django.utils import timezone

    v1 = make_version()
    document = rubric_document(version="2")
    document["areas"][0]["questions"][0]["criteria"][2] = "Schema checked in CI on every load"
    document["areas"][1]["questions"][0]["key"] = "monitoring-drift"  # replaced question
    from apps.rubrics.rubric_file import parse_rubric_document
    from apps.rubrics.services import load_rubric

    v2 = load_rubric(spec=parse_rubric_document(document)).version
    now = timezone.now()
    old = SurveyRoundFactory(
        key="2030-01",
        rubric_version=v1,
        state="closed",
        opens_at=now - timedelta(days=200),
        closes_at=now - timedelta(days=170),
    )
    new = SurveyRoundFactory(key="2030-07", rubric_version=v2, state="open")
    product = ProductFactory(slug="ranker")
    answer_all(
        ResponseFactory(round=old, product=product),
        {"data-schema": 1, "data-features": "na", "monitoring-staleness": 0.5},
    )
    return old, new, product


def test_prefill_copies_shared_questions_and_flags_new_and_changed(rounds):
    _old, new, product = rounds
    response = start_response(survey_round=new, product=product)
    result = prefill_from_previous(response=response, user=None)
    assert result.copied == 2  # data-schema, data-features (N/A); staleness is gone in v2
    assert result.flagged == ["data-schema", "monitoring-drift"]
    copied = {a.question.key: a for a in response.answers.select_related("question")}
    assert copied["data-schema"].value == Decimal(1) and copied["data-features"].not_applicable
    assert review_flags(response) == {"data-schema": "changed", "monitoring-drift": "new"}


def test_prefill_keeps_what_was_already_answered(rounds):
    from apps.surveys.services import save_answer

    _old, new, product = rounds
    response = start_response(survey_round=new, product=product)
    save_answer(response=response, question_key="data-schema", value=Decimal(0))
    assert prefill_from_previous(response=response).copied == 1
    assert Answer.objects.get(response=response, question__key="data-schema").value == 0


def test_no_previous_response_is_a_clear_error():
    response = start_response(survey_round=SurveyRoundFactory(), product=ProductFactory())
    with pytest.raises(AnswerError, match="no earlier response"):
        prefill_from_previous(response=response)


def test_prefill_button_and_flags_on_the_page(client, rounds):
    _old, new, product = rounds
    member = UserFactory(username="member")
    product.team.members.add(member)
    client.force_login(member)
    url = reverse("questionnaire", args=[new.key, product.slug])
    assert "Prefill from the previous round" in client.get(url).content.decode()
    page = client.post(reverse("prefill-response", args=[new.key, product.slug]), follow=True)
    html = page.content.decode()
    assert "Copied 2 answers" in html
    assert "criteria changed: review" in html and "new question: review" in html
    outsider = UserFactory(username="outsider")
    client.force_login(outsider)
    assert client.post(reverse("prefill-response", args=[new.key, product.slug])).status_code == 404
