"""The product catalogue in Chromium: found from the header, searched in Japanese with the
keyboard, sparklines drawn, a product opened; nothing blocked by the CSP."""

import re

import pytest

from apps.demo.services import seed_demo
from apps.products.models import Product
from tests.browser.conftest import log_in, screenshot, watch_for_csp_violations

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def test_member_finds_a_product_by_its_japanese_name_and_opens_it(live_server, browser):
    seed_demo(products=60, rounds=4, seed=4)
    japanese = next(
        p
        for p in Product.objects.filter(team__members__username="demo-member").order_by("pk")
        if re.search(r"[\u3040-\u30ff\u4e00-\u9fff]", p.name)
    )
    word = japanese.name.split()[0][:2]
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    blocked = watch_for_csp_violations(page)
    log_in(page, live_server, "demo-member")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Products").click()
    page.wait_for_url(f"{live_server.url}/products/")
    rows = page.locator("#catalogue tbody tr[data-product]")
    assert rows.count() == Product.objects.filter(team__members__username="demo-member").count()
    sparkline = page.locator("#catalogue svg.sparkline").first
    box = sparkline.bounding_box()
    assert box and box["width"] == 96 and box["height"] == 24
    assert sparkline.locator("circle").count() >= 1
    screenshot(page, "catalogue", full_page=False)

    search = page.get_by_label("Name or slug")
    search.focus()
    page.keyboard.type(word)
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/products/\?q="))
    found = [rows.nth(i).get_attribute("data-product") for i in range(rows.count())]
    assert japanese.slug in found
    assert all(word in p.name or word in p.slug for p in Product.objects.filter(slug__in=found))

    page.locator(f'#catalogue tr[data-product="{japanese.slug}"] a').first.click()
    page.wait_for_url(f"{live_server.url}/products/{japanese.slug}/")
    assert page.locator("h1").inner_text().startswith(japanese.name)
    assert not blocked, blocked
