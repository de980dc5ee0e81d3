"""Review, then submit: the review page shows what would be sent (by area, with numbers and
level labels, N/A, changes since the last round, missing evidence, the provisional score);
Confirm submits only the answers reviewed."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse

from apps.accounts.models import VIEWERS_GROUP
from apps.surveys import services
from apps.surveys.models import Answer, Response
from tests.factories import (
    ProductFactory,
    ResponseFactory,
    SurveyRoundFactory,
    TeamFactory,
    UserFactory,
    answer_all,
    make_version,
    rubric_document,
)

pytestmark = pytest.mark.django_db
JSON = {"HTTP_ACCEPT": "application/json"}


def urls(name):
    return reverse(name, args=["2030-01", "ranker"])


def save(client, question, value, **fields):
    reply = client.post(
        urls("save-answer"), {"question": question, "value": value, **fields}, **JSON
    )
    assert reply.status_code == 200, reply.content
    return reply


def token_of(html: str) -> str:
    start = html.index('name="reviewed" value="') + len('name="reviewed" value="')
    return html[start : html.index('"', start)]


def test_review_shows_answers_by_area_with_numbers_labels_and_provisional_score(client, setup):
    client.force_login(setup[2])
    save(client, "data-schema", "1", evidence="Checked in CI")
    save(client, "data-features", "na", not_applicable_reason="No features: raw images")
    save(client, "monitoring-staleness", "0.5")  # above "Not done", no evidence
    before = (Answer.history.count(), Response.history.count())
    page = client.get(urls("review-response"))
    html = page.content.decode()
    assert page.status_code == 200
    assert (Answer.history.count(), Response.history.count()) == before  # GET writes nothing
    assert ">DATA-1</a>" in html and ">DATA-2</a>" in html and ">MONITORING-1</a>" in html
    row = html[html.index('id="r-data-schema"') :]
    assert "1 · Automated" in row[: row.index("</tr>")] and "Checked in CI" in row
    na = html[html.index('id="review-na"') : html.index('id="review-evidence"')]
    assert "DATA-2" in na and "Raw images in, no features" in na
    missing = html[html.index('id="review-evidence"') : html.index('id="provisional-title"')]
    assert "MONITORING-1" in missing and "0.5 · Manual" in missing and "DATA-1" not in missing
    score = html[html.index('id="provisional-score"') : html.index("<h2>Answers</h2>")]
    assert "provisional" in score
    assert '<dd data-score="overall">0.50</dd>' in score  # min(1 rescaled to 2, 0.5)
    assert '<td class="num" data-area-score="data">2.00</td>' in score
    assert "Strong" not in score and "Basic" in score
    assert 'name="reviewed"' in html and "Confirm and submit" in html
    assert Response.objects.get().status == "draft"


def test_review_lists_changes_since_the_last_round(client, setup):
    survey_round, product, member = setup
    earlier = SurveyRoundFactory(
        key="2029-01",
        rubric_version=survey_round.rubric_version,
        state="closed",
        opens_at=survey_round.opens_at - timedelta(days=200),
        closes_at=survey_round.opens_at - timedelta(days=170),
    )
    answer_all(
        ResponseFactory(round=earlier, product=product),
        {"data-schema": 0.5, "data-features": 1, "monitoring-staleness": 0.5},
    )
    client.force_login(member)
    save(client, "data-schema", "1", evidence="CI")
    save(client, "data-features", "1", evidence="Ablation")
    html = client.get(urls("review-response")).content.decode()
    changed = html[html.index('id="review-changed"') : html.index('id="review-na"')]
    assert "DATA-1" in changed and "0.5 · Manual → 1 · Automated" in changed
    assert "DATA-2" not in changed  # same level as last round
    unanswered = html[html.index('id="review-unanswered"') : html.index('id="review-changed"')]
    assert "MONITORING-1" in unanswered
    assert "Confirm and submit" not in html and 'id="confirm-blocked"' in html
    assert "The overall score needs every question answered." in html


def test_review_page_queries_do_not_grow_with_the_questions(client, django_assert_num_queries):
    """The same number of queries for the 3-question rubric and a 9-question one."""

    def measure(survey_round, n_extra):
        team = TeamFactory()
        product = ProductFactory(team=team)
        member = UserFactory()
        team.members.add(member)
        response = ResponseFactory(round=survey_round, product=product)
        values = {q.key: 1 for q in survey_round.rubric_version.questions.all()}
        answer_all(response, values, submitted=False)
        client.force_login(member)
        url = reverse("review-response", args=[survey_round.key, product.slug])
        client.get(url)
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as queries:
            assert client.get(url).status_code == 200
        return len(queries)

    small = measure(SurveyRoundFactory(key="2030-01"), 0)
    document = rubric_document(rubric="bigger")
    for area in document["areas"]:
        for n in range(3):
            area["questions"].append(
                {"key": f"{area['key']}-extra-{n}", "text": "More?", "criteria": ["a", "b", "c"]}
            )
    big_round = SurveyRoundFactory(key="2031-01", rubric_version=make_version(**document))
    assert big_round.rubric_version.questions.count() == 9
    assert measure(big_round, 6) == small
    assert (
        small == 14
    )  # session, user, round, product, team, response, answers, rubric (3), previous, bands…


def test_confirm_submits_what_was_reviewed(client, setup, django_capture_on_commit_callbacks):
    client.force_login(setup[2])
    save(client, "data-schema", "1", evidence="CI")
    save(client, "data-features", "0.5", evidence="by hand")
    save(client, "monitoring-staleness", "0", evidence="")
    token = token_of(client.get(urls("review-response")).content.decode())
    with django_capture_on_commit_callbacks(execute=True):
        reply = client.post(urls("submit-response"), {"reviewed": token})
    assert reply.status_code == 302 and reply["Location"] == urls("questionnaire")
    response = Response.objects.get()
    assert response.status == "submitted" and response.submitted_by == setup[2]


def test_confirming_a_stale_review_is_refused_and_shows_the_fresh_one(client, setup):
    client.force_login(setup[2])
    save(client, "data-schema", "1", evidence="CI")
    save(client, "data-features", "0.5", evidence="by hand")
    reply = save(client, "monitoring-staleness", "0", evidence="")
    token = token_of(client.get(urls("review-response")).content.decode())
    # A teammate changes an answer after the review was opened.
    save(
        client, "monitoring-staleness", "1", evidence="Alerting", revision=reply.json()["revision"]
    )
    history = Response.history.count()
    page = client.post(urls("submit-response"), {"reviewed": token})
    html = page.content.decode()
    assert page.status_code == 409
    assert "Not submitted: the answers changed after you reviewed them" in html
    assert 'id="review-error"' in html and "1 · Automated" in html  # the fresh review
    assert token_of(html) != token
    assert Response.objects.get().status == "draft" and Response.history.count() == history
    # Confirming the fresh review submits.
    assert client.post(urls("submit-response"), {"reviewed": token_of(html)}).status_code == 302
    assert Response.objects.get().status == "submitted"


def test_saving_the_same_answer_again_keeps_the_review_valid(setup):
    survey_round, product, member = setup
    response = services.start_response(survey_round=survey_round, product=product)
    answer = services.save_answer(
        response=response, question_key="data-schema", value=Decimal(1), user=member
    )
    token = services.review_token(response.answers.all())
    services.save_answer(
        response=response,
        question_key="data-schema",
        value=Decimal(1),
        base_revision=answer.revision,
        user=member,
    )
    assert services.review_token(response.answers.all()) == token


def test_confirm_with_unanswered_questions_is_refused_with_the_list(client, setup):
    client.force_login(setup[2])
    save(client, "data-schema", "1")
    token = services.review_token(Answer.objects.all())
    page = client.post(urls("submit-response"), {"reviewed": token}, follow=True)
    assert page.redirect_chain[-1][0].endswith("?unanswered#unanswered")
    assert "Not submitted: 2 questions are not answered yet." in page.content.decode()
    assert Response.objects.get().status == "draft"


def test_a_post_without_a_review_opens_the_review(client, setup):
    client.force_login(setup[2])
    save(client, "data-schema", "1")
    reply = client.post(urls("submit-response"))
    assert reply.status_code == 302 and reply["Location"] == urls("review-response")
    assert Response.objects.get().status == "draft"


@pytest.mark.parametrize("role", ["outsider", "viewer", "anonymous"])
def test_only_the_team_opens_the_review_or_confirms(client, setup, role):
    survey_round, product, _member = setup
    response = answer_all(
        services.start_response(survey_round=survey_round, product=product),
        {"data-schema": 1, "data-features": 1, "monitoring-staleness": 1},
        submitted=False,
    )
    token = services.review_token(response.answers.all())
    if role != "anonymous":
        user = UserFactory(username=role)
        if role == "viewer":
            user.groups.add(Group.objects.get_or_create(name=VIEWERS_GROUP)[0])
        client.force_login(user)
    page = client.get(urls("review-response"))
    confirm = client.post(urls("submit-response"), {"reviewed": token})
    if role == "anonymous":
        assert page.status_code == 302 and confirm.status_code == 302
        assert "/accounts/login/" in page["Location"]
    else:
        assert page.status_code == 404 and confirm.status_code == 404
    assert Response.objects.get().status == "draft"


def test_a_submitted_response_has_no_review(client, setup):
    survey_round, product, member = setup
    answer_all(
        ResponseFactory(round=survey_round, product=product),
        {"data-schema": 1, "data-features": 1, "monitoring-staleness": 1},
    )
    client.force_login(member)
    reply = client.get(urls("review-response"))
    assert reply.status_code == 302 and reply["Location"] == urls("questionnaire")


def test_questionnaire_submit_opens_the_review(client, setup):
    client.force_login(setup[2])
    html = client.get(urls("questionnaire")).content.decode()
    bar = html[html.index('class="submit-bar"') - 120 :]
    assert f'action="{urls("review-response")}"' in bar[:400] and 'method="get"' in bar[:400]
    assert '<span class="question-number">DATA-2</span>' in html


def test_reviewing_a_not_started_response_writes_nothing(client, setup):
    client.force_login(setup[2])
    page = client.get(urls("review-response"))
    html = page.content.decode()
    assert page.status_code == 200 and "0 of 3 questions answered" in html
    assert 'id="confirm-blocked"' in html and "Confirm and submit" not in html
    assert not Response.objects.exists() and not Response.history.exists()
