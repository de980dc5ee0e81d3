"""What one autosave costs: a fixed handful of queries, no rubric row read once the version's
rules are known, and locks on its own response and answer only (benchmarks/autosave.py
measures the same under load)."""

import threading
from decimal import Decimal

import pytest
from django.contrib.auth.models import AnonymousUser
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from apps.rubrics.models import Area
from apps.rubrics.selectors import answer_rules
from apps.surveys.models import Answer, Response
from apps.surveys.selectors import member_response
from apps.surveys.services import save_answer, start_response
from tests.factories import (
    ProductFactory,
    SurveyRoundFactory,
    TeamFactory,
    UserFactory,
    make_version,
)

JSON = {"HTTP_ACCEPT": "application/json"}


@pytest.fixture
def member(client, db):
    """A signed-in member of the team of product "ranker", in the open round 2030-01."""
    team = TeamFactory()
    ProductFactory(slug="ranker", team=team)
    SurveyRoundFactory(key="2030-01")
    user = UserFactory(username="member")
    team.members.add(user)
    client.force_login(user)
    return client


def autosave(client, question="data-schema", value="1", revision=""):
    fields = {"question": question, "value": value, "revision": revision, "evidence": "CI"}
    fields["not_applicable_reason"] = "Batch only." if value == "na" else ""
    return client.post(reverse("save-answer", args=["2030-01", "ranker"]), fields, **JSON)


def test_changing_an_answer_takes_nine_queries(member, django_assert_max_num_queries):
    first = autosave(member, value="0")
    # Session, user, the member's response; in a transaction: the response locked, the
    # answer locked, its update and its history row.
    with django_assert_max_num_queries(9):
        reply = autosave(member, value="1", revision=str(first.json()["revision"]))
    assert reply.status_code == 200 and reply.json()["revision"] == 2
    assert Answer.objects.get().history.count() == 2


def test_a_new_answer_in_a_started_response_takes_nine_queries(
    member, django_assert_max_num_queries
):
    autosave(member, question="data-schema")
    with django_assert_max_num_queries(9):
        reply = autosave(member, question="monitoring-staleness", value="0.5")
    assert reply.status_code == 200 and reply.json()["revision"] == 1


def test_the_first_save_starts_the_response_in_a_bounded_number_of_queries(
    member, django_assert_max_num_queries
):
    with django_assert_max_num_queries(22):
        reply = autosave(member)
    assert reply.status_code == 200 and Answer.objects.get().response.status == "draft"


def test_a_save_reads_no_rubric_row_once_the_versions_rules_are_known(member):
    autosave(member, question="data-schema")
    with CaptureQueriesContext(connection) as queries:
        reply = autosave(member, question="data-features", value="na")
    assert reply.status_code == 200
    read = " ".join(query["sql"] for query in queries)
    assert "rubrics_question" not in read and "rubrics_scalelevel" not in read


def test_the_reply_carries_the_new_revision_and_the_time(member):
    reply = autosave(member)
    assert set(reply.json()) == {"revision", "saved_at"}


def test_a_superuser_outside_the_team_still_saves(client, member):
    admin = UserFactory(username="root", is_superuser=True, is_staff=True)
    autosave(member)  # started by the team
    client.force_login(admin)
    reply = autosave(client, question="monitoring-staleness", value="0")
    assert reply.status_code == 200


def test_a_member_who_left_the_team_can_no_longer_save(member):
    autosave(member)
    user = UserFactory(username="member")
    user.teams.clear()
    reply = autosave(member, question="monitoring-staleness", value="0")
    assert reply.status_code == 404 and Answer.objects.count() == 1


@pytest.mark.django_db
def test_member_response_finds_a_team_members_started_response_only():
    mine, theirs = TeamFactory(), TeamFactory()
    user = UserFactory(username="member")
    mine.members.add(user)
    survey_round = SurveyRoundFactory(key="2030-01")
    started = start_response(
        survey_round=survey_round, product=ProductFactory(slug="ranker", team=mine)
    )
    ProductFactory(slug="idle", team=mine)  # not started
    start_response(survey_round=survey_round, product=ProductFactory(slug="other", team=theirs))
    expected = {
        ("2030-01", "ranker"): started,
        ("2030-01", "idle"): None,
        ("2030-01", "other"): None,
        ("2099-01", "ranker"): None,
    }
    for (key, slug), response in expected.items():
        by_orm = Response.objects.filter(
            round__key=key, product__slug=slug, product__team__members=user
        ).first()
        assert member_response(user, key=key, slug=slug) == response == by_orm
    assert member_response(AnonymousUser(), key="2030-01", slug="ranker") is None


@pytest.mark.django_db
def test_a_published_versions_rules_are_read_once(django_assert_num_queries):
    version = make_version()
    answer_rules(version)
    with django_assert_num_queries(0):
        rules = answer_rules(version)
    assert set(rules.questions) == {"data-schema", "data-features", "monitoring-staleness"}
    assert rules.levels == {Decimal(0), Decimal("0.5"), Decimal(1)}


@pytest.mark.django_db
def test_a_draft_versions_rules_are_read_every_time(django_assert_num_queries):
    version = make_version(publish=False)
    answer_rules(version)
    with django_assert_num_queries(2):
        answer_rules(version)


@pytest.mark.postgresql(reason="row locks")
@pytest.mark.django_db(transaction=True)
def test_a_save_does_not_wait_for_rubric_rows_locked_elsewhere():
    """Saving locks the response and the answer, never the question or its area: another
    transaction holding those (as every save of that area in the round once did) does not
    hold this save up."""
    response = start_response(survey_round=SurveyRoundFactory(), product=ProductFactory())
    area = Area.objects.get(version=response.round.rubric_version, key="data")
    locked, done = threading.Event(), threading.Event()

    def hold_the_area() -> None:
        try:
            with transaction.atomic():
                Area.objects.select_for_update().get(pk=area.pk)
                locked.set()
                done.wait(10)
        finally:
            connection.close()

    holder = threading.Thread(target=hold_the_area)
    holder.start()
    try:
        assert locked.wait(10)
        with connection.cursor() as cursor:
            cursor.execute("SET lock_timeout = '2s'")
        answer = save_answer(response=response, question_key="data-schema", value=Decimal(1))
        again = save_answer(
            response=response, question_key="data-schema", value=Decimal(0), base_revision=1
        )
    finally:
        done.set()
        holder.join()
        with connection.cursor() as cursor:
            cursor.execute("RESET lock_timeout")
    assert (answer.revision, again.revision) == (1, 2)
