"""The round page: participation and reminders for the MLOps team, results per role."""

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse

from apps.accounts.models import VIEWERS_GROUP
from apps.demo.services import seed_demo
from apps.surveys.models import SurveyRound
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo():
    seed_demo(products=40, rounds=3, seed=2)
    return SurveyRound.objects.order_by("opens_at")


def viewer():
    user = UserFactory(username="viewer")
    user.groups.add(Group.objects.get_or_create(name=VIEWERS_GROUP)[0])
    return user


def test_viewer_sees_participation_reminders_and_every_result(client, demo):
    client.force_login(viewer())
    open_round = demo.last()
    page = client.get(reverse("round", args=[open_round.key]))
    html = page.content.decode()
    assert page.status_code == 200
    assert "Participation by team" in html and "@example.com" in html  # whom to remind
    scored = open_round.responses.filter(status="submitted").count()
    assert len(page.context["results"]) == scored > 0
    assert "results.csv" in html and "answers.csv" in html


def test_results_have_the_change_since_the_previous_round_and_sort(client, demo):
    client.force_login(viewer())
    second = demo[1]
    rows = client.get(reverse("round", args=[second.key]), {"sort": "change"}).context["rows"]
    changes = [row.change for row in rows if row.change is not None]
    assert changes and changes == sorted(changes, reverse=True)
    assert rows[-1].change is None or len(changes) == len(rows)  # products new to it: last
    from apps.scoring.models import ResponseScore

    top = rows[0]
    now, before = (
        ResponseScore.objects.get(round=r, product__slug=top.product).overall
        for r in (second, demo[0])
    )
    assert top.change == now - before
    ascending = client.get(
        reverse("round", args=[second.key]), {"sort": "overall", "dir": "asc"}
    ).context["rows"]
    overall = [row.overall for row in ascending]
    assert overall == sorted(overall)


def test_member_sees_only_their_teams_results_and_no_reminders(client, demo):
    member = UserFactory(username="member")
    first = demo.first()
    team = first.responses.first().product.team
    team.members.add(member)
    client.force_login(member)
    page = client.get(reverse("round", args=[first.key]))
    assert {row.team for row in page.context["rows"]} == {team.name}
    assert "Participation by team" not in page.content.decode()


def test_team_filter_and_unknown_round(client, demo):
    client.force_login(viewer())
    first = demo.first()
    team = first.responses.first().product.team
    rows = client.get(reverse("round", args=[first.key]), {"team": team.slug}).context["rows"]
    assert rows and {row.team for row in rows} == {team.name}
    assert client.get(reverse("round", args=["1999-01"])).status_code == 404


def test_round_page_queries_are_bounded(client, demo, django_assert_max_num_queries):
    client.force_login(viewer())
    with django_assert_max_num_queries(14):
        assert client.get(reverse("round", args=[demo.last().key])).status_code == 200
