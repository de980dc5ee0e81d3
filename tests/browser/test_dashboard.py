"""The overview's charts really render in Chromium (plotly.js from our own static files)."""

import json

import pytest

from apps.demo.services import seed_demo
from tests.browser.conftest import log_in, screenshot, watch_for_csp_violations

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def test_overview_charts_render_in_chromium(live_server, browser):
    seed_demo(products=60, rounds=6, seed=4)
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    failed = []
    page.on("requestfailed", lambda request: failed.append(request.url))
    blocked = watch_for_csp_violations(page)
    log_in(page, live_server, "demo-viewer")
    page.goto(f"{live_server.url}/dashboard/")
    page.wait_for_selector("#chart-questions .main-svg")
    charts = page.locator(".chart .main-svg")
    assert page.locator(".chart").count() == 6
    assert charts.count() >= 6
    # The overall chart has both panels' medians and the target line, named in the legend as
    # the bands count it (a score of exactly 2.0 is in the band below the target).
    assert page.locator("#chart-overall").get_by_text("Company target: above 2").count() == 1
    assert (
        page.locator("#chart-overall").get_by_text("Continuous cohort since 2021-10").count() == 1
    )
    assert page.locator("#chart-na .main-svg").count() >= 1  # N/A shares per area
    assert page.locator("#churn tbody tr").count() == 5
    assert not failed, failed
    screenshot(page, "dashboard")
    # The question heatmap: a cell per question and round, and the cohort button switches it.
    heatmap = page.locator("#chart-questions")
    assert heatmap.locator(".hm").count() == 1
    cells = "JSON.stringify(document.getElementById('chart-questions').data[0].z)"
    everyone = json.loads(page.evaluate(cells))
    assert len(everyone) > 28 and len(everyone[0]) == 6  # v1 and v2 questions × 6 rounds
    heatmap.get_by_text("Continuous cohort").click()
    page.wait_for_function(f"{cells} !== {json.dumps(json.dumps(everyone))}")
    cohort = json.loads(page.evaluate(cells))
    assert len(cohort) == len(everyone) and cohort != everyone
    assert not blocked, blocked  # plotly.js and charts.js run under the CSP
    heatmap.scroll_into_view_if_needed()
    # A cell's hover label names its question in bold (plotly.js writes a style attribute
    # for the <b>, which the policy allows by its hash).
    cell = heatmap.locator(".nsewdrag").first.bounding_box()
    page.mouse.move(cell["x"] + cell["width"] * 0.3, cell["y"] + cell["height"] * 0.3)
    bold = page.locator(".hoverlayer .hovertext tspan[style='font-weight:bold']")
    bold.wait_for()
    assert bold.evaluate("(node) => getComputedStyle(node).fontWeight") == "700"
    assert not blocked, blocked
    screenshot(page, "dashboard-questions", full_page=False)


def test_the_cohort_start_is_chosen_with_the_keyboard(live_server, browser):
    seed_demo(products=30, rounds=5, seed=4)
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    blocked = watch_for_csp_violations(page)
    log_in(page, live_server, "demo-viewer")
    page.goto(f"{live_server.url}/dashboard/")
    page.wait_for_selector("#chart-overall .main-svg")
    page.get_by_label("Cohort from").focus()
    page.keyboard.press("ArrowDown")  # the second start round
    page.get_by_role("button", name="Show").focus()
    page.keyboard.press("Enter")
    page.wait_for_url("**cohort_from=2022-04**")
    page.wait_for_selector("#chart-overall .main-svg")
    overall = page.locator("#chart-overall")
    assert overall.get_by_text("Continuous cohort since 2022-04").count() == 1
    assert page.get_by_label("Cohort from").input_value() == "2022-04"
    assert not blocked, blocked


def test_like_for_like_is_toggled_with_the_keyboard(live_server, browser):
    seed_demo(products=30, rounds=5, seed=4)
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    blocked = watch_for_csp_violations(page)
    log_in(page, live_server, "demo-viewer")
    page.goto(f"{live_server.url}/dashboard/")
    page.wait_for_selector("#chart-overall .main-svg")
    toggle = page.get_by_label("Like-for-like across versions")
    toggle.focus()
    page.keyboard.press("Space")
    assert toggle.is_checked()
    page.keyboard.press("Enter")  # submits the form, as any field of it does
    page.wait_for_url("**like_for_like=1**")
    page.wait_for_selector("#chart-questions .main-svg")
    assert page.get_by_label("Like-for-like across versions").is_checked()
    note = page.locator("#like-for-like-note")
    assert "16 questions common" in note.inner_text()
    assert "Left out of v1:" in note.inner_text()
    rows = "JSON.stringify(document.getElementById('chart-questions').data[0].y)"
    assert len(json.loads(page.evaluate(rows))) == 16  # the common questions only
    assert not blocked, blocked
