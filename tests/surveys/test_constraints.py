"""Answer and response invariants hold in the database itself, not only in code.

Each test bypasses model validation (raw ORM writes) to show PostgreSQL refuses the row.
"""

from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction

from apps.products.models import Product
from apps.rubrics.models import Question
from apps.surveys.models import Answer, Response
from tests.factories import (
    ProductFactory,
    ResponseFactory,
    SurveyRoundFactory,
    make_version,
    rubric_document,
)

pytestmark = pytest.mark.django_db


def refused(write) -> str:
    with pytest.raises(IntegrityError) as caught, transaction.atomic():
        write()
    return str(caught.value)


@pytest.fixture
def response():
    return ResponseFactory()


def question(response, key="data-schema") -> Question:
    return Question.objects.get(version=response.round.rubric_version, key=key)


def test_one_response_per_product_and_round(response):
    refused(lambda: Response.objects.create(round=response.round, product=response.product))
    assert Response.objects.count() == 1


def test_one_answer_per_question(response):
    Answer.objects.create(response=response, question=question(response), value=Decimal("1"))
    refused(lambda: Answer.objects.create(response=response, question=question(response)))
    assert Answer.objects.count() == 1


def test_value_off_the_scale_is_refused(response):
    message = refused(
        lambda: Answer.objects.create(
            response=response, question=question(response), value=Decimal("0.7")
        )
    )
    assert "not on the scale" in message


def test_updating_to_a_value_off_the_scale_is_refused(response):
    answer = Answer.objects.create(response=response, question=question(response), value=0)
    message = refused(lambda: Answer.objects.filter(pk=answer.pk).update(value=Decimal("2")))
    assert "not on the scale" in message
    answer.refresh_from_db()
    assert answer.value == 0


def test_every_scale_value_is_accepted(response):
    for value in ("0", "0.5", "1"):
        Answer.objects.update_or_create(
            response=response, question=question(response), defaults={"value": Decimal(value)}
        )
    assert Answer.objects.get().value == Decimal("1")


REASON = "Batch-only product: nothing is served online."


def test_not_applicable_only_where_allowed(response):
    message = refused(
        lambda: Answer.objects.create(
            response=response,
            question=question(response),
            not_applicable=True,
            not_applicable_reason=REASON,
        )
    )
    assert "does not allow N/A" in message
    Answer.objects.create(
        response=response,
        question=question(response, "data-features"),
        not_applicable=True,
        not_applicable_reason=REASON,
    )
    assert Answer.objects.get().not_applicable


def test_not_applicable_without_a_reason_is_refused(response):
    message = refused(
        lambda: Answer.objects.create(
            response=response, question=question(response, "data-features"), not_applicable=True
        )
    )
    assert "answer_na_has_reason" in message
    assert not Answer.objects.exists()


def test_not_applicable_with_a_value_is_refused(response):
    message = refused(
        lambda: Answer.objects.create(
            response=response,
            question=question(response, "data-features"),
            not_applicable=True,
            not_applicable_reason=REASON,
            value=Decimal("1"),
        )
    )
    assert "answer_na_has_no_value" in message


def test_question_of_another_version_is_refused(response):
    other = make_version(version="2")
    foreign = Question.objects.get(version=other, key="data-schema")
    message = refused(
        lambda: Answer.objects.create(response=response, question=foreign, value=Decimal("1"))
    )
    assert "not in its round's rubric version" in message


def test_bulk_insert_with_one_bad_row_writes_nothing(response):
    rows = [
        Answer(response=response, question=question(response, "data-schema"), value=Decimal(1)),
        Answer(response=response, question=question(response, "monitoring-staleness"), value=3),
    ]
    refused(lambda: Answer.objects.bulk_create(rows))
    assert Answer.objects.count() == 0


def test_round_version_cannot_change_once_responses_exist(response):
    other = make_version(version="2")
    survey_round = response.round
    survey_round.rubric_version = other
    assert "cannot change" in refused(survey_round.save)


def test_round_version_can_change_while_empty():
    survey_round = SurveyRoundFactory()
    survey_round.rubric_version = make_version(version="2")
    survey_round.save()
    survey_round.refresh_from_db()
    assert survey_round.rubric_version.label == "2"


def test_submitted_response_needs_a_date(response):
    refused(lambda: Response.objects.filter(pk=response.pk).update(status="submitted"))


def test_round_must_close_after_it_opens():
    survey_round = SurveyRoundFactory()
    survey_round.closes_at = survey_round.opens_at
    refused(survey_round.save)


def test_product_cannot_retire_before_it_starts():
    product = ProductFactory()
    refused(lambda: Product.objects.filter(pk=product.pk).update(retired_at="2019-01-01"))


def test_answer_history_records_who_changed_what(response):
    from tests.factories import UserFactory

    alice, bob = UserFactory(username="alice"), UserFactory(username="bob")
    answer = Answer(response=response, question=question(response), value=Decimal("0"))
    answer._history_user = alice
    answer.save()
    answer.value = Decimal("0.5")
    answer._history_user = bob
    answer.save()
    history = list(answer.history.order_by("history_date"))
    assert [(h.value, h.history_user.username) for h in history] == [
        (Decimal("0"), "alice"),
        (Decimal("0.5"), "bob"),
    ]
    assert rubric_document()["rubric"] == "tiny"
