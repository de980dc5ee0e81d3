"""The dashboard's like-for-like toggle (?like_for_like=1): every round scored on the questions
common to the demo rubric's v1 and v2, read from stored aggregates, for every role, with the
questions left out named; bad values and unsupported combinations are 400s."""

import pytest
from django.contrib.auth.models import Group
from django.core.cache import cache
from django.urls import reverse
from django.utils import translation

from apps.accounts.models import VIEWERS_GROUP, Team
from apps.demo.services import seed_demo
from apps.rubrics.models import Rubric
from apps.scoring import cohort
from apps.scoring.models import RoundAggregate
from tests.dashboards.test_pages import figure
from tests.exchange.test_exports import export, rows_of
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

# The demo's v2 replaced two questions and reworded the criteria of ten (rubrics/*.yaml).
REPLACED_V1 = {"infra-single-example-debug", "monitoring-numerical-stability"}
REPLACED_V2 = {"infra-model-registry", "monitoring-alert-runbook"}
REWORDED = {
    "data-schema",
    "data-meta-requirements",
    "data-new-feature-speed",
    "model-offline-online-correlation",
    "model-staleness-impact",
    "infra-reproducible-training",
    "infra-validate-before-serving",
    "infra-rollback",
    "monitoring-dependency-changes",
    "monitoring-prediction-quality",
}


@pytest.fixture
def demo():
    seed_demo(products=30, rounds=5, seed=3)
    cache.clear()


def user_of(role):
    user = UserFactory(username=role, is_staff=role == "admin", is_superuser=role == "admin")
    if role == "viewer":
        user.groups.add(Group.objects.get_or_create(name=VIEWERS_GROUP)[0])
    if role == "member":
        user.teams.add(Team.objects.order_by("pk").first())
    return user


def test_the_demo_compares_the_sixteen_unchanged_questions(demo):
    stored = RoundAggregate.objects.filter(like_for_like=True, population="all")
    assert (
        stored.count()
        == RoundAggregate.objects.filter(like_for_like=False, population="all").count()
    )
    comparison = stored.first().comparison
    assert len(comparison["questions"]) == 28 - 2 - 10
    assert not (REPLACED_V1 | REPLACED_V2 | REWORDED) & set(comparison["questions"])
    v1, v2 = comparison["left_out"]
    assert (v1["version"], v2["version"]) == ("v1", "v2")
    assert {q["key"] for q in v1["questions"]} == REPLACED_V1 | REWORDED
    assert {q["key"] for q in v2["questions"]} == REPLACED_V2 | REWORDED
    assert comparison["dropped_areas"] == []  # every area keeps a common question
    # Each like-for-like point has every scored product, and the areas of the rubric.
    for like, plain in zip(
        stored.order_by("round__opens_at"),
        RoundAggregate.objects.filter(like_for_like=False, population="all").order_by(
            "round__opens_at"
        ),
        strict=True,
    ):
        assert like.n == plain.n
        assert set(like.area_means) == set(plain.area_means)
        assert set(like.question_means) <= set(comparison["questions"])


@pytest.mark.parametrize("role", ["member", "viewer", "admin"])
def test_every_role_sees_the_like_for_like_overview(
    client, demo, role, django_assert_max_num_queries
):
    client.force_login(user_of(role))
    plain = client.get(reverse("dashboard"))
    page = client.get(reverse("dashboard"), {"like_for_like": "1"})
    assert page.status_code == 200
    html = page.content.decode()
    assert 'id="like_for_like" name="like_for_like" value="1" checked' in html
    assert 'id="like-for-like-note"' in html
    assert "Left out of v1:" in html and "infra-single-example-debug" in html
    assert "Left out of v2:" in html and "infra-model-registry" in html
    assert "scaled up to all the area's questions" in html
    assert 'id="like-for-like-note"' not in plain.content.decode()
    # The figures are not the plain ones: the reworded questions are out of the heatmap.
    assert figure(page, "overall") != figure(plain, "overall")
    common = RoundAggregate.objects.filter(like_for_like=True).first().comparison["questions"]
    assert set(figure(page, "questions")["data"][0]["y"]) == set(common)
    assert set(figure(plain, "questions")["data"][0]["y"]) > set(common)
    # Served from the cache, keyed by the toggle: constant and few queries.
    with django_assert_max_num_queries(20):
        again = client.get(reverse("dashboard"), {"like_for_like": "1"})
    assert figure(again, "overall") == figure(page, "overall")


def test_like_for_like_from_a_later_start_round(client, demo):
    client.force_login(user_of("viewer"))
    rubric = Rubric.objects.get(slug="mlopsscore")
    start = cohort.start_rounds(rubric.pk)[1]
    page = client.get(reverse("dashboard"), {"like_for_like": "1", "cohort_from": start.key})
    assert page.status_code == 200
    assert f'<option value="{start.key}" selected>' in page.content.decode()
    default = client.get(reverse("dashboard"), {"like_for_like": "1"})
    assert figure(page, "overall") != figure(default, "overall")
    assert RoundAggregate.objects.filter(like_for_like=True, cohort_from=start).exists()


@pytest.mark.parametrize("value", ["yes", "2", "true", "on"])
def test_an_invalid_toggle_is_a_400(client, demo, value):
    client.force_login(user_of("viewer"))
    page = client.get(reverse("dashboard"), {"like_for_like": value})
    assert page.status_code == 400
    assert 'id="like-for-like-error"' in page.content.decode()


def test_like_for_like_with_a_team_filter_is_a_400(client, demo):
    client.force_login(user_of("viewer"))
    team = Team.objects.order_by("pk").first()
    page = client.get(reverse("dashboard"), {"like_for_like": "1", "team": team.slug})
    assert page.status_code == 400
    assert "not for a team or use case" in page.content.decode()
    assert (
        client.get(reverse("dashboard"), {"like_for_like": "0", "team": team.slug}).status_code
        == 200
    )


def test_the_toggle_and_its_sentence_in_japanese(client, demo):
    client.force_login(user_of("viewer"))
    with translation.override("ja"):
        page = client.get(reverse("dashboard"), {"like_for_like": "1"}, HTTP_ACCEPT_LANGUAGE="ja")
    html = page.content.decode()
    assert page.status_code == 200
    assert "バージョン間で同じ設問だけで比較" in html
    assert "比較から外した設問（v1）" in html


def test_the_api_and_the_export_carry_the_flag(client, demo):
    client.force_login(user_of("viewer"))
    records = client.get("/api/v1/rubrics/mlopsscore/trends/", {"like_for_like": "1"}).json()
    assert records and all(r["like_for_like"] for r in records)
    assert {r["questions_compared"] for r in records} == {16}
    assert "v1: Q" in records[0]["left_out"] and "infra-model-registry" in records[0]["left_out"]
    plain = client.get("/api/v1/rubrics/mlopsscore/trends/").json()
    assert not any(r["like_for_like"] for r in plain)
    assert [r["n"] for r in plain] == [r["n"] for r in records]
    assert [r["overall_mean"] for r in plain] != [r["overall_mean"] for r in records]
    bad = client.get("/api/v1/rubrics/mlopsscore/trends/", {"like_for_like": "maybe"})
    assert bad.status_code == 400 and "like_for_like" in bad.json()["detail"]
    header, *rows = rows_of(export("export_trends", "--rubric", "mlopsscore", "--like-for-like"))
    assert header[-3:] == ["like_for_like", "questions_compared", "left_out"]
    assert {row[-3] for row in rows} == {"true"} and {row[-2] for row in rows} == {"16"}
    assert [row[3] for row in rows] == [r["overall_mean"] for r in records]
