"""manage.py seed_demo builds a believable, deterministic organisation."""

from collections import defaultdict
from decimal import Decimal
from io import StringIO

import pytest
from django.contrib.auth import authenticate
from django.core.management import CommandError, call_command
from django.db.models import Count, Sum
from django.test import RequestFactory

from apps.accounts.models import VIEWERS_GROUP, Team
from apps.products.models import Product
from apps.surveys.models import Answer, Response, SurveyRound

pytestmark = pytest.mark.django_db


def seed(*args) -> str:
    out = StringIO()
    call_command("seed_demo", *args, stdout=out)
    return out.getvalue()


def area_means(round_key: str) -> dict[str, Decimal]:
    """Mean per-area sum over the submitted responses of a round (N/A counted as 0 here)."""
    rows = (
        Answer.objects.filter(response__round__key=round_key, response__status="submitted")
        .values("response_id", "question__area__key")
        .annotate(total=Sum("value"))
    )
    sums = defaultdict(list)
    for row in rows:
        sums[row["question__area__key"]].append(row["total"] or Decimal(0))
    return {area: sum(values) / len(values) for area, values in sums.items()}


def fingerprint() -> list[tuple]:
    return list(
        Answer.objects.order_by(
            "response__round__key", "response__product__slug", "question__key"
        ).values_list(
            "response__round__key",
            "response__product__slug",
            "question__key",
            "value",
            "not_applicable",
            "evidence",
        )
    )


def test_seed_builds_the_organisation_and_prints_the_logins():
    output = seed("--products", "60", "--rounds", "6", "--seed", "3")
    assert "Demo organisation ready" in output
    for login in ("demo-admin", "demo-viewer", "demo-member"):
        assert login in output
    assert "password 'demo'" in output
    assert Team.objects.count() == 12
    assert Product.objects.count() == 60
    keys = list(SurveyRound.objects.order_by("opens_at").values_list("key", flat=True))
    assert keys == ["2021-10", "2022-04", "2022-10", "2023-04", "2023-10", "2024-04"]
    labels = list(
        SurveyRound.objects.order_by("opens_at").values_list("rubric_version__label", flat=True)
    )
    assert labels == ["v1", "v1", "v1", "v2", "v2", "v2"]
    states = list(SurveyRound.objects.order_by("opens_at").values_list("state", flat=True))
    assert states == ["closed"] * 5 + ["open"]


def test_products_join_and_retire_over_time():
    seed("--products", "80", "--rounds", "6")
    first = SurveyRound.objects.order_by("opens_at").first()
    late = Product.objects.filter(active_from__gt=first.opens_at.date())
    assert late.exists() and Product.objects.filter(retired_at__isnull=False).exists()
    assert Product.objects.filter(name__regex=r"[\u3040-\u30ff\u4e00-\u9fff]").exists()
    counts = [r.responses.count() for r in SurveyRound.objects.order_by("opens_at")]
    assert len(set(counts)) > 1  # membership changes from round to round


def test_last_round_mixes_not_started_draft_and_submitted():
    seed("--products", "80", "--rounds", "4")
    last = SurveyRound.objects.get(state="open")
    statuses = dict(last.responses.values_list("status").annotate(n=Count("id")))
    assert statuses.get("draft", 0) > 0 and statuses.get("submitted", 0) > 0
    active = Product.objects.filter(active_from__lte=last.opens_at.date()).exclude(
        retired_at__lte=last.opens_at.date()
    )
    assert last.responses.count() < active.count()  # some have not started
    questions = last.rubric_version.questions.count()
    draft = last.responses.filter(status="draft").annotate(n=Count("answers")).first()
    assert 0 < draft.n < questions
    for response in last.responses.filter(status="submitted").annotate(n=Count("answers")):
        assert response.n == questions
    assert last.closes_at > last.opens_at


def test_every_closed_round_response_is_submitted_and_complete():
    seed("--products", "40", "--rounds", "3")
    for response in Response.objects.filter(round__state="closed").annotate(n=Count("answers")):
        assert response.status == "submitted" and response.submitted_by is not None
        assert response.n == response.round.rubric_version.questions.count()
        assert response.submitted_by.teams.filter(pk=response.product.team_id).exists()


def test_scores_rise_with_monitoring_starting_weakest():
    seed("--products", "150", "--rounds", "6")
    first, last = area_means("2021-10"), area_means("2023-10")
    assert min(first, key=first.get) == "monitoring"
    assert first["monitoring"] < min(v for k, v in first.items() if k != "monitoring") - Decimal(
        "0.5"
    )
    assert last["monitoring"] > first["monitoring"] + Decimal("1.0")
    assert last["infra"] > first["infra"] + Decimal("0.4")
    assert Answer.objects.filter(not_applicable=True).exists()
    assert not Answer.objects.filter(not_applicable=True, question__na_allowed=False).exists()


def test_same_seed_same_data_and_other_seed_other_data():
    seed("--products", "25", "--rounds", "3", "--seed", "11")
    first = fingerprint()
    seed("--products", "25", "--rounds", "3", "--seed", "11", "--reset")
    assert fingerprint() == first
    seed("--products", "25", "--rounds", "3", "--seed", "12", "--reset")
    assert fingerprint() != first


def test_demo_is_scored_and_can_be_reset():
    from apps.scoring.models import ResponseScore, RoundAggregate

    seed("--products", "20", "--rounds", "3")
    submitted = Response.objects.filter(status="submitted").count()
    assert ResponseScore.objects.count() == submitted > 0
    # the cohort from each closed round (2021-10, 2022-04), at every round from it on
    assert (
        RoundAggregate.objects.filter(like_for_like=False)
        .filter(population="cohort", cohort_from__key="2021-10")
        .count()
        == 3
    )
    assert (
        RoundAggregate.objects.filter(like_for_like=False).filter(population="cohort").count()
        == 3 + 2
    )
    seed("--products", "10", "--rounds", "2", "--reset")
    assert Product.objects.count() == 10
    assert ResponseScore.objects.count() == Response.objects.filter(status="submitted").count()


def test_refuses_a_database_with_data_unless_reset():
    seed("--products", "5", "--rounds", "2")
    with pytest.raises(CommandError, match="--reset"):
        seed("--products", "5", "--rounds", "2")
    assert Product.objects.count() == 5


LOGIN_REQUEST = RequestFactory().post("/accounts/login/")  # django-axes needs the request


def test_demo_users_and_roles():
    seed("--products", "10", "--rounds", "2")
    admin = authenticate(LOGIN_REQUEST, username="demo-admin", password="demo")
    viewer = authenticate(LOGIN_REQUEST, username="demo-viewer", password="demo")
    member = authenticate(LOGIN_REQUEST, username="demo-member", password="demo")
    assert admin.is_superuser and admin.is_staff
    assert viewer.groups.filter(name=VIEWERS_GROUP).exists() and not viewer.is_staff
    assert member.teams.count() == 2 and not member.is_staff


def test_evidence_includes_csv_unfriendly_text():
    seed("--products", "40", "--rounds", "2")
    evidence = Answer.objects.exclude(evidence="")
    assert evidence.filter(evidence__contains='"').exists()
    assert evidence.filter(evidence__contains="\n").exists()
    assert evidence.filter(evidence__contains=",").exists()
    assert evidence.filter(evidence_url__startswith="https://").exists()
