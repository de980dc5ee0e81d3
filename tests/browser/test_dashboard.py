"""The overview's charts really render in Chromium (plotly.js from our own static files)."""

import pytest

from apps.surveys.demo import seed_demo
from tests.browser.conftest import log_in, screenshot

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def test_overview_charts_render_in_chromium(live_server, browser):
    seed_demo(products=60, rounds=6, seed=4)
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    failed = []
    page.on("requestfailed", lambda request: failed.append(request.url))
    log_in(page, live_server, "demo-viewer")
    page.goto(f"{live_server.url}/dashboard/")
    page.wait_for_selector("#chart-bands .main-svg")
    charts = page.locator(".chart .main-svg")
    assert page.locator(".chart").count() == 4
    assert charts.count() >= 4
    # The overall chart has both panels' medians and the target line's label.
    assert page.locator("#chart-overall").get_by_text("target 2.0").count() >= 1
    assert page.locator("#chart-overall").get_by_text("Continuous cohort").count() == 1
    assert not failed, failed
    screenshot(page, "dashboard")
