"""Carried-over answers and N/A reasons in Chromium: prefill marks every copied answer,
"Confirm all in this area" confirms one area, a submit with answers still unconfirmed is
refused with their list; an N/A without a reason is refused on the reason field itself."""

import pytest

from apps.demo.services import seed_demo
from apps.products.models import Product
from apps.surveys import services
from apps.surveys.models import Answer, Response, SurveyRound
from tests.browser.conftest import log_in, screenshot, watch_for_csp_violations

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def product_to_prefill() -> tuple[SurveyRound, Product]:
    """demo-member's product not started in the open round, submitted in the one before (the
    same rubric version: no question is flagged for review)."""
    seed_demo(products=20, rounds=2, seed=6)
    open_round = SurveyRound.objects.get(state="open")
    product = (
        Product.objects.filter(team__members__username="demo-member", responses__status="submitted")
        .exclude(
            pk__in=Response.objects.filter(round=open_round, status="submitted").values(
                "product_id"
            )
        )
        .order_by("slug")
        .first()
    )
    assert product is not None, "the demo seed should have such a product"
    Response.objects.filter(round=open_round, product=product).delete()  # start afresh
    return open_round, product


def test_prefill_confirm_an_area_submit_refused_and_na_needs_a_reason(live_server, browser):
    open_round, product = product_to_prefill()
    page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    errors = watch_for_csp_violations(page)
    log_in(page, live_server, "demo-member")
    page.goto(f"{live_server.url}/assess/{open_round.key}/{product.slug}/")
    page.get_by_role("button", name="Prefill from the previous round").click()
    response = Response.objects.get(round=open_round, product=product)
    previous = services.previous_response(response)
    copied = response.answers.count()
    message = f"Copied {copied} answers from {previous.round.key}; none needs review."
    page.locator(".messages", has_text=message).wait_for()

    # Every copied answer is marked and counted apart; none counts as answered yet.
    assert page.locator("form.question[data-carried]").count() == copied
    assert page.locator("[data-carried-mark]").count() == copied
    assert page.locator("#overall-count").inner_text() == "0"
    assert page.locator("#carried-count").inner_text() == str(copied)
    first = page.locator("section.area").first
    area = first.get_attribute("data-area")
    in_area = first.locator("form.question[data-carried]").count()
    assert in_area > 0
    assert first.locator(".previous-answer").count() == first.locator("form.question").count()
    screenshot(page, "questionnaire-carried-over", full_page=False)

    # Confirm all in the first area: its marks go, the others stay.
    first.get_by_role("button", name="Confirm all in this area").click()
    page.locator(".messages", has_text=f"Confirmed {in_area} carried-over answers.").wait_for()
    assert page.locator(f"section#area-{area} form.question[data-carried]").count() == 0
    assert page.locator("form.question[data-carried]").count() == copied - in_area
    assert page.locator("#overall-count").inner_text() == str(in_area)
    assert page.locator(f'[data-area-count="{area}"]').inner_text() == str(in_area)
    left = services.unconfirmed_questions(response)
    assert len(left) == copied - in_area > 0

    # The review lists them and offers no Confirm; its link lists each unconfirmed answer as
    # a link on the questionnaire; nothing changes.
    page.get_by_role("button", name="Submit").click()
    page.wait_for_url("**/review/")
    assert page.locator("#review-unconfirmed li").count() == len(left)
    assert page.locator("#confirm-form").count() == 0
    page.locator("#confirm-blocked").get_by_role("link").click()
    page.wait_for_url("**?unanswered#unconfirmed")
    listed = page.locator("#unconfirmed li")
    assert listed.count() == len(left)
    hrefs = [item.get_by_role("link").get_attribute("href") for item in listed.all()]
    assert hrefs == [f"#q-{key}" for key in left]
    assert Response.objects.get(pk=response.pk).status == "draft"

    # N/A without a reason: refused, the error on the reason field, the answer unchanged.
    na_key = next(
        key
        for key, na_allowed, not_applicable in response.answers.values_list(
            "question__key", "question__na_allowed", "not_applicable"
        )
        if na_allowed and not not_applicable and key in left
    )
    stored = Answer.objects.get(response=response, question__key=na_key)
    form = page.locator(f'form[data-question="{na_key}"]')
    reason = form.locator("textarea[name=not_applicable_reason]")
    assert not reason.is_visible()  # asked only while N/A is chosen
    form.locator('input[name=value][value="na"]').check()
    assert reason.is_visible() and reason.input_value() == ""
    error = form.locator('[data-field-error="not_applicable_reason"]')
    error.get_by_text("does not apply to this product").wait_for()
    assert reason.get_attribute("aria-invalid") == "true"
    assert form.locator(".save-state").get_attribute("data-kind") == "error"
    assert form.get_attribute("data-carried") is not None  # still unconfirmed
    now = Answer.objects.get(pk=stored.pk)
    assert (now.revision, now.not_applicable, now.carried_over_from_id) == (
        stored.revision,
        False,
        previous.round_id,
    )

    # With a reason it saves, and the save confirms the answer (its list entry goes).
    reason.fill("Batch-only product: nothing is served online.")
    form.locator(".save-state[data-kind=saved]").wait_for()
    assert error.inner_text() == "" and reason.get_attribute("aria-invalid") is None
    assert form.get_attribute("data-carried") is None
    assert page.locator(f'#unconfirmed li[data-unconfirmed="{na_key}"]').is_hidden()
    now = Answer.objects.get(pk=stored.pk)
    assert (now.not_applicable, now.not_applicable_reason, now.carried_over_from_id) == (
        True,
        "Batch-only product: nothing is served online.",
        None,
    )
    assert page.locator("#carried-count").inner_text() == str(len(left) - 1)
    assert errors == []
