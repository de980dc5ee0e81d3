"""A team member completes a round end to end in Chromium: prefill from the previous round,
review flags, a refused submit listing what is left, the rest answered area by area, submit,
then the read-only page with the stored score."""

import pytest
from playwright.sync_api import expect

from apps.demo.services import seed_demo
from apps.products.models import Product
from apps.rubrics.models import Question
from apps.rubrics.numbers import format_score
from apps.scoring.models import ResponseScore
from apps.surveys import services
from apps.surveys.models import Answer, Response, SurveyRound
from tests.browser.conftest import log_in, screenshot, watch_for_csp_violations

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def not_started_with_history():
    """demo-member's product with nothing answered in the open round and a submitted response
    in the round before (of the rubric's previous version)."""
    open_round = SurveyRound.objects.get(state="open")
    product = (
        Product.objects.filter(team__members__username="demo-member", responses__status="submitted")
        .exclude(responses__round=open_round)
        .order_by("slug")
        .first()
    )
    assert product is not None, "the demo seed should have such a product"
    return open_round, product


def test_member_prefills_answers_the_rest_submits_and_sees_the_score(live_server, browser):
    seed_demo(products=20, rounds=4, seed=5)  # the open 4th round is on v2, the 3rd on v1
    open_round, product = not_started_with_history()
    page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    errors = watch_for_csp_violations(page)  # and uncaught script errors
    log_in(page, live_server, "demo-member")
    page.get_by_role("row", name=product.name).get_by_role("link", name="Answer").click()
    page.wait_for_url(f"**/assess/{open_round.key}/{product.slug}/")
    assert page.locator("#overall-count").inner_text() == "0"

    page.get_by_role("button", name="Prefill from the previous round").click()
    page.locator(".messages", has_text="Copied").wait_for()
    response = Response.objects.get(round=open_round, product=product)
    previous = services.previous_response(response)
    copied = {a.question.key: a for a in response.answers.select_related("question")}
    before = {a.question.key: a for a in previous.answers.select_related("question")}
    assert copied and all(before[key].value == a.value for key, a in copied.items())
    for key, answer in copied.items():
        choice = "na" if answer.not_applicable else format(answer.value.normalize(), "f")
        radio = page.locator(f'form[data-question="{key}"] input[name=value][value="{choice}"]')
        assert radio.is_checked(), key
    flags = services.review_flags(response, previous)
    assert "new" in flags.values() and "changed" in flags.values()
    for key, reason in flags.items():
        flag = page.locator(f'form[data-question="{key}"] legend .flag')
        expected = "new question: review" if reason == "new" else "criteria changed: review"
        assert flag.inner_text() == expected, key
    assert page.locator("legend .flag").count() == len(flags)
    # Copied answers count apart until a team member confirms them.
    assert page.locator("#overall-count").inner_text() == "0"
    assert page.locator("#carried-count").inner_text() == str(len(copied))

    # The review lists exactly the questions still open, as links, and offers no Confirm.
    left = services.unanswered_questions(response)
    assert left
    page.get_by_role("button", name="Submit").click()
    page.wait_for_url("**/review/")
    in_review = page.locator("#review-unanswered li")
    assert [item.get_attribute("data-question") for item in in_review.all()] == left
    assert page.get_by_role("button", name="Confirm and submit").count() == 0
    for flagged in flags:  # the reworded questions are listed for a look too
        assert page.locator(f'#review-reworded a[href="#r-{flagged}"]').count() == 1
    # …and the questionnaire lists them again, each linking to its question.
    page.locator("#confirm-blocked").get_by_role("link").click()
    page.wait_for_url("**?unanswered#unanswered")
    texts = dict(
        Question.objects.filter(version=open_round.rubric_version).values_list("key", "text_en")
    )
    listed = page.locator("#unanswered li")
    assert listed.count() == len(left)
    for index, key in enumerate(left):
        link = listed.nth(index).get_by_role("link")
        assert (link.inner_text(), link.get_attribute("href")) == (texts[key], f"#q-{key}")
    assert Response.objects.get(pk=response.pk).status == "draft"

    # Answer what is left, area by area from the area list, confirm what was carried over,
    # watching each area's progress.
    for area in [a.get_attribute("data-area-link") for a in page.locator("nav.area-nav a").all()]:
        link = page.locator(f'nav.area-nav a[data-area-link="{area}"]')
        link.click()
        expect(link).to_have_attribute("aria-current", "location")
        section = page.locator(f"section#area-{area}")
        for form in section.locator("form.question").all():
            if form.locator("input[name=value]:checked").count() == 0:
                form.locator('input[name=value][value="1"]').check()
                form.locator(".save-state[data-kind=saved]").wait_for()
        confirm = section.get_by_role("button", name="Confirm all in this area")
        if confirm.count():
            confirm.click()
            page.locator(".messages", has_text="Confirmed").wait_for()
        total = section.locator("form.question").count()
        bar = page.locator(f'progress[data-area-progress="{area}"]')
        assert bar.evaluate("bar => [bar.value, bar.max]") == [total, total]
        assert page.locator(f'[data-area-count="{area}"]').inner_text() == str(total)
        assert link.get_attribute("data-complete") is not None
    assert listed.filter(visible=True).count() == 0  # the list follows the answers
    assert services.unconfirmed_questions(response) == []
    assert services.unanswered_questions(response) == []
    assert Answer.objects.filter(response=response, question__key__in=left, value=1).count() == len(
        left
    )

    page.get_by_role("button", name="Submit").click()
    page.wait_for_url("**/review/")
    assert page.locator("#review-unanswered").count() == 0
    assert "provisional" in page.locator("#provisional-score").inner_text()
    screenshot(page, "review", full_page=False)
    errors_before_confirm = list(errors)
    page.get_by_role("button", name="Confirm and submit").click()
    page.locator(".messages", has_text="Submitted.").wait_for()
    assert errors_before_confirm == []
    response.refresh_from_db()
    assert response.status == "submitted" and response.submitted_by.username == "demo-member"
    assert page.locator("#submitted").inner_text().startswith("Submitted by demo-member on ")
    assert "Read-only" in page.locator("main").inner_text()
    assert page.locator("form.question fieldset:not([disabled])").count() == 0
    assert page.get_by_role("button", name="Submit").count() == 0

    score = ResponseScore.objects.select_related("band", "binding_area").get(response=response)
    assert page.locator('[data-score="overall"]').inner_text() == format_score(score.overall)
    assert page.locator('[data-score="band"]').inner_text() == str(score.band)
    assert page.locator('[data-score="binding"]').inner_text() == str(score.binding_area)
    shown = {
        cell.get_attribute("data-area-score"): cell.inner_text()
        for cell in page.locator("[data-area-score]").all()
    }
    assert set(shown) == set(score.area_scores)
    for key, value in score.area_scores.items():  # e.g. "4.08 / 7 · 1 N/A, rescaled"
        na = score.area_not_applicable[key]
        if value is None:
            assert shown[key] == "N/A"
        else:
            assert shown[key].startswith(f"{format_score(value)} / 7"), shown[key]
            assert shown[key].endswith(f"· {na} N/A, rescaled") == bool(na), shown[key]
    # survey.js runs under the CSP, on the read-only page too (the area list)
    assert errors == []
    page.locator("#score").scroll_into_view_if_needed()
    screenshot(page, "questionnaire-submitted", full_page=False)
