"""The overview's cohort start round (?cohort_from=KEY), churn table and N/A shares, per role,
in English and Japanese."""

import re

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from apps.accounts.models import VIEWERS_GROUP, Team
from apps.demo.services import seed_demo
from apps.rubrics.models import Rubric
from apps.scoring import cohort
from tests.dashboards.test_pages import figure
from tests.dashboards.test_small_groups import HIDDEN_NOTE, figures_of, numbers_in, org  # noqa: F401
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo():
    seed_demo(products=30, rounds=5, seed=3)
    return cohort.start_rounds(Rubric.objects.get(slug="mlopsscore").pk)


def user_for(role: str):
    user = UserFactory(username=role, is_staff=role == "admin", is_superuser=role == "admin")
    if role == "viewer":
        user.groups.add(Group.objects.get_or_create(name=VIEWERS_GROUP)[0])
    return user


def cohort_median(page) -> dict:
    return [t for t in figure(page, "overall")["data"] if t["name"] == "Median"][1]


@pytest.mark.parametrize("role", ["member", "viewer", "admin"])
def test_every_role_picks_the_cohorts_start_round(client, demo, role):
    client.force_login(user_for(role))
    second = demo[1]
    page = client.get(reverse("dashboard"), {"cohort_from": second.key})
    assert page.status_code == 200
    html = page.content.decode()
    assert '<label for="cohort_from">Cohort from</label>' in html
    assert f'<option value="{second.key}" selected>' in html
    assert [f'<option value="{r.key}"' in html for r in demo] == [True] * len(demo)
    # The cohort's points start at the chosen round; its panel says since when.
    assert cohort_median(page)["x"][0] == second.key
    titles = [a["text"] for a in figure(page, "overall")["layout"]["annotations"]]
    assert f"Continuous cohort since {second.key}" in titles


def test_the_default_start_is_the_first_round(client, demo):
    client.force_login(user_for("viewer"))
    default = client.get(reverse("dashboard"))
    first = client.get(reverse("dashboard"), {"cohort_from": demo[0].key})
    assert cohort_median(default) == cohort_median(first)
    assert cohort_median(default)["x"][0] == demo[0].key
    later = client.get(reverse("dashboard"), {"cohort_from": demo[-1].key})
    assert len(cohort_median(later)["x"]) < len(cohort_median(default)["x"])


@pytest.mark.parametrize("key", ["nope", "2099-04", "<script>", ""])
def test_an_unknown_start_round_is_a_400_with_a_message_and_no_charts(client, demo, key):
    client.force_login(user_for("member"))
    page = client.get(reverse("dashboard") + "?cohort_from=" + (key or "%20"))
    assert page.status_code == 400
    html = page.content.decode()
    assert "No cohort of this rubric starts from that round." in html
    assert 'type="application/json"' not in html
    assert "<script>" not in html and "&lt;script&gt;" not in html  # the input is not echoed


def test_a_round_that_is_no_start_round_reveals_nothing_either(client, demo):
    """The open round exists, but is no start round: the same message as a typo."""
    client.force_login(user_for("member"))
    open_round = demo[-1].rubric_version.rounds.order_by("-opens_at").first()
    page = client.get(reverse("dashboard"), {"cohort_from": open_round.key})
    assert page.status_code == 400
    assert "No cohort of this rubric starts from that round." in page.content.decode()


def test_the_message_speaks_japanese(client, demo):
    client.force_login(user_for("member"))
    client.post(reverse("set_language"), {"language": "ja", "next": "/"})
    page = client.get(reverse("dashboard"), {"cohort_from": "nope"})
    assert page.status_code == 400
    assert "この評価基準のコホートは、そのラウンドからは始まりません" in page.content.decode()
    chosen = client.get(reverse("dashboard"), {"cohort_from": demo[1].key}).content.decode()
    assert '<label for="cohort_from">コホートの開始</label>' in chosen
    assert "参加・離脱" in chosen and "N/A の数え方" in chosen


def test_the_churn_table_sits_beside_the_cohort_panel(client, demo):
    client.force_login(user_for("viewer"))
    html = client.get(reverse("dashboard")).content.decode()
    table = html[html.index('<table class="table" id="churn">') :]
    table = table[: table.index("</table>")]
    # one row per round after the first, compared with the round before
    assert table.count("<tr>") == 1 + 4
    assert f"<td>{demo[1].key}</td><td>{demo[0].key}</td>" in table
    assert (
        html.index('id="chart-overall"') < html.index('id="churn"') < html.index('id="chart-areas"')
    )


def test_na_shares_and_how_the_rubric_counts_na(client, demo):
    client.force_login(user_for("viewer"))
    page = client.get(reverse("dashboard"))
    html = page.content.decode()
    assert "How N/A counts:" in html and "scaled up to the whole area" in html  # rescale rule
    shares = figure(page, "na")
    assert len(shares["data"]) == 4 and "Monitoring" in {t["name"] for t in shares["data"]}
    values = [v for t in shares["data"] for v in t["y"] if v is not None]
    assert values and all(0 <= v <= 1 for v in values)


def test_a_later_start_takes_as_many_queries(client, demo):
    client.force_login(user_for("member"))
    counts = []
    for key in (demo[0].key, demo[-1].key):
        for _warm in (False, True):
            with CaptureQueriesContext(connection) as queries:
                assert client.get(reverse("dashboard"), {"cohort_from": key}).status_code == 200
            counts.append(len(queries))
    assert counts[0] == counts[2] and counts[1] == counts[3] and counts[1] < counts[0]


def test_a_member_sees_no_numbers_of_a_lone_product_from_a_later_start(client, org):  # noqa: F811
    client.force_login(org["member"])
    page = client.get(reverse("dashboard"), {"team": "theirs", "cohort_from": "2021-10"})
    assert page.status_code == 200
    for name, shown in figures_of(page).items():
        assert numbers_in(shown) == [], name
    assert HIDDEN_NOTE in page.content.decode()


def test_a_team_filter_keeps_the_start_round_and_counts_its_own_churn(client, demo):
    client.force_login(user_for("viewer"))
    team = Team.objects.filter(products__isnull=False).order_by("slug").first()
    everyone = client.get(reverse("dashboard"), {"cohort_from": demo[1].key})
    page = client.get(reverse("dashboard"), {"team": team.slug, "cohort_from": demo[1].key})
    assert page.status_code == 200
    assert cohort_median(page)["x"][0] == demo[1].key
    assert "na" not in figures_of(page)  # N/A shares: for the whole organisation only

    def stayed(response) -> int:
        html = response.content.decode()
        table = html[html.index('id="churn"') : html.index("</table>", html.index('id="churn"'))]
        pairs = re.findall(r'<td class="num">(\d+)</td><td class="num">(\d+)</td>', table)
        return sum(int(kept) for _joined, kept in pairs)

    assert 0 < stayed(page) < stayed(everyone)
