"""The survey with the keyboard only: no mouse event from logging in to submitting. Tab reaches
every control in order with a visible focus that no sticky bar hides; arrow keys and Space
choose in a radio group and each choice saves; quick arrow presses do not conflict with
themselves; the skip link and the area list lead to the questions."""

import re
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from apps.surveys.models import Answer, Response
from tests.factories import ProductFactory, SurveyRoundFactory, TeamFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

FOCUS_SHOWN = """() => {
    const element = document.activeElement;
    const box = element.getBoundingClientRect();
    const hit = document.elementFromPoint(box.x + box.width / 2, box.y + box.height / 2);
    const marked = element.closest(".choice") || element;  // a radio's whole choice is outlined
    return {
        inView: box.top >= 0 && box.bottom <= window.innerHeight,
        onTop: hit !== null && (element.contains(hit) || hit.contains(element)),
        outline: getComputedStyle(marked).outlineStyle,
    };
}"""


def focused(page, selector: str) -> bool:
    return page.evaluate("s => document.activeElement.matches(s)", selector)


def tab_to(page, selector: str, limit: int = 30) -> None:
    """Press Tab until the element matching selector has the focus, checking that every
    element passed on the way is visible, not covered, and shows its focus."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if focused(page, "body"):  # the first Tab may only bring the focus into the page
            continue
        shown = page.evaluate(FOCUS_SHOWN)
        active = page.evaluate("() => document.activeElement.outerHTML.slice(0, 80)")
        assert shown == {"inView": True, "onTop": True, "outline": "solid"}, active
        if focused(page, selector):
            return
    raise AssertionError(f"Tab never reached {selector}")


def saved(page, question: str) -> None:
    page.locator(f'form[data-question="{question}"] .save-state[data-kind=saved]').wait_for()


def all_saved(page) -> None:
    busy = ".save-state[data-kind=pending], .save-state[data-kind=saving]"
    page.wait_for_function("busy => !document.querySelector(busy)", arg=busy)


def test_a_member_answers_and_submits_with_the_keyboard_only(live_server, browser):
    survey_round = SurveyRoundFactory(key="2030-01")
    team = TeamFactory()
    ProductFactory(slug="ranker", team=team)
    team.members.add(UserFactory(username="kim"))
    page = browser.new_context(viewport={"width": 1100, "height": 560}).new_page()
    mouse_events = []
    page.expose_function("recordMouse", lambda kind: mouse_events.append(kind))
    page.add_init_script(
        "addEventListener('mousedown', e => window.recordMouse(e.type), true);"
        "addEventListener('click', e => { if (e.detail) window.recordMouse(e.type); }, true);"
    )

    page.goto(f"{live_server.url}/accounts/login/")
    tab_to(page, "#id_username")
    page.keyboard.type("kim")
    page.keyboard.press("Tab")
    page.keyboard.type("pw")
    page.keyboard.press("Enter")
    page.wait_for_url(f"{live_server.url}/")
    tab_to(page, 'a[href="/assess/2030-01/ranker/"]')
    page.keyboard.press("Enter")
    page.wait_for_url("**/assess/2030-01/ranker/")

    # The second skip link leads to the area list, whose links lead into the areas.
    page.keyboard.press("Tab")
    assert focused(page, ".skip-link[href='#main']")
    page.keyboard.press("Tab")
    assert focused(page, ".skip-link[href='#areas']")
    page.keyboard.press("Enter")
    tab_to(page, 'a[data-area-link="data"]', limit=1)
    page.keyboard.press("Enter")
    expect(page.locator('a[data-area-link="data"]')).to_have_attribute("aria-current", "location")

    # data-schema: Tab into the group, arrow keys choose (quickly: each change saves, in turn).
    tab_to(page, 'form[data-question="data-schema"] input[value="0"]', limit=1)
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")
    assert focused(page, 'form[data-question="data-schema"] input[value="1"]')
    # (This "Saved" may be the first arrow's; the queued second save is proven by all_saved
    # and the stored value at the end.)
    saved(page, "data-schema")
    tab_to(page, 'form[data-question="data-schema"] textarea', limit=1)
    page.keyboard.type("Checked in CI on every load")
    tab_to(page, 'form[data-question="data-schema"] input[name=evidence_url]', limit=1)
    saved(page, "data-schema")
    # The question's history opens from the keyboard and shows the saves just made.
    tab_to(page, 'form[data-question="data-schema"] details.history summary', limit=1)
    page.keyboard.press("Enter")
    history = page.locator('form[data-question="data-schema"] .history-entries')
    history.wait_for()
    expect(history).to_contain_text("Checked in CI on every load")
    assert "1 · Automated" in history.inner_text() and "kim" in history.inner_text()

    # data-features: Space checks the focused choice; arrows go on to N/A; evidence and link.
    tab_to(page, 'form[data-question="data-features"] input[value="0"]', limit=1)
    page.keyboard.press("Space")
    saved(page, "data-features")
    for _ in range(3):
        page.keyboard.press("ArrowDown")
    assert focused(page, 'form[data-question="data-features"] input[value="na"]')
    page.keyboard.press("Tab")  # N/A asks why, in the field right after it
    assert focused(page, 'form[data-question="data-features"] textarea[name=not_applicable_reason]')
    page.keyboard.type("Image model: no hand-made features")
    page.keyboard.press("Tab")
    page.keyboard.type("Raw images in")
    page.keyboard.press("Tab")
    page.keyboard.type("https://wiki.example.com/model-card")
    saved(page, "data-features")
    assert page.locator('[data-area-count="data"]').inner_text() == "2"
    assert page.get_attribute('a[data-area-link="data"]', "data-complete") is not None

    # On to the next area by Tab alone: the area list follows the focus.
    tab_to(page, 'form[data-question="data-features"] details.history summary', limit=1)
    tab_to(page, 'form[data-question="monitoring-staleness"] input[value="0"]', limit=1)
    monitoring = page.locator('a[data-area-link="monitoring"]')
    expect(monitoring).to_have_attribute("aria-current", "location")
    expect(page.locator('a[data-area-link="data"]')).not_to_have_attribute(
        "aria-current", re.compile(".*")
    )
    page.keyboard.press("ArrowRight")
    saved(page, "monitoring-staleness")
    assert page.locator("#overall-count").inner_text() == "3"
    all_saved(page)
    assert not page.locator(".conflict").count()

    stored = {
        a.question.key: a
        for a in Answer.objects.filter(response__round=survey_round).select_related("question")
    }
    assert {key: (a.value, a.not_applicable) for key, a in stored.items()} == {
        "data-schema": (Decimal(1), False),
        "data-features": (None, True),
        "monitoring-staleness": (Decimal("0.5"), False),
    }
    assert stored["data-schema"].evidence == "Checked in CI on every load"
    assert stored["data-features"].evidence == "Raw images in"
    assert stored["data-features"].not_applicable_reason == "Image model: no hand-made features"
    assert stored["data-features"].evidence_url == "https://wiki.example.com/model-card"

    tab_to(page, ".submit-bar button")
    page.keyboard.press("Enter")  # opens the review
    page.wait_for_url("**/review/")
    assert "1 · Automated" in page.locator("#r-data-schema").inner_text()
    tab_to(page, "#confirm-form button", limit=80)
    page.keyboard.press("Enter")
    page.locator(".messages", has_text="Submitted.").wait_for()
    assert Response.objects.get(round=survey_round).status == "submitted"
    assert mouse_events == []
