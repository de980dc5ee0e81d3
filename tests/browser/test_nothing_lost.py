"""Nothing typed is lost: text typed just before Submit is saved before submitting; text
typed just before leaving the page is sent as the page goes; a save that failed keeps the
response from being submitted, and says so."""

import time
from decimal import Decimal

import pytest

from apps.surveys.models import Answer, Response
from tests.browser.conftest import log_in
from tests.factories import (
    ProductFactory,
    ResponseFactory,
    SurveyRoundFactory,
    TeamFactory,
    UserFactory,
    answer_all,
)

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)
ALL = {"data-schema": 1, "data-features": 0.5, "monitoring-staleness": 0.5}


@pytest.fixture
def answered(live_server, browser):
    """Kim's product with every question answered (a draft), and Kim's page on it."""
    survey_round = SurveyRoundFactory(key="2030-01")
    team = TeamFactory()
    product = ProductFactory(slug="ranker", team=team)
    team.members.add(UserFactory(username="kim"))
    response = answer_all(ResponseFactory(round=survey_round, product=product), ALL, False)
    Answer.objects.filter(response=response).update(revision=1)
    page = browser.new_context().new_page()
    log_in(page, live_server, "kim", "pw")
    page.goto(f"{live_server.url}/assess/2030-01/ranker/")
    return response, page


def evidence(response, key: str) -> str:
    return Answer.objects.get(response=response, question__key=key).evidence


def confirm(page) -> None:
    """On the review page: Confirm, then back on the questionnaire, submitted."""
    page.wait_for_url("**/assess/2030-01/ranker/review/")
    page.get_by_role("button", name="Confirm and submit").click()
    page.locator("#submitted").wait_for()


def test_text_typed_just_before_submit_is_saved_and_shown_in_the_review(answered):
    response, page = answered
    box = page.locator('form[data-question="data-schema"] textarea[name=evidence]')
    box.press_sequentially("Checked in CI")
    # Submit clicked at once, in the same task that reads the question's state: the text
    # is still waiting for its pause (not sent), well within 100 ms of the last key.
    state_at_click = page.evaluate(
        """() => {
            const form = document.querySelector('form[data-question="data-schema"]');
            const kind = form.querySelector(".save-state").dataset.kind;
            document.querySelector("form.submit-bar button[type=submit]").click();
            return kind;
        }"""
    )
    assert state_at_click == "pending"
    page.wait_for_url("**/assess/2030-01/ranker/review/")
    assert evidence(response, "data-schema") == "Checked in CI"  # stored before the review
    assert "Checked in CI" in page.locator("#r-data-schema").inner_text()
    response.refresh_from_db()
    assert response.status == Response.Status.DRAFT  # nothing submitted until confirmed
    confirm(page)
    response.refresh_from_db()
    assert response.status == Response.Status.SUBMITTED


def test_text_typed_just_before_leaving_is_sent_as_the_page_goes(answered, live_server):
    response, page = answered
    box = page.locator('form[data-question="monitoring-staleness"] textarea[name=evidence]')
    box.press_sequentially("Dashboard reviewed weekly")
    page.goto(f"{live_server.url}/")  # at once: the pause has not passed
    deadline = time.monotonic() + 10
    while evidence(response, "monitoring-staleness") != "Dashboard reviewed weekly":
        assert time.monotonic() < deadline, "the text typed before leaving was lost"
        time.sleep(0.1)


def test_a_failed_save_keeps_the_response_from_being_submitted(answered):
    response, page = answered
    form = page.locator('form[data-question="data-features"]')
    form.locator("input[name=evidence_url]").fill("not a link")
    form.locator(".save-state[data-kind=partial]").wait_for()  # the link alone is not saved
    page.locator("form.submit-bar button[type=submit]").click()
    note = page.locator("form.submit-bar .submit-error[role=alert]")
    note.wait_for()
    assert "could not be saved" in note.inner_text()
    response.refresh_from_db()
    assert response.status == Response.Status.DRAFT
    # Fixed, it saves, and the submit goes through.
    form.locator("input[name=evidence_url]").fill("https://wiki.example.com/features")
    form.locator(".save-state[data-kind=saved]").wait_for()
    assert form.locator("[data-field-error=evidence_url]").inner_text() == ""
    page.locator("form.submit-bar button[type=submit]").click()
    confirm(page)
    response.refresh_from_db()
    assert response.status == Response.Status.SUBMITTED


def test_an_invalid_link_does_not_block_the_level_save(answered):
    response, page = answered
    form = page.locator('form[data-question="data-schema"]')
    link = form.locator("input[name=evidence_url]")
    link.fill("wiki/schema page")  # not a URL
    form.locator('input[name=value][value="0.5"]').check()  # a level change with it
    form.locator(".save-state[data-kind=partial]").wait_for()
    stored = Answer.objects.get(response=response, question__key="data-schema")
    assert (stored.value, stored.evidence_url) == (Decimal("0.5"), "")  # the level is saved
    error = form.locator("[data-field-error=evidence_url]")
    assert error.inner_text() == "The evidence link must be an http(s) URL."
    assert link.input_value() == "wiki/schema page"  # what was typed stays, unsaved
    assert link.get_attribute("aria-invalid") == "true"
    assert link.get_attribute("aria-describedby") == error.get_attribute("id")
    link.fill("https://wiki.example.com/schema")
    form.locator(".save-state[data-kind=saved]").wait_for()
    assert error.inner_text() == "" and link.get_attribute("aria-invalid") is None
    stored.refresh_from_db()
    assert stored.evidence_url == "https://wiki.example.com/schema"


def test_text_typed_just_before_another_form_posts_is_saved_first(answered):
    """Any other form of the page (here the language switch) waits for the saves."""
    response, page = answered
    box = page.locator('form[data-question="data-schema"] textarea[name=evidence]')
    box.press_sequentially("Schema reviewed")
    page.get_by_role("button", name="Switch").click()  # well within the pause
    page.wait_for_load_state()
    deadline = time.monotonic() + 10
    while evidence(response, "data-schema") != "Schema reviewed":
        assert time.monotonic() < deadline, "the text typed before the other form posted was lost"
        time.sleep(0.1)
