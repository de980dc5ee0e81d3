"""Stored scores and aggregates computed from real answers in PostgreSQL."""

from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from apps.scoring import jobs, scores
from apps.scoring.models import ResponseScore, RoundAggregate, ScoringJob
from apps.surveys.models import Response, SurveyRound
from tests.conftest import fail_inserts_into
from tests.factories import (
    ProductFactory,
    ResponseFactory,
    SurveyRoundFactory,
    answer_all,
    make_version,
)

pytestmark = pytest.mark.django_db
D = Decimal
FULL = {"data-schema": 1, "data-features": 1, "monitoring-staleness": 1}


@pytest.fixture
def version():
    return make_version()


def make_round(version, key, state="closed", days=0):
    from datetime import timedelta

    from django.utils import timezone

    opens = timezone.now() - timedelta(days=400 - days)
    return SurveyRoundFactory(
        key=key,
        rubric_version=version,
        state=state,
        opens_at=opens,
        closes_at=opens + timedelta(days=30),
    )


def submit(survey_round, product, values, submitted=True):
    return answer_all(ResponseFactory(round=survey_round, product=product), values, submitted)


def test_round_scores_follow_the_rules(version):
    survey_round = make_round(version, "2021-10")
    a, b = ProductFactory(), ProductFactory()
    submit(survey_round, a, {"data-schema": 1, "data-features": "na", "monitoring-staleness": 0.5})
    submit(survey_round, b, {"data-schema": 0.5, "data-features": 0, "monitoring-staleness": 1})
    result = scores.score_round(round_id=survey_round.pk)
    assert result == {"round": survey_round.pk, "scored": 2, "incomplete": 0, "changed": 2}
    score_a = ResponseScore.objects.get(product=a)
    # data: 1 of 1 applicable, rescaled to 2 questions = 2; monitoring 0.5 → overall 0.5
    assert score_a.area_scores == {"data": "2.0000", "monitoring": "0.5000"}
    assert score_a.overall == D("0.5") and score_a.binding_area.key == "monitoring"
    assert score_a.band.label_en == "Basic"
    assert (score_a.area_aggregation, score_a.not_applicable_policy, score_a.overall_rule) == (
        "sum",
        "rescale",
        "min",
    )
    score_b = ResponseScore.objects.get(product=b)
    assert score_b.overall == D("0.5") and score_b.binding_area.key == "data"


def test_drafts_and_incomplete_responses_get_no_score(version):
    survey_round = make_round(version, "2021-10")
    submit(survey_round, ProductFactory(), FULL, submitted=False)
    submit(survey_round, ProductFactory(), {"data-schema": 1})  # submitted, but incomplete
    assert scores.score_round(round_id=survey_round.pk) == {
        "round": survey_round.pk,
        "scored": 0,
        "incomplete": 1,
        "changed": 0,
    }
    assert not ResponseScore.objects.exists()


def test_recompute_is_idempotent_and_replaces_the_rounds_rows(version):
    survey_round = make_round(version, "2021-10")
    response = submit(survey_round, ProductFactory(), FULL)
    other = submit(survey_round, ProductFactory(), FULL)
    scores.score_round(round_id=survey_round.pk)
    fields = ("pk", "response", "overall", "area_scores", "band", "computed_at")
    first = list(ResponseScore.objects.order_by("response").values(*fields))
    aggregates = list(RoundAggregate.objects.order_by("pk").values("pk", "computed_at"))
    # A second run finds every stored score current: it writes nothing at all.
    assert scores.score_round(round_id=survey_round.pk)["changed"] == 0
    assert list(ResponseScore.objects.order_by("response").values(*fields)) == first
    assert list(RoundAggregate.objects.order_by("pk").values("pk", "computed_at")) == aggregates
    response.answers.filter(question__key="monitoring-staleness").update(value=0)
    assert scores.score_round(round_id=survey_round.pk)["changed"] == 1  # only that row
    assert ResponseScore.objects.get(response=response).overall == D(0)
    assert ResponseScore.objects.get(response=other).pk == first[1]["pk"]
    assert RoundAggregate.objects.filter(like_for_like=False).get(
        round=survey_round, population="all"
    ).minimum == D(0)


def test_a_failure_mid_recompute_leaves_the_old_rows(version):
    survey_round = make_round(version, "2021-10")
    response = submit(survey_round, ProductFactory(), FULL)
    scores.score_round(round_id=survey_round.pk)
    before = list(ResponseScore.objects.values_list("pk", "overall"))
    response.answers.filter(question__key="monitoring-staleness").update(value=0)
    fail_inserts_into("scoring_roundaggregate")  # the aggregate write fails, as a dying worker
    # No atomic() around the call: only the service's own transaction can undo its writes.
    with pytest.raises(IntegrityError, match="t_fail"):
        scores.score_round(round_id=survey_round.pk)
    assert list(ResponseScore.objects.values_list("pk", "overall")) == before


def test_aggregates_for_all_and_the_continuous_cohort(version):
    r1 = make_round(version, "2021-10", days=0)
    r2 = make_round(version, "2022-04", days=180)
    r3 = make_round(version, "2022-10", state="open", days=360)
    stayer, leaver, joiner = ProductFactory(), ProductFactory(), ProductFactory()
    low = {"data-schema": 0, "data-features": 0, "monitoring-staleness": 0}
    submit(r1, stayer, low)
    submit(r1, leaver, FULL)
    submit(r2, stayer, {**low, "monitoring-staleness": 1, "data-schema": 1})
    submit(r2, joiner, FULL)
    submit(r3, stayer, FULL)
    submit(r3, joiner, FULL)
    scores.score_all()
    # The cohort from the first round (the default start).
    first_start = RoundAggregate.objects.filter(like_for_like=False).filter(
        Q(population="all") | Q(cohort_from=r1)
    )
    stats = {(a.round.key, a.population): a for a in first_start.select_related("round")}
    # The cohort: scored in every closed round (2021-10 and 2022-04) = the stayer only.
    assert [stats[k, "cohort"].n for k in ("2021-10", "2022-04", "2022-10")] == [1, 1, 1]
    assert [stats[k, "cohort"].mean for k in ("2021-10", "2022-04", "2022-10")] == [
        D(0),
        D(1),
        D(1),
    ]
    assert [stats[k, "all"].n for k in ("2021-10", "2022-04", "2022-10")] == [2, 2, 2]
    first = stats["2021-10", "all"]
    assert (first.minimum, first.maximum, first.median, first.p25, first.p75) == (
        D(0),
        D(1),
        D("0.5"),
        D("0.25"),
        D("0.75"),
    )
    assert first.area_means == {"data": "1.0000", "monitoring": "0.5000"}
    assert first.binding_counts == {"data": 1, "monitoring": 1}  # a tie binds the first area
    assert [band["count"] for band in first.band_counts] == [1, 1, 0]
    assert first.band_counts[2]["label_ja"] == "十分"
    # Question means for the heatmap: stayer (all 0) and leaver (all 1) in the first round.
    assert first.question_means["data-schema"] == {"mean": "0.5000", "answered": 2, "na": 0}
    cohort_first = stats["2021-10", "cohort"]
    assert cohort_first.question_means["data-schema"] == {
        "mean": "0.0000",
        "answered": 1,
        "na": 0,
    }


def test_tallies_come_in_the_rubrics_area_order(version):
    from apps.scoring import selectors

    survey_round = make_round(version, "2021-10")
    for _ in range(30):
        submit(survey_round, ProductFactory(), FULL)
    shape = selectors.version_shape(version.pk)
    tallies = selectors.answer_tallies(shape, round_id=survey_round.pk)
    assert {tuple(per_area) for per_area in tallies.values()} == {("data", "monitoring")}


@pytest.mark.postgresql(reason="compares with PostgreSQL's own percentile_cont")
def test_quartiles_match_postgresqls_percentile_cont(version):
    survey_round = make_round(version, "2021-10")
    for values in ([0, 0, 0], [1, 0, 1], [1, 1, 0.5], [0.5, 1, 1], [1, 1, 1]):
        keys = list(FULL)
        submit(survey_round, ProductFactory(), dict(zip(keys, values, strict=True)))
    scores.score_round(round_id=survey_round.pk)
    stored = RoundAggregate.objects.filter(like_for_like=False).get(population="all")
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT percentile_cont(ARRAY[0.25, 0.5, 0.75]) WITHIN GROUP (ORDER BY overall), "
            "avg(overall) FROM scoring_responsescore"
        )
        quartiles, average = cursor.fetchone()
    assert [stored.p25, stored.median, stored.p75] == [
        D(str(q)).quantize(D("0.0001")) for q in quartiles
    ]
    assert stored.mean == D(average).quantize(D("0.0001"))


def test_round_recompute_runs_in_constant_queries(version):
    from django.test.utils import CaptureQueriesContext

    counts = {}
    for key, products in (("2021-10", 3), ("2022-04", 40)):
        survey_round = make_round(version, key, days=len(counts) * 180)
        for _ in range(products):
            submit(survey_round, ProductFactory(), FULL)
        scores.score_round(round_id=survey_round.pk)  # first run: cohort state appears
        with CaptureQueriesContext(connection) as queries:
            scores.score_round(round_id=survey_round.pk)
        counts[products] = len(queries)
        assert ResponseScore.objects.filter(round=survey_round).count() == products
    assert counts[3] == counts[40] <= 20, counts


def test_submitted_response_is_scored_and_its_round_aggregated(
    version, django_capture_on_commit_callbacks
):
    from apps.surveys.services import submit_response
    from tests.factories import UserFactory

    survey_round = make_round(version, "2021-10", state="open")
    response = submit(survey_round, ProductFactory(), FULL, submitted=False)
    # Scoring is queued on commit (and runs eagerly here: the tests have no broker).
    with django_capture_on_commit_callbacks(execute=True):
        submit_response(response=response, user=UserFactory())
    response.refresh_from_db()
    assert response.status == Response.Status.SUBMITTED
    assert response.score.overall == D(1)
    job = ScoringJob.objects.get()
    assert (job.kind, job.state, job.attempts) == ("response", "done", 1)
    assert (
        RoundAggregate.objects.filter(like_for_like=False)
        .get(round=survey_round, population="all")
        .n
        == 1
    )


def test_submit_lists_unanswered_questions_and_changes_nothing(version):
    from apps.surveys.services import SubmitError, submit_response

    survey_round = make_round(version, "2021-10", state="open")
    response = submit(survey_round, ProductFactory(), {"data-schema": 1}, submitted=False)
    with pytest.raises(SubmitError) as caught:
        submit_response(response=response, user=None)
    assert caught.value.unanswered == ["data-features", "monitoring-staleness"]
    response.refresh_from_db()
    assert response.status == "draft" and not ScoringJob.objects.exists()


def test_closing_a_round_recomputes_it(version, django_capture_on_commit_callbacks):
    from apps.surveys.rounds import close_round

    survey_round = make_round(version, "2021-10", state="open")
    submit(survey_round, ProductFactory(), FULL)
    with django_capture_on_commit_callbacks(execute=True):
        close_round(survey_round=survey_round)
    survey_round.refresh_from_db()
    assert survey_round.state == "closed"
    assert ResponseScore.objects.count() == 1
    assert (
        RoundAggregate.objects.filter(like_for_like=False)
        .filter(round=survey_round, population="cohort")
        .get()
        .n
        == 1
    )


def test_stale_jobs_are_restarted_by_the_sweep(version):
    from datetime import timedelta

    from django.utils import timezone

    survey_round = make_round(version, "2021-10")
    submit(survey_round, ProductFactory(), FULL)
    long_ago = timezone.now() - timedelta(hours=1)
    lost = ScoringJob.objects.create(kind="round", round=survey_round)
    ScoringJob.objects.filter(pk=lost.pk).update(created_at=long_ago)
    dead = ScoringJob.objects.create(kind="all", state="running", heartbeat_at=long_ago, attempts=1)
    fresh = ScoringJob.objects.create(kind="all", state="running", heartbeat_at=timezone.now())
    waiting = ScoringJob.objects.create(kind="all", enqueued_at=timezone.now())  # in the queue
    restarted = jobs.restart_stale_jobs()
    assert sorted(restarted) == sorted([lost.pk, dead.pk])
    states = dict(ScoringJob.objects.values_list("pk", "state"))
    assert states[lost.pk] == states[dead.pk] == "done"  # eager: re-run at once
    assert states[fresh.pk] == "running" and states[waiting.pk] == "queued"
    assert ScoringJob.objects.get(pk=dead.pk).attempts == 2
    assert jobs.restart_stale_jobs() == []  # nothing is stale twice
    assert ResponseScore.objects.count() == 1


def test_a_copy_of_a_job_another_worker_runs_is_dropped_and_attempts_are_capped(version):
    from django.utils import timezone

    busy = ScoringJob.objects.create(kind="all", state="running", heartbeat_at=timezone.now())
    assert jobs.run_job(job_id=busy.pk).attempts == 0  # left to the worker running it
    worn = ScoringJob.objects.create(kind="all", attempts=jobs.MAX_ATTEMPTS)
    job = jobs.run_job(job_id=worn.pk)
    assert (job.state, job.error) == ("failed", f"gave up after {jobs.MAX_ATTEMPTS} attempts")


def test_compute_scores_command_sync_prints_a_summary(version):
    survey_round = make_round(version, "2021-10")
    submit(survey_round, ProductFactory(), FULL)
    out = StringIO()
    call_command("compute_scores", "--round", "2021-10", "--sync", stdout=out)
    assert "done in" in out.getvalue() and "scored 1" in out.getvalue()
    out = StringIO()
    call_command("compute_scores", "--all", "--sync", stdout=out)
    assert "rounds 1, scored 1, incomplete 0" in out.getvalue()
    job = ScoringJob.objects.filter(kind="all").get()
    assert (job.state, job.done, job.total, job.percent) == ("done", 1, 1, 100)


def test_compute_scores_unknown_round_is_an_error():
    from django.core.management import CommandError

    with pytest.raises(CommandError, match="No round 'nope'"):
        call_command("compute_scores", "--round", "nope")


answer_value = st.sampled_from([0, 0.5, 1])
response_values = st.fixed_dictionaries(
    {"data-schema": answer_value, "monitoring-staleness": answer_value},
    optional={"data-features": st.sampled_from([0, 0.5, 1, "na"])},  # left out: incomplete
)


@pytest.mark.parametrize(
    "scoring",
    [
        {"area": "sum", "not_applicable": "rescale", "overall": "min"},
        {"area": "mean", "not_applicable": "exclude", "overall": "mean"},
    ],
)
@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(responses=st.lists(response_values, min_size=1, max_size=15))
def test_a_rounds_stored_scores_are_the_rules_scores(scoring, responses):
    """The round path (each distinct area tally scored once, then combined per response)
    stores exactly what rules.score gives for each response on its own."""
    from apps.rubrics.models import Question
    from apps.scoring import rules, selectors

    with transaction.atomic():
        version = make_version(scoring=scoring)
        survey_round = make_round(version, "2021-10")
        shape = selectors.version_shape(version.pk)
        area_of = dict(Question.objects.filter(version=version).values_list("key", "area__key"))
        made = [submit(survey_round, ProductFactory(), values) for values in responses]
        result = scores.score_round(round_id=survey_round.pk)
        stored = {row.response_id: row for row in ResponseScore.objects.all()}
        for response, values in zip(made, responses, strict=True):
            answers = [
                rules.Answer(
                    area_of[key],
                    None if value == "na" else D(str(value)),
                    not_applicable=value == "na",
                )
                for key, value in values.items()
            ]
            expected = rules.score(shape.rule, rules.tally(shape.questions_per_area, answers))
            if expected is None:
                assert response.pk not in stored
                continue
            row = stored[response.pk]
            assert row.area_scores == {
                key: None if value is None else str(value) for key, value in expected.areas.items()
            }
            assert row.overall == expected.overall
            assert row.band_id == shape.band_ids[expected.band]
            assert row.binding_area_id == shape.area_ids[expected.binding_area]
        assert result["scored"] == len(stored)
        transaction.set_rollback(True)


def test_a_second_recompute_of_the_demo_writes_nothing_on_either_database():
    """The demo's areas print in another order as JSON than in the rubric, and its scores
    are not binary fractions (rescaled N/A): the stored rows are compared by value."""
    from apps.demo.services import seed_demo

    seed_demo(products=20, rounds=2)
    survey_round = SurveyRound.objects.get(key="2021-10")
    keys = list(survey_round.rubric_version.areas.order_by("order").values_list("key", flat=True))
    assert keys != sorted(keys, key=lambda key: (len(key), key))  # jsonb's order differs
    first = StringIO()
    call_command("compute_scores", "--round", "2021-10", "--sync", stdout=first)
    second = StringIO()
    call_command("compute_scores", "--round", "2021-10", "--sync", stdout=second)
    # seed_demo scored everything already: both runs find every stored row current.
    assert ", changed 0." in first.getvalue(), first.getvalue()
    assert ", changed 0." in second.getvalue(), second.getvalue()
    assert ResponseScore.objects.filter(round=survey_round).count() > 5


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_running_job_keeps_its_heartbeat_fresh_so_the_sweep_leaves_it(monkeypatch):
    import time
    from datetime import timedelta

    from django.utils import timezone

    monkeypatch.setattr(jobs, "HEARTBEAT", timedelta(seconds=0.05))
    started = timezone.now() - timedelta(minutes=5)
    job = ScoringJob.objects.create(kind="all", state="running", heartbeat_at=started)
    with jobs._heartbeat(job.pk):
        time.sleep(0.3)  # a long recompute, in miniature
        job.refresh_from_db()
        assert job.heartbeat_at > started + timedelta(minutes=4)
        assert jobs.restart_stale_jobs() == []  # alive: not restarted
    job.refresh_from_db()  # the last beat, which may come after the check above
    beats = job.heartbeat_at
    time.sleep(0.15)
    job.refresh_from_db()
    assert job.heartbeat_at == beats  # the thread stopped with the job
