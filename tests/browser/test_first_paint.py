"""A fresh visit to /dashboard/ fetches little and draws every chart: static files collected
(hashed names, gzip copies) and sent by WhiteNoise, as the demo and production serve them,
and a custom plotly.js bundle with only the traces drawn (scatter, bar, heatmap: the
vendoring script builds it) instead of the full one."""

import re

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test import Client
from django.test.testcases import LiveServerThread

from apps.demo.services import seed_demo
from apps.products.models import Product
from tests.browser.conftest import watch_for_csp_violations

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

# The old page fetched 4.8 MB (the full plotly.js, uncompressed, from the demo) or 1.5 MB (the
# same, gzipped, from gunicorn); the custom bundle alone is 1.2 MB before compression.
FRESH_VISIT_LIMIT = 800 * 1024
A_YEAR_OR_MORE = 365 * 24 * 3600


@pytest.fixture
def collected_server(settings, tmp_path):
    """The app served from collectstatic's copy by WhiteNoise (STATIC_COLLECTED, as
    scripts/demo runs it), not by the test server's own static files handler."""
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "config.storage.CollectedStaticFilesStorage"},
    }
    settings.STATIC_ROOT = tmp_path / "static"
    settings.WHITENOISE_USE_FINDERS = settings.WHITENOISE_AUTOREFRESH = False
    settings.MEDIA_URL = "/media/"  # the server's media handler leaves every other path alone
    call_command("collectstatic", interactive=False, verbosity=0)
    server = LiveServerThread("127.0.0.1", static_handler=lambda application: application)
    server.daemon = True
    server.start()
    server.is_ready.wait()
    if server.error:
        raise server.error
    yield f"http://127.0.0.1:{server.port}"
    server.terminate()


@pytest.fixture
def fresh_page(collected_server, browser):
    """Open a page in a new browser context (empty cache) holding only a user's session
    cookie; the contexts are closed before the server stops."""
    contexts = []

    def open_page(username: str):
        client = Client()
        client.force_login(get_user_model().objects.get(username=username))
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        context.add_cookies(
            [
                {
                    "name": "sessionid",
                    "value": client.cookies["sessionid"].value,
                    "url": collected_server,
                }
            ]
        )
        contexts.append(context)
        return context.new_page()

    yield open_page
    for context in contexts:
        context.close()


def test_a_fresh_dashboard_visit_fetches_compressed_hashed_files(collected_server, fresh_page):
    seed_demo(products=60, rounds=6, seed=4)
    page = fresh_page("demo-viewer")
    finished = []
    page.on("requestfinished", lambda request: finished.append(request))
    blocked = watch_for_csp_violations(page)
    page.goto(f"{collected_server}/dashboard/", wait_until="load")
    page.wait_for_selector("#chart-questions .main-svg")
    assert page.locator(".chart").count() == 6  # trends, bands, areas, binding, N/A, questions
    page.wait_for_function("document.querySelectorAll('.chart .main-svg').length >= 6")
    # Every kind of trace the dashboards draw, drawn by the custom bundle.
    for trace in (".scatterlayer .trace", ".barlayer .trace", ".hm"):
        assert page.locator(f".chart {trace}").count() >= 1, trace
    # The charts with a one-row legend start from the margins where plotly's automargin
    # settles, so each is drawn once: a redraw with grown margins would leave them different.
    kept_margins = page.evaluate(
        """() => Object.fromEntries([...document.querySelectorAll(".chart")].map((chart) => [
            chart.id,
            ["l", "r", "t", "b"].every((side) =>
                Math.round(chart._fullLayout._size[side]) === chart.layout.margin[side]),
        ]))"""
    )
    assert kept_margins == {
        "chart-overall": True,
        "chart-areas": True,
        "chart-binding": True,
        "chart-na": True,
        "chart-bands": False,  # six bands in the legend, on several rows
        "chart-questions": False,  # the colour bar on the right
    }

    transferred = sum(
        sizes["responseBodySize"] + sizes["responseHeadersSize"]
        for sizes in (request.sizes() for request in finished)
    )
    assert 100 * 1024 < transferred < FRESH_VISIT_LIMIT, transferred
    static = [r for r in finished if "/static/" in r.url]
    assert {re.sub(r"\.[0-9a-f]{12}\.", ".", r.url.rsplit("/", 1)[1]) for r in static} == {
        "app.css",
        "plotly-custom.min.js",
        "charts.js",
    }
    for request in static:
        headers = request.response().all_headers()
        max_age = int(re.search(r"max-age=(\d+)", headers["cache-control"])[1])
        assert max_age >= A_YEAR_OR_MORE and "immutable" in headers["cache-control"]
        assert headers.get("content-encoding") == "gzip", request.url
    assert not blocked, blocked


def test_the_product_page_draws_its_charts_with_the_custom_bundle(collected_server, fresh_page):
    seed_demo(products=20, rounds=4, seed=4)
    page = fresh_page("demo-viewer")
    blocked = watch_for_csp_violations(page)
    product = Product.objects.order_by("slug").first()
    page.goto(f"{collected_server}/products/{product.slug}/")
    charts = page.locator(".chart")
    assert charts.count() >= 1
    page.wait_for_function(
        "document.querySelectorAll('.chart .main-svg').length >= "
        "document.querySelectorAll('.chart').length"
    )
    assert page.locator(".chart .scatterlayer .trace, .chart .barlayer .trace").count() >= 1
    assert not blocked, blocked
