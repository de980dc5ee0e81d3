"""The questionnaire pages: who may see and answer, autosave, conflicts, submit, read-only."""

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse

from apps.accounts.models import VIEWERS_GROUP
from apps.surveys.models import Answer, Response
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
JSON = {"HTTP_ACCEPT": "application/json"}


def urls(name):
    return reverse(name, args=["2030-01", "ranker"])


def reviewed() -> dict:
    """A confirm of a review of the answers as they are now (see test_review.py)."""
    from apps.surveys.services import review_token

    return {"reviewed": review_token(Answer.objects.all())}


def test_member_opens_the_questionnaire_with_criteria(client, setup, django_assert_max_num_queries):
    client.force_login(setup[2])
    page = client.get(urls("questionnaire"))
    html = page.content.decode()
    assert page.status_code == 200
    assert "Is there a schema?" in html and "Schema checked in CI" in html
    assert 'value="na"' in html  # only data-features allows N/A
    assert html.count('value="na"') == 1
    with django_assert_max_num_queries(14):
        client.get(urls("questionnaire"))


@pytest.mark.parametrize("role", ["outsider", "anonymous"])
def test_others_get_404_or_login(client, setup, role):
    if role == "outsider":
        client.force_login(UserFactory(username="outsider"))
        assert client.get(urls("questionnaire")).status_code == 404
        reply = client.post(urls("save-answer"), {"question": "data-schema", "value": "1"}, **JSON)
        assert reply.status_code == 404
    else:
        assert client.get(urls("questionnaire")).status_code == 302
    assert not Answer.objects.exists()


def test_viewer_reads_but_cannot_write(client, setup):
    from apps.surveys.services import start_response

    start_response(survey_round=setup[0], product=setup[1])
    viewer = UserFactory(username="viewer")
    viewer.groups.add(Group.objects.get_or_create(name=VIEWERS_GROUP)[0])
    client.force_login(viewer)
    page = client.get(urls("questionnaire"))
    assert page.status_code == 200 and "Read-only" in page.content.decode()
    reply = client.post(urls("save-answer"), {"question": "data-schema", "value": "1"}, **JSON)
    assert reply.status_code == 403 and not Answer.objects.exists()


def test_autosave_saves_each_answer(client, setup):
    client.force_login(setup[2])
    client.get(urls("questionnaire"))
    reply = client.post(
        urls("save-answer"),
        {"question": "data-schema", "value": "0.5", "evidence": "weekly"},
        **JSON,
    )
    assert reply.status_code == 200 and reply.json()["revision"] == 1
    na = client.post(
        urls("save-answer"),
        {"question": "data-features", "value": "na", "not_applicable_reason": "Batch only."},
        **JSON,
    )
    assert na.status_code == 200
    assert Answer.objects.get(question__key="data-features").not_applicable


def test_stale_save_is_a_conflict_showing_the_other_answer(client, setup):
    client.force_login(setup[2])
    client.get(urls("questionnaire"))
    client.post(urls("save-answer"), {"question": "data-schema", "value": "0"}, **JSON)
    client.post(
        urls("save-answer"), {"question": "data-schema", "value": "1", "revision": "1"}, **JSON
    )
    stale = client.post(
        urls("save-answer"), {"question": "data-schema", "value": "0.5", "revision": "1"}, **JSON
    )
    assert stale.status_code == 409 and stale.json()["current"]["value"] == "1"
    assert Answer.objects.get().value == 1


def test_bad_values_are_refused_with_a_message(client, setup):
    client.force_login(setup[2])
    client.get(urls("questionnaire"))
    for value in ("0.7", "na", "abc"):
        reply = client.post(
            urls("save-answer"), {"question": "data-schema", "value": value}, **JSON
        )
        assert reply.status_code == 400 and reply.json()["error"]
    assert not Answer.objects.exists()


def test_plain_form_post_works_without_javascript(client, setup):
    client.force_login(setup[2])
    client.get(urls("questionnaire"))
    reply = client.post(urls("save-answer"), {"question": "data-schema", "value": "1"})
    assert reply.status_code == 302 and Answer.objects.get().value == 1


def test_submit_lists_unanswered_then_submits_and_locks(
    client, setup, django_capture_on_commit_callbacks
):
    client.force_login(setup[2])
    client.get(urls("questionnaire"))
    client.post(urls("save-answer"), {"question": "data-schema", "value": "1"}, **JSON)
    page = client.post(urls("submit-response"), reviewed(), follow=True)
    assert page.redirect_chain[-1][0].endswith("?unanswered#unanswered")
    html = page.content.decode()
    assert "Not submitted: 2 questions are not answered yet." in html
    listed = html[html.index('id="unanswered"') : html.index('class="survey"')]
    assert '<a href="#q-data-features">Is every feature useful?</a>' in listed
    assert '<a href="#q-monitoring-staleness">Is model staleness watched?</a>' in listed
    assert "Is there a schema?" not in listed
    client.post(
        urls("save-answer"),
        {"question": "data-features", "value": "na", "not_applicable_reason": "Batch only."},
        **JSON,
    )
    client.post(urls("save-answer"), {"question": "monitoring-staleness", "value": "0.5"}, **JSON)
    with django_capture_on_commit_callbacks(execute=True):  # scoring is queued on commit
        client.post(urls("submit-response"), reviewed())
    html = client.get(urls("questionnaire")).content.decode()
    assert Response.objects.get().status == "submitted"
    assert '<dd data-score="overall">0.50</dd>' in html  # the score, computed on submit
    # 1 + N/A rescaled to both questions, beside the area's maximum and its N/A count
    assert '<td class="num" data-area-score="data">2.00 / 2 · 1 N/A, rescaled</td>' in html
    assert '<td class="num" data-area-score="monitoring">0.50 / 1</td>' in html
    assert "the area&#x27;s sum is scaled up to all its questions" in html
    assert "Submitted by member on" in html
    assert "Read-only" in html
    late = client.post(urls("save-answer"), {"question": "data-schema", "value": "0"}, **JSON)
    assert late.status_code == 400 and "read-only" in late.json()["error"]


def test_opening_a_not_started_questionnaire_writes_nothing(client, setup):
    client.force_login(setup[2])
    page = client.get(urls("questionnaire"))
    assert page.status_code == 200 and "Is there a schema?" in page.content.decode()
    assert not Response.objects.exists() and not Response.history.exists()
    # The first save starts the response.
    reply = client.post(urls("save-answer"), {"question": "data-schema", "value": "1"}, **JSON)
    assert reply.status_code == 200 and reply.json()["revision"] == 1
    assert Response.objects.get().status == "draft" and Answer.objects.get().value == 1


def test_a_refused_first_save_leaves_no_response(client, setup):
    client.force_login(setup[2])
    reply = client.post(urls("save-answer"), {"question": "data-schema", "value": "7"}, **JSON)
    assert reply.status_code == 400 and not Answer.objects.exists()
    assert not Response.objects.exists()  # still not started


def test_submitting_a_not_started_response_lists_every_question(client, setup):
    client.force_login(setup[2])
    page = client.post(urls("submit-response"), reviewed(), follow=True)
    assert "Not submitted: 3 questions are not answered yet." in page.content.decode()
    assert Response.objects.get().status == "draft"
