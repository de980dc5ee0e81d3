"""Every product name leads to its page: home, the questionnaire, the round page."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from apps.scoring import scores
from tests.factories import (
    ProductFactory,
    ResponseFactory,
    SurveyRoundFactory,
    UserFactory,
    answer_all,
    make_version,
)

pytestmark = pytest.mark.django_db

DONE = {"data-schema": 1, "data-features": 0.5, "monitoring-staleness": 1}


@pytest.fixture
def setup():
    version = make_version()
    now = timezone.now()
    closed = SurveyRoundFactory(
        key="2030-07",
        rubric_version=version,
        state="closed",
        opens_at=now - timedelta(days=200),
        closes_at=now - timedelta(days=170),
    )
    opened = SurveyRoundFactory(key="2031-01", rubric_version=version, state="open")
    product = ProductFactory(name="需要予測", slug="product-1")
    laggard = ProductFactory(name="Ranker", slug="ranker", team=product.team)
    answer_all(ResponseFactory(round=closed, product=product), DONE)
    answer_all(ResponseFactory(round=opened, product=product), DONE)
    scores.score_all()
    member = UserFactory(username="member")
    product.team.members.add(member)
    return {"product": product, "laggard": laggard, "open": opened, "member": member}


def link(slug: str, text: str) -> str:
    return f'<a href="{reverse("product", args=[slug])}">{text}</a>'


def test_home_links_products_to_their_pages(client, setup):
    client.force_login(setup["member"])
    html = client.get(reverse("home")).content.decode()
    assert link("ranker", "Ranker") in html  # an open assessment
    assert html.count(link("product-1", "需要予測")) == 2  # an open assessment and a past score
    assert reverse("questionnaire", args=["2030-07", "product-1"]) in html  # the past round


def test_questionnaire_header_links_to_the_product_page(client, setup):
    client.force_login(setup["member"])
    page = client.get(reverse("questionnaire", args=["2031-01", "ranker"]))
    assert f"<h1>{link('ranker', 'Ranker')}" in page.content.decode()


def test_round_page_tables_link_to_product_pages(client, setup):
    client.force_login(setup["member"])
    html = client.get(reverse("round", args=["2031-01"])).content.decode()
    laggards, results = html.split('id="laggards"')[1].split('id="results"')
    assert link("ranker", "Ranker") in laggards
    assert link("product-1", "需要予測") in results
