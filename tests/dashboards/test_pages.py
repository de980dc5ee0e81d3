"""The dashboard page renders from stored aggregates, for every role, in constant queries."""

import json
import logging
import re
from pathlib import Path

import plotly
import pytest
from django.conf import settings
from django.contrib.auth.models import Group
from django.contrib.staticfiles import finders
from django.core.cache import cache
from django.urls import reverse
from django.utils import translation
from kombu.exceptions import OperationalError as KombuOperationalError

from apps.accounts.models import VIEWERS_GROUP, Team
from apps.dashboards import charts, tasks
from apps.dashboards.receivers import WARM_OVERVIEW_TASK
from apps.demo.services import seed_demo
from apps.rubrics.models import Rubric
from apps.scoring import cohort
from apps.scoring.models import ResponseScore, RoundAggregate
from apps.scoring.scores import score_all
from apps.scoring.signals import aggregates_changed
from apps.surveys.models import SurveyRound
from config.celery import app as celery_app
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo():
    seed_demo(products=30, rounds=5, seed=3)


def figure(page, name):
    html = page.content.decode()
    start = html.index(f'<script id="{name}" type="application/json">') + len(
        f'<script id="{name}" type="application/json">'
    )
    return json.loads(html[start : html.index("</script>", start)])


def test_anonymous_is_sent_to_login(client):
    response = client.get(reverse("dashboard"))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


@pytest.mark.parametrize("role", ["member", "viewer", "admin"])
def test_every_role_sees_the_overview(client, demo, role):
    user = UserFactory(username=role, is_staff=role == "admin", is_superuser=role == "admin")
    if role == "viewer":
        user.groups.add(Group.objects.get_or_create(name=VIEWERS_GROUP)[0])
    client.force_login(user)
    page = client.get(reverse("dashboard"))
    assert page.status_code == 200
    overall = figure(page, "overall")
    medians = [t for t in overall["data"] if t["name"] == "Median"]
    assert [len(t["x"]) for t in medians] == [5, 5]
    assert b"vendor/plotly-custom.min.js" in page.content and b"cdn" not in page.content.lower()


def test_queries_do_not_grow_with_rounds_or_products(client, django_assert_max_num_queries):
    seed_demo(products=40, rounds=6, seed=1)
    client.force_login(UserFactory(username="v"))
    # ... and, for a user who is no viewer, their roles and their products' counts per point
    # (their products' ids, for the counts' cache key; on a miss apps.scoring.disclosure: the
    # rubric's rounds, then the counts by round id)
    # (a cold page: the figures are built from the aggregates, with the latest version's
    # bands for the target's wording)
    with django_assert_max_num_queries(20):
        page = client.get(reverse("dashboard"))
    assert page.status_code == 200
    cohort = [t for t in figure(page, "overall")["data"] if t["name"] == "Median"][1]
    assert len(cohort["x"]) == 6
    heatmap = figure(page, "questions")["data"][0]
    assert len(heatmap["x"]) == 6 and len(heatmap["y"]) > 28  # v1 and v2 questions


def test_rubric_selector_and_target(client, demo):
    client.force_login(UserFactory(username="v"))
    page = client.get(reverse("dashboard"), {"rubric": "mlopsscore", "target": "3"})
    overall = figure(page, "overall")
    assert any(s.get("y0") == 3.0 for s in overall["layout"]["shapes"])
    assert client.get(reverse("dashboard"), {"target": "x"}).status_code == 200


def test_empty_database_says_there_is_nothing_yet(client):
    client.force_login(UserFactory(username="v"))
    page = client.get(reverse("dashboard"))
    assert page.status_code == 200 and b"No scores yet" in page.content


def test_vendored_plotly_js_is_the_version_the_python_package_writes_figures_for():
    """After a plotly upgrade this fails until scripts/vendor_plotly refreshes the bundle."""
    version = re.compile(r"plotly\.js .*?v(\d+\.\d+\.\d+)")
    with open(finders.find("vendor/plotly-custom.min.js"), encoding="utf-8") as vendored:
        head = vendored.read(200)
    ours = version.search(head)
    # scripts/vendor_plotly's compile hint for V8, on the file's first line where V8 reads it
    assert head.startswith("//# allFunctionsCalledOnLoad\n")
    package = Path(plotly.__file__).parent / "package_data/plotly.min.js"
    with package.open(encoding="utf-8") as bundled:
        theirs = version.search(bundled.read(200))
    assert ours and theirs and ours[1] == theirs[1]
    assert finders.find("vendor/plotly-custom.LICENSE.txt")


def test_texts_from_the_database_cannot_break_out_of_the_chart_data(client, demo):
    aggregate = RoundAggregate.objects.filter(like_for_like=False).filter(population="all").first()
    aggregate.band_counts[0]["label_en"] = "</script><script>alert(1)</script>"
    aggregate.save()
    client.force_login(UserFactory(username="v"))
    page = client.get(reverse("dashboard"))
    assert b"<script>alert(1)" not in page.content
    bands = figure(page, "bands")
    assert "</script><script>alert(1)</script>" in [trace["name"] for trace in bands["data"]]


def test_figures_are_cached_until_the_scores_change(client, demo, django_assert_max_num_queries):
    client.force_login(UserFactory(username="v"))
    first = figure(client.get(reverse("dashboard")), "overall")
    # session, user, rubrics, start rounds, stamp, filter choices, the user's products' counts
    # per point (a member: apps.scoring.disclosure, the rounds then the counts): no figure
    # queries
    with django_assert_max_num_queries(13):
        again = figure(client.get(reverse("dashboard")), "overall")
    assert again == first
    score_all()  # new aggregates, new stamp: rebuilt
    assert figure(client.get(reverse("dashboard")), "overall")["data"] == first["data"]


def viewer():
    user = UserFactory(username="viewer")
    user.groups.add(Group.objects.get_or_create(name=VIEWERS_GROUP)[0])
    return user


def test_team_filter_shows_that_teams_products_only(client, demo):
    team = Team.objects.order_by("slug").first()
    client.force_login(viewer())  # reads every team; members: test_small_groups.py
    page = client.get(reverse("dashboard"), {"team": team.slug})
    medians = [t for t in figure(page, "overall")["data"] if t["name"] == "Median"]
    first_round = medians[0]["x"][0]
    expected = ResponseScore.objects.filter(round__key=first_round, product__team=team).count()
    assert medians[0]["text"][0].startswith(f"n={expected}")
    assert "fewer than 5 products" in page.content.decode()  # one team: small n, said so
    # Question means are stored for the whole organisation only: not shown for one team.
    assert 'id="questions"' not in page.content.decode()
    assert "left out of a filtered view" in page.content.decode()


def test_characteristic_filter(client, demo):
    client.force_login(viewer())
    page = client.get(reverse("dashboard"), {"characteristic": "online-serving"})
    medians = [t for t in figure(page, "overall")["data"] if t["name"] == "Median"]
    expected = ResponseScore.objects.filter(
        round__key=medians[0]["x"][0], product__characteristics__key="online-serving"
    ).count()
    assert medians[0]["text"][0].startswith(f"n={expected}")
    unfiltered = [
        t
        for t in figure(client.get(reverse("dashboard")), "overall")["data"]
        if t["name"] == "Median"
    ]
    assert unfiltered[0]["text"][0] != medians[0]["text"][0]


def test_question_heatmap_shows_the_stored_question_means(client, demo):
    client.force_login(UserFactory(username="v"))
    heatmap = figure(client.get(reverse("dashboard")), "questions")
    trace = heatmap["data"][0]
    latest = (
        RoundAggregate.objects.filter(like_for_like=False)
        .filter(population="all")
        .order_by("round__opens_at")
        .last()
    )
    assert latest.round.state == "open"  # drawn as provisional: its column says so
    column = trace["x"].index(f"{latest.round.key} (open)")
    shown = {key: row[column] for key, row in zip(trace["y"], trace["z"], strict=True)}
    stored = {key: float(q["mean"]) for key, q in latest.question_means.items()}
    assert shown.keys() >= stored.keys()
    assert all(shown[key] == pytest.approx(value) for key, value in stored.items())
    # Questions no longer asked leave their later cells empty.
    assert any(value is None for value in shown.values())
    cohort = heatmap["layout"]["updatemenus"][0]["buttons"][1]
    assert cohort["label"] == "Continuous cohort" and cohort["args"][0]["z"][0] != trace["z"]


def test_a_warmed_overview_is_served_from_the_cache(client, demo, django_assert_max_num_queries):
    score_all()  # new aggregates: nothing cached for them yet
    rubric = Rubric.objects.get(slug="mlopsscore")
    first_start = cohort.start_rounds(rubric.pk)[0].key  # the default: the first round
    for language in ("en", "ja"):
        with translation.override(language):
            key = charts.overview_cache_key(
                rubric, target=settings.DASHBOARD_TARGET, cohort_from=first_start
            )
            assert cache.get(key) is None
    assert charts.warm_overview(rubric_id=rubric.pk) == 2
    with translation.override("ja"):
        key = charts.overview_cache_key(
            rubric, target=settings.DASHBOARD_TARGET, cohort_from=first_start
        )
        assert cache.get(key).charts[0].title == "ラウンド別の総合スコア"  # built in Japanese
    client.force_login(UserFactory(username="v"))
    # as a cached page: no figure queries (the user's counts per point are not warmed: their
    # products' ids, the rubric's rounds and the counts)
    with django_assert_max_num_queries(14):
        page = client.get(reverse("dashboard"))
    assert figure(page, "questions")["data"][0]["type"] == "heatmap"


def test_scores_changing_with_eager_tasks_warm_nothing(demo):
    score_all()  # the signal fires; eager tasks (no worker): no warm-up in the request
    rubric = Rubric.objects.get(slug="mlopsscore")
    key = charts.overview_cache_key(
        rubric,
        target=settings.DASHBOARD_TARGET,
        cohort_from=cohort.start_rounds(rubric.pk)[0].key,
    )
    assert cache.get(key) is None


@pytest.fixture
def worker_tasks(monkeypatch):
    """Tasks go to a broker (not run in the request); what would be sent is recorded."""
    sent = []
    monkeypatch.setitem(celery_app.conf, "task_always_eager", False)
    monkeypatch.setattr(celery_app, "send_task", lambda name, args: sent.append((name, args)))
    return sent


def test_scores_changing_with_a_worker_send_the_warm_up_task(worker_tasks):
    aggregates_changed.send(sender=None, rubric_id=7)
    assert worker_tasks == [(WARM_OVERVIEW_TASK, [7])]
    # Sent by name: the name is the registered task's.
    assert tasks.warm_overview_cache.name == WARM_OVERVIEW_TASK
    assert WARM_OVERVIEW_TASK in celery_app.tasks


def test_a_broker_outage_only_costs_the_warm_up(worker_tasks, monkeypatch, caplog):
    def unreachable(name, args):
        raise KombuOperationalError("connection refused")

    monkeypatch.setattr(celery_app, "send_task", unreachable)
    with caplog.at_level(logging.WARNING):
        aggregates_changed.send(sender=None, rubric_id=7)
    assert "the overview of rubric 7 is not warmed" in caplog.text


def test_the_overview_shows_the_response_rate_of_every_round(client):
    from apps.surveys.models import SurveyRound
    from apps.surveys.selectors import round_progress

    seed_demo(products=30, rounds=3, seed=4)
    client.force_login(UserFactory(username="v"))
    html = client.get(reverse("dashboard")).content.decode()
    table = html[html.index('id="participation"') :]
    table = table[: table.index("</table>")]
    for survey_round in SurveyRound.objects.all():
        progress = round_progress(survey_round)
        assert 0 < progress.submitted <= progress.active
        rate = round(100 * progress.submitted / progress.active)
        assert (
            f'<td class="num">{progress.active}</td><td class="num">{progress.submitted}</td>'
            in table
        )
        assert f"{rate} %" in table
    assert "(open)" in table


def test_the_open_round_is_drawn_as_provisional_in_every_chart(client, demo):
    client.force_login(UserFactory(username="v"))
    page = client.get(reverse("dashboard"))
    open_key = SurveyRound.objects.get(state="open").key
    label = f"{open_key} (open)"
    overall = figure(page, "overall")
    median = next(t for t in overall["data"] if t["name"] == "Median")
    assert median["x"][-1] == label and label not in median["x"][:-1]
    assert median["marker"]["symbol"][-1] == "circle-open"
    assert set(median["marker"]["symbol"][:-1]) == {"circle"}
    assert median["text"][-1].startswith("open,<br>n=") and "so far" in median["text"][-1]
    for name in ("areas", "binding", "bands", "questions"):
        for trace in figure(page, name)["data"]:
            assert trace["x"][-1] == label, name
            if trace["type"] == "bar":
                assert trace["marker"]["pattern"]["shape"][-1] == "/"
                assert set(trace["marker"]["pattern"]["shape"][:-1]) == {""}
