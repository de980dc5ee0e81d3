"""Small groups on the dashboard (k-anonymity): a member filtering down to a few products of
other teams sees no numbers for them; their own products and groups of at least
DASHBOARD_MIN_GROUP other products are shown; viewers see everything."""

import json
import re
from datetime import timedelta

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from apps.accounts.models import VIEWERS_GROUP, Team
from apps.products.models import Characteristic, Product
from apps.scoring import scores
from apps.scoring.scores import score_all
from apps.surveys.models import SurveyRound
from tests.factories import (
    ProductFactory,
    ResponseFactory,
    SurveyRoundFactory,
    TeamFactory,
    UserFactory,
    answer_all,
    make_version,
)

pytestmark = pytest.mark.django_db
MINE = {"data-schema": 1, "data-features": 1, "monitoring-staleness": 1}  # overall 1
LONE = {"data-schema": 0.5, "data-features": 0, "monitoring-staleness": 0.5}  # overall 0.5
BIG = {"data-schema": 1, "data-features": "na", "monitoring-staleness": 0}  # overall 0
HIDDEN_NOTE = "points hidden: each rests on fewer than 5 products outside your teams"


@pytest.fixture
def org():
    """One closed round: our product, a lone product of another team, and a team of five."""
    closed = SurveyRoundFactory(key="2021-10", rubric_version=make_version(), state="closed")
    ours, theirs, big = (TeamFactory(slug=slug) for slug in ("ours", "theirs", "big"))
    mine = ProductFactory(slug="mine", team=ours)
    lone = ProductFactory(slug="lone", team=theirs)
    answer_all(ResponseFactory(round=closed, product=mine), MINE)
    answer_all(ResponseFactory(round=closed, product=lone), LONE)
    for _ in range(5):
        answer_all(ResponseFactory(round=closed, product=ProductFactory(team=big)), BIG)
    scores.score_round(round_id=closed.pk)
    member = UserFactory(username="member")
    ours.members.add(member)
    viewer = UserFactory(username="viewer")
    viewer.groups.add(Group.objects.get_or_create(name=VIEWERS_GROUP)[0])
    return {"member": member, "viewer": viewer, "mine": mine, "lone": lone}


def figures_of(page) -> dict[str, dict]:
    html = page.content.decode()
    found = re.findall(r'<script id="([a-z]+)" type="application/json">(.*?)</script>', html)
    return {name: json.loads(text) for name, text in found}


def numbers_in(figure: dict) -> list:
    """Every number the figure plots (y, z, the heatmap buttons' z) or shows on hover
    (customdata; a heatmap's holds answered and N/A counts, 0 in hidden cells)."""
    arrays = []
    for trace in figure["data"]:
        arrays += [trace.get("y"), trace.get("z")]
        if trace["type"] != "heatmap":
            arrays.append(trace.get("customdata"))
        else:
            assert not any(_flat(row[2:] for row in _flat_cells(trace["customdata"])))
    for menu in figure["layout"].get("updatemenus", []):
        arrays += [button["args"][0]["z"] for button in menu["buttons"]]
    return [v for v in _flat(a or [] for a in arrays) if isinstance(v, int | float)]


def _flat_cells(rows):
    return (cell for row in rows for cell in row)


def _flat(values):
    for value in values:
        if isinstance(value, list):
            yield from _flat(value)
        else:
            yield value


def medians(page) -> list[dict]:
    return [t for t in figures_of(page)["overall"]["data"] if t["name"] == "Median"]


def overview(client, user, **filters):
    client.force_login(user)
    page = client.get(reverse("dashboard"), filters)
    assert page.status_code == 200
    return page


def test_member_filtering_to_a_lone_product_of_another_team_sees_no_numbers(client, org):
    page = overview(client, org["member"], team="theirs")
    shown = figures_of(page)
    assert set(shown) == {"overall", "areas", "binding", "bands"}
    for name, figure in shown.items():
        assert numbers_in(figure) == [], name
    assert [t["text"] for t in medians(page)] == [["hidden"], ["hidden"]]
    assert f"2 {HIDDEN_NOTE}" in page.content.decode()


def test_member_sees_their_own_products_numbers(client, org):
    page = overview(client, org["member"], team="ours")
    assert [t["y"] for t in medians(page)] == [[1.0], [1.0]]
    assert "points hidden" not in page.content.decode()


def test_viewer_sees_a_lone_product_of_any_team(client, org):
    page = overview(client, org["viewer"], team="theirs")
    assert [t["y"] for t in medians(page)] == [[0.5], [0.5]]
    assert "points hidden" not in page.content.decode()


def test_a_group_of_enough_products_outside_the_members_teams_is_shown(client, org):
    page = overview(client, org["member"], team="big")
    assert [t["y"] for t in medians(page)] == [[0.0], [0.0]]
    assert [t["text"] for t in medians(page)] == [["n=5"], ["n=5"]]
    bands = figures_of(page)["bands"]["data"]
    assert sum(t["y"][0] for t in bands) == 5


def test_own_products_do_not_make_up_for_too_few_others(client, org):
    serving = Characteristic.objects.get(key="online-serving")
    for product in (org["mine"], org["lone"]):
        product.characteristics.add(serving)
    page = overview(client, org["member"], characteristic="online-serving")
    assert [t["y"] for t in medians(page)] == [[None], [None]]  # n=2: one of them not theirs
    page = overview(client, org["viewer"], characteristic="online-serving")
    assert [t["y"] for t in medians(page)] == [[0.75], [0.75]]


def test_cached_views_are_not_shared_between_users_who_may_see_different_points(client, org):
    assert medians(overview(client, org["viewer"], team="theirs"))[0]["y"] == [0.5]
    assert medians(overview(client, org["member"], team="theirs"))[0]["y"] == [None]
    assert medians(overview(client, org["viewer"], team="theirs"))[0]["y"] == [0.5]
    # The other way round: the member's view is built and cached first.
    assert medians(overview(client, org["member"], team="big", rubric="tiny"))[0]["y"] == [0.0]
    assert medians(overview(client, org["member"], team="ours", rubric="tiny"))[0]["y"] == [1.0]
    assert medians(overview(client, org["member"], team="theirs", rubric="tiny"))[0]["y"] == [None]
    assert medians(overview(client, org["viewer"], team="theirs", rubric="tiny"))[0]["y"] == [0.5]


def test_the_whole_organisation_hides_its_small_points_heatmap_included(client, org, settings):
    """Unfiltered, with a threshold above a round's others: that round's points (and heatmap
    column) are hidden from a member, a larger round's are shown; a viewer sees them all."""
    first = SurveyRound.objects.get(key="2021-10")
    later = SurveyRoundFactory(
        key="2022-04",
        rubric_version=first.rubric_version,
        state="closed",
        opens_at=first.opens_at + timedelta(days=180),
    )
    for product in Product.objects.all():
        answer_all(ResponseFactory(round=later, product=product), BIG)
    for _ in range(5):  # 11 others in the later round, 6 (all in the cohort) in the first
        answer_all(ResponseFactory(round=later, product=ProductFactory()), BIG)
    score_all()
    settings.DASHBOARD_MIN_GROUP = 7
    page = overview(client, org["member"])
    assert "3 points hidden: each rests on fewer than 7 products" in page.content.decode()
    assert [t["y"] for t in medians(page)] == [[None, 0.0], [None, None]]
    heatmap = figures_of(page)["questions"]
    z_all, z_cohort = (
        button["args"][0]["z"][0] for button in heatmap["layout"]["updatemenus"][0]["buttons"]
    )
    assert [row[0] for row in z_all] == [None] * 3
    assert [row[1] is not None for row in z_all] == [True, False, True]  # all N/A: none
    assert all(value is None for row in z_cohort for value in row)
    viewed = overview(client, org["viewer"])
    assert [t["y"] for t in medians(viewed)] == [[0.0, 0.0], [0.0, 0.0]]
    settings.DASHBOARD_MIN_GROUP = 6  # now 6 others are enough
    assert [t["y"] for t in medians(overview(client, org["member"]))] == [[0.0, 0.0]] * 2


def test_the_note_speaks_japanese(client, org):
    client.force_login(org["member"])
    client.post(reverse("set_language"), {"language": "ja", "next": "/"})
    html = client.get(reverse("dashboard"), {"team": "theirs"}).content.decode()
    assert "2 点を非表示にしています" in html


def test_a_members_counts_are_read_from_the_cache_on_the_next_visit(client, org):
    """The scores of the products a member may read are counted once per aggregates' stamp
    and set of products, not on every visit."""
    overview(client, org["member"], team="theirs")
    with CaptureQueriesContext(connection) as queries:
        page = overview(client, org["member"], team="theirs")
    assert [t["text"] for t in medians(page)] == [["hidden"], ["hidden"]]
    assert not [q for q in queries if "scoring_responsescore" in q["sql"]]


def test_a_member_joining_or_leaving_a_team_sees_its_points_at_once(client, org):
    theirs = Team.objects.get(slug="theirs")
    assert medians(overview(client, org["member"], team="theirs"))[0]["y"] == [None]
    theirs.members.add(org["member"])
    assert medians(overview(client, org["member"], team="theirs"))[0]["y"] == [0.5]
    theirs.members.remove(org["member"])
    assert medians(overview(client, org["member"], team="theirs"))[0]["y"] == [None]


def test_a_product_moving_into_the_members_team_hides_the_points_at_once(client, org, settings):
    """Unfiltered, six products outside the member's team: just enough (threshold 6). Once one
    of them moves into the team, five are left and the points hide, though no score changed."""
    settings.DASHBOARD_MIN_GROUP = 6
    assert [t["y"] for t in medians(overview(client, org["member"]))] == [[0.0], [0.0]]
    Product.objects.filter(pk=org["lone"].pk).update(team=org["mine"].team)
    assert [t["y"] for t in medians(overview(client, org["member"]))] == [[None], [None]]
