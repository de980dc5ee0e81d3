"""Small things that erode trust (issue 13): an invalid link never blocks the level save; the
conflict reply names who, when, the level label and the evidence; each question's history."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse

from apps.accounts.models import VIEWERS_GROUP
from apps.rubrics.models import Question, question_number
from apps.surveys.models import Answer
from tests.factories import (
    ProductFactory,
    ResponseFactory,
    SurveyRoundFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db
JSON = {"HTTP_ACCEPT": "application/json"}


def urls(name, *extra):
    return reverse(name, args=["2030-01", "ranker", *extra])


def post(client, **fields):
    return client.post(urls("save-answer"), fields, **JSON)


def test_question_numbers_are_area_key_and_position(setup):
    assert question_number("data", 2) == "DATA-3"
    numbers = [
        q.number
        for q in Question.objects.filter(version=setup[0].rubric_version).select_related("area")
    ]
    assert sorted(numbers) == ["DATA-1", "DATA-2", "MONITORING-1"]


def test_an_invalid_link_saves_the_level_and_evidence_and_names_the_link(client, setup):
    client.force_login(setup[2])
    first = post(client, question="data-schema", value="0.5", evidence_url="https://ok.example/a")
    reply = post(
        client,
        question="data-schema",
        value="1",
        evidence="Checked in CI",
        evidence_url="not a link",
        revision=first.json()["revision"],
    )
    assert reply.status_code == 200
    assert reply.json()["errors"] == {"evidence_url": "The evidence link must be an http(s) URL."}
    answer = Answer.objects.get()
    assert (answer.value, answer.evidence) == (1, "Checked in CI")
    assert answer.evidence_url == "https://ok.example/a"  # the stored link stays
    assert reply.json()["revision"] == answer.revision == 2


def test_an_invalid_link_alone_writes_nothing(client, setup):
    client.force_login(setup[2])
    first = post(client, question="data-schema", value="1", evidence="CI")
    history = Answer.history.count()
    reply = post(
        client,
        question="data-schema",
        value="1",
        evidence="CI",
        evidence_url="https:",
        revision=first.json()["revision"],
    )
    assert reply.status_code == 200 and "evidence_url" in reply.json()["errors"]
    assert reply.json()["revision"] == 1 and Answer.history.count() == history


def test_a_first_save_of_only_an_invalid_link_is_refused(client, setup):
    client.force_login(setup[2])
    reply = post(client, question="data-schema", value="", evidence_url="nope")
    assert reply.status_code == 400 and reply.json()["field"] == "evidence_url"
    assert not Answer.objects.exists()


def test_the_api_still_refuses_an_invalid_link(client, setup):
    """Only the page saves around a bad link; an API client gets a 400, nothing saved."""
    from apps.surveys.services import AnswerError, save_answer, start_response

    response = start_response(survey_round=setup[0], product=setup[1])
    with pytest.raises(AnswerError, match="http"):
        save_answer(
            response=response, question_key="data-schema", value=Decimal(1), evidence_url="x"
        )
    assert not Answer.objects.exists()


def test_the_conflict_reply_names_who_when_and_the_level(client, setup):
    _survey_round, product, member = setup
    client.force_login(member)
    post(client, question="data-features", value="0.5", evidence="Ablation study")
    other = UserFactory(username="bob")
    product.team.members.add(other)
    client.force_login(other)
    stale = post(client, question="data-features", value="1")  # no revision: stale
    assert stale.status_code == 409
    current = stale.json()["current"]
    assert current["updated_by"] == "Kim Lee"
    assert current["label"] == "0.5 · Manual"
    assert current["evidence"] == "Ablation study"
    assert len(current["updated_at"]) == len("2030-01-01 10:00")
    error = stale.json()["error"]
    assert error.startswith("Kim Lee changed this answer at ") and "revision" not in error
    assert current["updated_at"] in error


def test_the_conflict_box_names_na_answers(client, setup):
    client.force_login(setup[2])
    post(client, question="data-features", value="na", not_applicable_reason="Raw images only")
    stale = post(client, question="data-features", value="1")
    assert stale.json()["current"]["label"] == "N/A"


@pytest.fixture
def history(setup):
    """Kim saved DATA-1 twice this round; last round (same rubric) it was answered 0."""
    survey_round, product, member = setup
    earlier = SurveyRoundFactory(
        key="2029-01",
        rubric_version=survey_round.rubric_version,
        state="closed",
        opens_at=survey_round.opens_at - timedelta(days=200),
        closes_at=survey_round.opens_at - timedelta(days=170),
    )
    old = ResponseFactory(round=earlier, product=product)
    question = survey_round.rubric_version.questions.get(key="data-schema")
    answer = Answer(response=old, question=question, value=0, evidence="nothing yet")
    answer._history_user = member
    answer.save()
    return setup


def test_history_lists_this_and_earlier_rounds_newest_first(client, history):
    _survey_round, _product, member = history
    client.force_login(member)
    first = post(client, question="data-schema", value="0.5", evidence="by hand")
    post(
        client,
        question="data-schema",
        value="1",
        evidence="in CI",
        evidence_url="https://ci.example/schema",
        revision=first.json()["revision"],
    )
    html = client.get(urls("question-history", "data-schema"), HTTP_X_REQUESTED_WITH="fetch")
    text = html.content.decode()
    assert html.status_code == 200 and "<html" not in text  # a fragment
    rows = text.split("<tr>")[2:]
    assert len(rows) == 3
    assert "2030-01" in rows[0] and "1 · Automated" in rows[0] and "in CI" in rows[0]
    assert 'href="https://ci.example/schema"' in rows[0] and "Kim Lee" in rows[0]
    assert "0.5 · Manual" in rows[1] and "by hand" in rows[1]
    assert "2029-01" in rows[2] and "0 · Not done" in rows[2] and "nothing yet" in rows[2]
    page = client.get(urls("question-history", "data-schema"))  # without JavaScript: a page
    assert "<html" in page.content.decode() and "Back to the questionnaire" in page.content.decode()


def test_history_of_another_question_or_product_is_not_mixed_in(client, history):
    survey_round, product, member = history
    client.force_login(member)
    post(client, question="data-features", value="1", evidence="features")
    other = ProductFactory(team=product.team)
    other_response = ResponseFactory(round=survey_round, product=other)
    Answer.objects.create(
        response=other_response,
        question=survey_round.rubric_version.questions.get(key="data-schema"),
        value=1,
        evidence="other product",
    )
    text = client.get(urls("question-history", "data-schema")).content.decode()
    assert "other product" not in text and "features" not in text and "nothing yet" in text


@pytest.mark.parametrize(
    ("role", "status"), [("member", 200), ("viewer", 200), ("admin", 200), ("outsider", 404)]
)
def test_history_is_for_the_team_viewers_and_admins(client, history, role, status):
    if role == "member":
        user = history[2]
    else:
        user = UserFactory(username=role, is_staff=role == "admin")
        if role == "viewer":
            user.groups.add(Group.objects.get_or_create(name=VIEWERS_GROUP)[0])
    client.force_login(user)
    reply = client.get(urls("question-history", "data-schema"))
    assert reply.status_code == status
    if status == 200:
        assert "nothing yet" in reply.content.decode()
    else:
        assert "nothing yet" not in reply.content.decode()


def test_history_of_an_unknown_question_is_404(client, history):
    client.force_login(history[2])
    assert client.get(urls("question-history", "data-nope")).status_code == 404


def test_history_queries_do_not_grow_with_the_saves(client, history, django_assert_num_queries):
    client.force_login(history[2])
    url = urls("question-history", "data-schema")
    client.get(url)
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        client.get(url)
    few = len(queries)  # now: the next request clears the connection's query log
    revision = ""
    for n in range(6):
        reply = post(client, question="data-schema", value="1", evidence=f"v{n}", revision=revision)
        revision = reply.json()["revision"]
    with django_assert_num_queries(few):
        text = client.get(url).content.decode()
    assert text.count("<tr>") == 1 + 7
    assert few <= 9
