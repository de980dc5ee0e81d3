"""A team member answers in Chromium: autosave survives a reload; a teammate's stale save of
the same question is caught and shown instead of overwriting."""

from decimal import Decimal

import pytest

from apps.demo.services import seed_demo
from apps.products.models import Product
from apps.surveys.models import Answer, SurveyRound
from tests.browser.conftest import log_in, screenshot

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def choose(page, question: str, value: str) -> None:
    form = page.locator(f'form[data-question="{question}"]')
    form.locator(f'input[name=value][value="{value}"]').check()
    form.locator(".save-state[data-kind=saved]").wait_for()


def not_started_survey() -> tuple[SurveyRound, Product]:
    """The demo's open round and a product of demo-member's teams not started in it."""
    seed_demo(products=20, rounds=2, seed=6)
    open_round = SurveyRound.objects.get(state="open")
    product = (
        Product.objects.filter(team__members__username="demo-member")
        .exclude(responses__round=open_round)
        .order_by("slug")
        .first()
    )
    return open_round, product


def test_autosave_reload_and_conflict(live_server, browser):
    open_round, product = not_started_survey()
    url = f"{live_server.url}/assess/{open_round.key}/{product.slug}/"
    alice = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    log_in(alice, live_server, "demo-member")
    alice.goto(url)
    choose(alice, "data-schema", "0.5")
    choose(alice, "monitoring-staleness", "1")
    evidence = alice.locator('form[data-question="data-schema"] textarea[name=evidence]')
    evidence.fill("Checked by hand, see the wiki")
    alice.locator('form[data-question="data-schema"] .save-state[data-kind=saved]').wait_for()
    alice.wait_for_timeout(1200)
    assert alice.locator("#overall-count").inner_text() == "2"
    alice.locator('form[data-question="data-schema"]').scroll_into_view_if_needed()
    screenshot(alice, "questionnaire", full_page=False)

    alice.reload()  # everything is still there
    form = alice.locator('form[data-question="data-schema"]')
    assert form.locator('input[value="0.5"]').is_checked()
    assert form.locator("textarea[name=evidence]").input_value() == "Checked by hand, see the wiki"

    bob = browser.new_context().new_page()  # a teammate with the page open from before
    log_in(bob, live_server, "demo-member")
    bob.goto(url)
    choose(alice, "data-schema", "1")  # Alice changes it after Bob loaded the page
    bob_form = bob.locator('form[data-question="data-schema"]')
    bob_form.locator('input[name=value][value="0"]').check()
    bob_form.locator(".conflict").wait_for()
    box = bob_form.locator(".conflict").inner_text()
    # Who, when, the level's label and the evidence: not a revision number or a raw value.
    assert "demo-member changed this answer at " in box or " changed this answer at " in box
    top = open_round.rubric_version.levels.get(value=1).label_en
    assert f"1 · {top}" in box and "Checked by hand, see the wiki" in box
    assert "revision" not in box
    stored = Answer.objects.get(
        response__round=open_round, response__product=product, question__key="data-schema"
    )
    assert stored.value == 1
    bob_form.get_by_role("button", name="Keep their answer").click()
    assert bob_form.locator('input[value="1"]').is_checked()


def test_a_save_after_the_session_ended_says_so(live_server, browser):
    open_round, product = not_started_survey()
    context = browser.new_context()
    page = context.new_page()
    log_in(page, live_server, "demo-member")
    page.goto(f"{live_server.url}/assess/{open_round.key}/{product.slug}/")
    choose(page, "data-schema", "0.5")
    context.clear_cookies()  # signed out elsewhere, or the session expired
    form = page.locator('form[data-question="data-schema"]')
    form.locator('input[name=value][value="1"]').check()
    form.locator(".save-state", has_text="you are signed out").wait_for()
    assert form.locator(".save-state").get_attribute("data-kind") == "error"
    stored = Answer.objects.get(
        response__round=open_round, response__product=product, question__key="data-schema"
    )
    assert stored.value == Decimal("0.5")  # nothing was saved on the way


def test_a_half_typed_link_refused_mid_typing_loses_nothing(live_server, browser):
    """The autosave fires during a pause in typing the evidence link: the server refuses the
    half-typed link, but the level chosen meanwhile and the finished link are both saved,
    and the question is not shown as saved or failed until they are."""
    open_round, product = not_started_survey()
    started = product.responses.filter(round=open_round)
    assert not started.exists()  # and opening the page below starts nothing either
    page = browser.new_context().new_page()
    log_in(page, live_server, "demo-member")
    page.goto(f"{live_server.url}/assess/{open_round.key}/{product.slug}/")
    assert not started.exists()
    form = page.locator('form[data-question="data-schema"]')
    form.locator('input[name=value][value="0.5"]').check()
    form.locator(".save-state[data-kind=saved]").wait_for()
    form.locator('input[name=value][value="1"]').check()  # a level change…
    link = form.locator("input[name=evidence_url]")
    link.press_sequentially("https")  # …sent with a link the pause catches half typed
    form.locator(".save-state[data-kind=partial]").wait_for()  # the level saved, not the link
    link.press_sequentially("://wiki.example.com/schema")
    assert form.locator(".save-state").get_attribute("data-kind") == "pending"
    form.locator(".save-state[data-kind=saved]").wait_for()
    stored = Answer.objects.get(
        response__round=open_round, response__product=product, question__key="data-schema"
    )
    assert (stored.value, stored.evidence_url) == (1, "https://wiki.example.com/schema")
