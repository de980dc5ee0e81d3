"""Saving answers: one at a time, never clobbering a teammate, bad input refused unchanged."""

from decimal import Decimal

import pytest

from apps.surveys.models import Answer
from apps.surveys.services import (
    AnswerConflict,
    AnswerError,
    check_answer,
    save_answer,
    start_response,
)
from tests.factories import ProductFactory, SurveyRoundFactory, UserFactory, make_version

pytestmark = pytest.mark.django_db
D = Decimal


@pytest.fixture
def response():
    return start_response(survey_round=SurveyRoundFactory(), product=ProductFactory())


ONE = D(1)


def save(response, key="data-schema", value=ONE, **options):
    return save_answer(response=response, question_key=key, value=value, **options)


def test_a_new_answer_is_saved_with_revision_one_and_its_author(response):
    alice = UserFactory(username="alice")
    answer = save(response, value=D("0.5"), evidence="checked", user=alice)
    assert (answer.value, answer.revision, answer.updated_by) == (D("0.5"), 1, alice)
    assert answer.history.get().history_user == alice


def test_changing_an_answer_needs_the_revision_it_started_from(response):
    first = save(response, value=D(0))
    second = save(response, value=D(1), base_revision=first.revision)
    assert (second.value, second.revision) == (D(1), 2)


def test_a_stale_save_is_refused_and_shows_the_other_answer(response):
    bob = UserFactory(username="bob")
    first = save(response, value=D(0))
    save(response, value=D("0.5"), base_revision=first.revision, user=bob)
    with pytest.raises(AnswerConflict) as caught:
        save(response, value=D(1), base_revision=first.revision)
    assert caught.value.current.value == D("0.5") and "bob" in str(caught.value)
    assert Answer.objects.get().value == D("0.5")


def test_a_blind_overwrite_is_a_conflict(response):
    save(response, value=D(0))
    with pytest.raises(AnswerConflict):
        save(response, value=D(1))


def test_teammates_answering_different_questions_do_not_collide(response):
    save(response, "data-schema", D(1))
    save(response, "monitoring-staleness", D(0))
    assert Answer.objects.count() == 2


@pytest.mark.parametrize(
    ("key", "value", "options", "message"),
    [
        ("data-schema", D("0.7"), {}, "0.7 is not on the scale (0, 0.5, 1)"),
        ("data-schema", None, {"not_applicable": True}, "data-schema cannot be answered N/A"),
        ("data-features", D(1), {"not_applicable": True}, "either a value or N/A"),
        ("data-nope", D(1), {}, "'data-nope' is not a question of tiny 1"),
        ("data-schema", D(1), {"evidence_url": "javascript:alert(1)"}, "http(s) URL"),
    ],
)
def test_bad_answers_are_refused_and_change_nothing(response, key, value, options, message):
    with pytest.raises(AnswerError, match=message.replace("(", r"\(").replace(")", r"\)")):
        save(response, key, value, **options)
    assert not Answer.objects.exists()


def test_not_applicable_where_allowed(response):
    answer = save(
        response,
        "data-features",
        None,
        not_applicable=True,
        not_applicable_reason="  Image model: no hand-made features.  ",
    )
    assert answer.not_applicable and answer.value is None
    assert answer.not_applicable_reason == "Image model: no hand-made features."


@pytest.mark.parametrize("reason", ["", "   \n "])
def test_not_applicable_without_a_reason_is_refused_on_the_reason_field(response, reason):
    with pytest.raises(AnswerError, match="Say why data-features does not apply") as caught:
        save(response, "data-features", None, not_applicable=True, not_applicable_reason=reason)
    assert caught.value.field == "not_applicable_reason"
    assert not Answer.objects.exists()


def test_check_answer_asks_a_reason_for_not_applicable_only():
    version = make_version()
    question = version.questions.get(key="data-features")
    levels = set(version.levels.values_list("value", flat=True))
    check_answer(question=question, levels=levels, value=D(1), not_applicable=False)
    check_answer(
        question=question,
        levels=levels,
        value=None,
        not_applicable=True,
        not_applicable_reason="Batch only.",
    )
    with pytest.raises(AnswerError) as caught:
        check_answer(question=question, levels=levels, value=None, not_applicable=True)
    assert caught.value.field == "not_applicable_reason"


def test_a_level_answer_keeps_no_reason(response):
    first = save(
        response, "data-features", None, not_applicable=True, not_applicable_reason="Batch only."
    )
    answer = save(
        response,
        "data-features",
        D(1),
        not_applicable_reason="Batch only.",
        base_revision=first.revision,
    )
    assert (answer.value, answer.not_applicable_reason) == (D(1), "")


def test_closed_round_and_submitted_response_are_read_only(response):
    response.round.state = "closed"
    response.round.save()
    with pytest.raises(AnswerError, match="is closed"):
        save(response)
    other = start_response(
        survey_round=SurveyRoundFactory(rubric_version=make_version()), product=ProductFactory()
    )
    other.status, other.submitted_at = "submitted", other.created_at
    other.save()
    with pytest.raises(AnswerError, match="submitted: it is read-only"):
        save(other)
    assert not Answer.objects.exists()


def test_responses_start_only_in_open_rounds():
    with pytest.raises(AnswerError, match="is not open"):
        start_response(survey_round=SurveyRoundFactory(state="planned"), product=ProductFactory())


def test_admin_reopens_a_submitted_response_and_its_score_is_withdrawn(
    admin_client, django_capture_on_commit_callbacks
):
    from django.urls import reverse

    from apps.scoring.models import ResponseScore
    from apps.surveys.services import submit_response
    from tests.factories import answer_all

    response = start_response(survey_round=SurveyRoundFactory(), product=ProductFactory())
    answer_all(
        response, {"data-schema": 1, "data-features": 0, "monitoring-staleness": 1}, submitted=False
    )
    with django_capture_on_commit_callbacks(execute=True):
        submit_response(response=response, user=None)
    assert ResponseScore.objects.filter(response=response).exists()
    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(
            reverse("admin:surveys_response_changelist"),
            {"action": "reopen", "_selected_action": [response.pk], "index": 0},
        )
    response.refresh_from_db()
    assert response.status == "draft" and response.submitted_at is None
    assert not ResponseScore.objects.filter(response=response).exists()
    save(response, value=D(0), base_revision=1)  # editable again


def test_only_submitted_responses_of_open_rounds_reopen(response):
    from apps.surveys.services import SubmitError, reopen_response

    with pytest.raises(SubmitError, match="Only a submitted response"):
        reopen_response(response=response)
