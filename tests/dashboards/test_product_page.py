"""The product page: history against the organisation, answer changes, next steps."""

import copy
from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from apps.accounts.models import VIEWERS_GROUP
from apps.dashboards import figures
from apps.dashboards.selectors import AnswerChange, ProductRound
from apps.products.models import Characteristic
from apps.scoring import scores
from apps.scoring.next_steps import next_steps
from tests.dashboards.plotted import plotted
from tests.factories import (
    SMALL_RUBRIC,
    ProductFactory,
    ResponseFactory,
    SurveyRoundFactory,
    UserFactory,
    answer_all,
    make_version,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def product():
    version = make_version()
    now = timezone.now()
    first = SurveyRoundFactory(
        key="2030-01",
        rubric_version=version,
        state="closed",
        opens_at=now - timedelta(days=200),
        closes_at=now - timedelta(days=170),
    )
    second = SurveyRoundFactory(
        key="2030-07",
        rubric_version=version,
        state="closed",
        opens_at=now - timedelta(days=20),
        closes_at=now - timedelta(days=1),
    )
    product = ProductFactory(slug="ranker")
    answer_all(
        ResponseFactory(round=first, product=product),
        {"data-schema": 0, "data-features": 0, "monitoring-staleness": 0},
    )
    answer_all(
        ResponseFactory(round=second, product=product),
        {"data-schema": 0.5, "data-features": 0, "monitoring-staleness": 1},
    )
    answer_all(
        ResponseFactory(round=second, product=ProductFactory()),
        {"data-schema": 1, "data-features": 1, "monitoring-staleness": 1},
    )
    scores.score_all()
    return product


def test_next_steps_rank_the_binding_areas_questions_by_lift(product):
    latest = product.responses.get(round__key="2030-07")
    steps = next_steps(latest)
    # Binding area: data (0.5 + 0 = 0.5 < monitoring 1). Raising data-features to 1 → data 1.5,
    # overall min(1.5, 1) = 1: +0.5; raising data-schema to 1 → data 1, overall 1: +0.5.
    assert [(s.question_key, s.current, s.lift) for s in steps] == [
        ("data-schema", Decimal("0.5"), Decimal("0.5")),
        ("data-features", Decimal(0), Decimal("0.5")),
    ]


def test_team_member_sees_history_changes_and_steps(client, product):
    member = UserFactory(username="member")
    product.team.members.add(member)
    client.force_login(member)
    page = client.get(reverse("product", args=["ranker"]))
    html = page.content.decode()
    assert page.status_code == 200
    assert [h.round for h in page.context["history"]] == ["2030-01", "2030-07"]
    assert page.context["history"][1].org_median == Decimal("0.75")  # median of 0.5 and 1
    assert "Next steps" in html and "What changed from 2030-01 to 2030-07" in html
    assert AnswerChange("Is there a schema?", "0", "0.5") in page.context["changes"]


def test_the_page_costs_the_same_queries_however_long_the_history(client, product):
    """History, figures, latest score, changes and next steps in a fixed number of queries:
    a third scored round (and its answers) adds none."""
    member = UserFactory(username="member")
    product.team.members.add(member)
    client.force_login(member)
    url = reverse("product", args=["ranker"])
    client.get(url)  # the session and the user, as on any later visit
    with CaptureQueriesContext(connection) as before:
        assert client.get(url).status_code == 200
    third = SurveyRoundFactory(
        key="2031-01",
        rubric_version=product.responses.first().round.rubric_version,
        state="closed",
        opens_at=timezone.now() - timedelta(hours=10),
        closes_at=timezone.now() - timedelta(hours=1),
    )
    answer_all(
        ResponseFactory(round=third, product=product),
        {"data-schema": 1, "data-features": 0, "monitoring-staleness": 0.5},
    )
    scores.score_all()
    with CaptureQueriesContext(connection) as after:
        page = client.get(url)
    assert [h.round for h in page.context["history"]] == ["2030-01", "2030-07", "2031-01"]
    assert page.context["changes"] and page.context["steps"]  # the work is all there
    assert len(after) == len(before) == PRODUCT_PAGE_QUERIES, [q["sql"] for q in after]


# session, user, product, roles, team membership; scores, organisation's; two responses;
# next steps (questions, version, tallies, characteristics, answers); the answers of both
# responses. A published version's areas with their maxima, and its shape (areas and bands),
# are remembered after the first request.
PRODUCT_PAGE_QUERIES = 14


@pytest.mark.parametrize(("role", "status"), [("outsider", 404), ("viewer", 200)])
def test_others_and_viewers(client, product, role, status):
    user = UserFactory(username=role)
    if role == "viewer":
        user.groups.add(Group.objects.get_or_create(name=VIEWERS_GROUP)[0])
    client.force_login(user)
    assert client.get(reverse("product", args=["ranker"])).status_code == status


def test_product_figures_from_known_points():
    history = [
        ProductRound(
            "2030-01", Decimal(0), {"data": Decimal(0)}, Decimal("0.5"), {"data": Decimal(1)}
        ),
        ProductRound(
            "2030-07", Decimal(1), {"data": Decimal("1.5")}, Decimal("0.75"), {"data": Decimal(2)}
        ),
    ]
    figure = plotted(figures.product_history(history, "Ranker"))
    assert [list(t.y) for t in figure.data] == [[0.0, 1.0], [0.5, 0.75]]
    profile = plotted(figures.area_profile(history[-1], [figures.AreaTitle("data", "Data")]))
    assert [list(t.y) for t in profile.data] == [[1.5], [2.0]]


def test_next_steps_put_first_what_the_products_use_case_needs(client):
    areas = copy.deepcopy(SMALL_RUBRIC["areas"])
    features = next(q for a in areas for q in a["questions"] if q["key"] == "data-features")
    features["capabilities"] = ["feature-repository", "data-processing"]
    version = make_version(areas=areas)
    survey_round = SurveyRoundFactory(key="2030-01", rubric_version=version, state="closed")
    product = ProductFactory(slug="recommender")
    response = answer_all(
        ResponseFactory(round=survey_round, product=product),
        {"data-schema": 0.5, "data-features": 0, "monitoring-staleness": 1},
    )
    scores.score_all()
    # Both lift the overall score by 0.5: without a use case, rubric order decides.
    assert [s.question_key for s in next_steps(response)] == ["data-schema", "data-features"]
    online = Characteristic.objects.get(key="online-serving")  # recommends a feature repository
    product.characteristics.add(online, Characteristic.objects.get(key="batch-serving"))
    steps = next_steps(response)
    assert [s.question_key for s in steps] == ["data-features", "data-schema"]
    assert [c.key for c in steps[0].recommended_for] == ["batch-serving", "online-serving"]
    assert steps[1].recommended_for == ()
    client.force_login(UserFactory(username="admin", is_staff=True, is_superuser=True))
    page = client.get(reverse("product", args=["recommender"])).content.decode()
    assert "recommended for Batch serving, Online serving" in " ".join(page.split())
