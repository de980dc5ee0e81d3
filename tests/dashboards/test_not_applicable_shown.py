"""Each area's N/A count and maximum beside its score, with the rubric's N/A rule, on the
round's results table and the product page (from the stored score rows)."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse
from django.utils import timezone

from apps.accounts.models import VIEWERS_GROUP
from apps.scoring import scores
from apps.scoring.models import ResponseScore
from tests.factories import (
    ProductFactory,
    ResponseFactory,
    SurveyRoundFactory,
    UserFactory,
    answer_all,
    make_version,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def scored(client):
    now = timezone.now()
    survey_round = SurveyRoundFactory(
        key="2030-01",
        rubric_version=make_version(),
        state="closed",
        opens_at=now - timedelta(days=40),
        closes_at=now - timedelta(days=10),
    )
    product = ProductFactory(slug="ranker")
    answer_all(
        ResponseFactory(round=survey_round, product=product),
        {"data-schema": 1, "data-features": "na", "monitoring-staleness": 0.5},
    )
    scores.score_round(round_id=survey_round.pk)
    user = UserFactory(username="viewer")
    user.groups.add(Group.objects.get_or_create(name=VIEWERS_GROUP)[0])
    client.force_login(user)
    return survey_round


def test_scoring_stores_each_areas_na_count(scored):
    row = ResponseScore.objects.get()
    assert row.area_not_applicable == {"data": 1, "monitoring": 0}


def test_round_results_show_na_count_and_maximum(client, scored):
    html = client.get(reverse("round", args=["2030-01"])).content.decode()
    assert '<td class="num" data-area="data">2.00 / 2 · 1 N/A, rescaled</td>' in html
    assert '<td class="num" data-area="monitoring">0.50 / 1</td>' in html
    assert "the area&#x27;s sum is scaled up to all its questions" in html


def test_product_page_shows_the_latest_scores_with_na(client, scored):
    html = client.get(reverse("product", args=["ranker"])).content.decode()
    assert '<td class="num" data-area-score="data">2.00 / 2 · 1 N/A, rescaled</td>' in html
    assert '<td class="num" data-score="overall"><strong>0.50</strong></td>' in html
    assert "the area&#x27;s sum is scaled up to all its questions" in html


def test_in_japanese(client, scored):
    html = client.get(
        reverse("round", args=["2030-01"]), HTTP_ACCEPT_LANGUAGE="ja"
    ).content.decode()
    assert "2.00 / 2 · N/A 1 問、換算済み" in html
