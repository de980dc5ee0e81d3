"""Rescoring what is already scored (a rule fix, a retried job) rebuilds only what can have
changed: the question means and N/A counts of a round whose scored responses are the same are
kept, and the rounds after it keep their aggregates; the result is the full rebuild's."""

import itertools
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.utils import timezone

from apps.scoring import aggregates, scores
from apps.scoring.models import ResponseScore, RoundAggregate
from apps.surveys.models import Answer
from tests.factories import (
    ProductFactory,
    ResponseFactory,
    SurveyRoundFactory,
    answer_all,
    make_version,
)

pytestmark = pytest.mark.django_db
KEYS = ("data-schema", "data-features", "monitoring-staleness")
# The aggregate fields that a rebuild must reproduce (all but its id and time).
FIELDS = [
    field.name
    for field in RoundAggregate._meta.concrete_fields
    if field.name not in ("id", "computed_at")
]


@pytest.fixture
def rounds():
    """Three rounds (two closed, one open) of 6 products, some joining and leaving, with
    N/A answers: every population and kind of aggregate has something to count."""
    version = make_version()
    start = timezone.now() - timedelta(days=400)
    made = [
        SurveyRoundFactory(
            key=key,
            rubric_version=version,
            state=state,
            opens_at=start + timedelta(days=180 * i),
            closes_at=start + timedelta(days=180 * i + 30),
        )
        for i, (key, state) in enumerate(
            [("2021-10", "closed"), ("2022-04", "closed"), ("2022-10", "open")]
        )
    ]
    levels = itertools.cycle([0, 0.5, 1, 1, 0.5])
    features = itertools.cycle([1, "na", 0, 0.5])  # the question that allows N/A
    for i, product in enumerate(ProductFactory.create_batch(6)):
        for position, survey_round in enumerate(made):
            if (i == 4 and position == 0) or (i == 5 and position == 2):
                continue  # one joins late, one leaves
            values = {key: next(levels) for key in KEYS}
            values["data-features"] = next(features)
            answer_all(ResponseFactory(round=survey_round, product=product), values)
    scores.score_all()
    return made


def built(survey_round=None) -> list[tuple]:
    rows = RoundAggregate.objects.order_by("round_id", "like_for_like", "cohort_from_id")
    if survey_round is not None:
        rows = rows.filter(round=survey_round)
    return list(rows.values_list(*FIELDS))


def stamps(survey_round) -> list[tuple]:
    return list(RoundAggregate.objects.filter(round=survey_round).values_list("pk", "computed_at"))


@pytest.fixture
def counted(monkeypatch):
    """The rounds whose answers aggregates.answer_counts counted (a spy: it still counts)."""
    calls: list[list[int]] = []
    answer_counts = aggregates.answer_counts

    def spy(rubric_id, round_ids):
        calls.append(list(round_ids))
        return answer_counts(rubric_id, round_ids)

    monkeypatch.setattr(aggregates, "answer_counts", spy)
    return calls


def corrupt_scores(survey_round=None) -> int:
    """Make stored scores differ from the rules' (as before a rule fix), who is scored kept."""
    rows = ResponseScore.objects.all()
    if survey_round is not None:
        rows = rows.filter(round=survey_round)
    return rows.update(overall=Decimal("9.9999"), area_scores={})


def test_a_rescored_round_keeps_its_answer_counts_and_the_later_rounds(rounds, counted):
    first, middle, last = rounds
    before = built()
    untouched = stamps(first), stamps(last)
    changed = corrupt_scores(middle)
    assert scores.score_round(round_id=middle.pk)["changed"] == changed > 0
    assert [middle.pk not in call for call in counted] == [True] * len(counted)
    assert (stamps(first), stamps(last)) == untouched  # not rebuilt: nothing there changed
    assert stamps(middle) != untouched[0]
    assert built() == before  # what a full rebuild gives


def test_a_full_recompute_after_a_rule_fix_counts_no_answers_again(rounds, counted):
    before = built()
    assert corrupt_scores() > 0
    assert scores.score_all()["scored"] > 0
    assert set(itertools.chain.from_iterable(counted)) == set()
    assert built() == before


def test_a_rescore_that_changes_who_is_scored_counts_the_answers_again(rounds, counted):
    _first, middle, last = rounds
    before = built()
    ResponseScore.objects.filter(round=middle).order_by("pk").first().delete()
    corrupt_scores(middle)
    scores.score_round(round_id=middle.pk)
    # the round and the ones after it: their churn and cohorts may have changed
    assert {middle.pk, last.pk} <= set(itertools.chain.from_iterable(counted))
    assert built() == before


def test_stored_aggregates_that_do_not_match_are_counted_again(rounds, counted):
    _first, middle, _last = rounds
    before = built(middle)
    everyone = RoundAggregate.objects.get(round=middle, population="all", like_for_like=False)
    RoundAggregate.objects.filter(pk=everyone.pk).update(
        n=everyone.n - 1, question_means={}, area_not_applicable={}
    )
    corrupt_scores(middle)
    later = stamps(_last)
    scores.score_round(round_id=middle.pk)
    assert middle.pk in set(itertools.chain.from_iterable(counted))
    assert built(middle) == before
    assert stamps(_last) != later  # what it held may have been wrong: the rounds after too


def test_answer_counts_are_not_kept_from_aggregates_older_than_the_scores(rounds, counted):
    """A recompute that died between a round's scores and its aggregates left them stale;
    a rescore that finds the same scored products must not keep their answer counts."""
    _first, middle, _last = rounds
    answer = Answer.objects.filter(
        response__round=middle, question__key="monitoring-staleness", value=1
    ).first()
    Answer.objects.filter(pk=answer.pk).update(value=0)
    assert scores._score_round(round_id=middle.pk, refresh=False).summary["changed"] == 1
    corrupt_scores(middle)  # then a rule fix: every score differs, the same products scored
    scores.score_round(round_id=middle.pk)
    assert middle.pk in set(itertools.chain.from_iterable(counted))
    rescored = built()
    RoundAggregate.objects.all().delete()
    scores.score_all()
    assert built() == rescored  # as built from scratch: the changed answer is counted


@pytest.mark.skipif(connection.vendor != "postgresql", reason="a PostgreSQL table setting")
def test_score_rows_leave_room_on_their_page_for_an_in_place_rewrite():
    with connection.cursor() as cursor:
        cursor.execute("SELECT reloptions FROM pg_class WHERE relname = 'scoring_responsescore'")
        assert cursor.fetchone()[0] == ["fillfactor=50"]


def test_a_recompute_that_died_before_its_aggregates_is_completed_by_its_retry(rounds):
    _first, middle, _last = rounds
    before = built()
    answer = Answer.objects.filter(
        response__round=middle, question__key="monitoring-staleness", value=1
    ).first()
    Answer.objects.filter(pk=answer.pk).update(value=0)
    # score_all commits each round's scores, then builds the aggregates: it died in between
    assert scores._score_round(round_id=middle.pk, refresh=False).summary["changed"] == 1
    assert built() == before  # stale
    result = scores.score_all()  # the retry finds every score current...
    assert result["scored"] > 0
    retried = built()
    assert retried != before  # ...and still rebuilds the aggregates that do not match them
    RoundAggregate.objects.all().delete()
    scores.score_all()
    assert built() == retried  # as built from scratch


def test_a_spoilt_score_row_is_found_area_by_area_and_put_right(rounds):
    _first, middle, _last = rounds
    row = ResponseScore.objects.filter(round=middle).order_by("pk").first()
    mine = ResponseScore.objects.filter(response_id=row.response_id)  # its id may change
    good = mine.values("area_scores", "area_not_applicable", "overall")[0]
    key = next(iter(good["area_scores"]))
    spoilt = [
        {"area_not_applicable": {}},
        {"area_not_applicable": {**good["area_not_applicable"], key: 7}},
        {"area_scores": {k: v for k, v in good["area_scores"].items() if k != key}},
        {"area_scores": {**good["area_scores"], key: None}},
    ]
    for change in spoilt:
        mine.update(**change)
        assert scores.score_round(round_id=middle.pk)["changed"] == 1, change
        assert mine.values(*good)[0] == good


def test_a_response_rescored_during_a_full_recompute_is_not_overwritten(rounds):
    """score_all builds the aggregates from the scores it holds, once every round is scored;
    a response rescored in between (reopened, changed, submitted again) is not lost."""
    _first, middle, _last = rounds
    corrupt_scores(middle)
    result = scores._score_round(round_id=middle.pk, refresh=False)  # score_all's first step
    answer = Answer.objects.filter(
        response__round=middle, question__key="monitoring-staleness", value=1
    ).first()
    Answer.objects.filter(pk=answer.pk).update(value=0)
    scores.score_response(response_id=answer.response_id)  # meanwhile, as a worker would
    scores.refresh_scored(
        rubric_id=middle.rubric_version.rubric_id,
        round_ids=[middle.pk],
        fresh=result.fresh,
        fresh_like=result.fresh_like,
        same_scored={middle.pk} if result.same_scored else set(),
        written_at={middle.pk: result.written_at},
    )
    after = built()
    RoundAggregate.objects.all().delete()
    scores.score_all()
    assert built() == after  # the rescored response counts with its new score


@pytest.fixture
def runs_computed(monkeypatch):
    """How many times the cohort runs were computed from the scores (a spy)."""
    from apps.scoring import cohort

    calls: list[list[int]] = []
    cohort_runs = cohort.cohort_runs

    def spy(defining):
        calls.append(list(defining))
        return cohort_runs(defining)

    monkeypatch.setattr(cohort, "cohort_runs", spy)
    return calls


def test_a_full_recompute_after_a_rule_fix_keeps_the_stored_cohort(rounds, runs_computed):
    """Every score rewritten, the same responses scored: the cohort cannot have changed and is
    read as stored, not computed again from every score."""
    before = built()
    assert corrupt_scores() > 0
    scores.score_all()
    assert runs_computed == []
    assert built() == before


def test_a_full_recompute_that_changes_who_is_scored_updates_the_cohort(rounds, runs_computed):
    """A response no longer submitted loses its score in a full recompute: its product leaves
    the cohort (runs computed again), and everything is what a rebuild from scratch gives."""
    from apps.scoring.models import CohortMember, CohortState
    from apps.surveys.models import Response

    first, middle, _last = rounds
    corrupt_scores()
    leaving = ResponseScore.objects.filter(round=middle).order_by("pk").first().response
    member = CohortMember.objects.filter(product=leaving.product_id, since=first).exists()
    assert member  # in the cohort from the first round
    Response.objects.filter(pk=leaving.pk).update(status="draft", submitted_at=None)
    scores.score_all()
    assert runs_computed
    incremental = built(), set(CohortMember.objects.values_list("product_id", "since_id"))
    # no longer scored in the middle round: in no cohort from the first round on
    assert (leaving.product_id, first.pk) not in incremental[1]
    RoundAggregate.objects.all().delete()
    CohortMember.objects.all().delete()
    CohortState.objects.all().delete()
    aggregates.refresh_aggregates(rubric_id=first.rubric_version.rubric_id)
    assert (built(), set(CohortMember.objects.values_list("product_id", "since_id"))) == (
        incremental
    )


def test_a_change_of_the_cohort_code_has_the_next_recompute_compute_the_cohort(
    rounds, runs_computed, monkeypatch
):
    """Nothing rescored, but the code that decides the cohort changed (a rule fix): the next
    full recompute computes the runs again and records the code they were computed by."""
    from apps.scoring import cohort
    from apps.scoring.models import CohortState

    before = built()
    scores.score_all()
    assert runs_computed == []  # the same code: the stored cohort stands
    monkeypatch.setattr(cohort, "code_basis", lambda: "a fixed cohort.py")
    scores.score_all()
    assert len(runs_computed) == 1
    assert set(CohortState.objects.values_list("basis", flat=True)) == {"a fixed cohort.py"}
    assert built() == before


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
@pytest.mark.postgresql(reason="rounds are scored two at once on PostgreSQL only")
def test_a_full_recompute_outside_a_transaction_scores_rounds_in_threads(rounds, monkeypatch):
    """score_all run as a job runs it (outside a transaction) scores the rounds in worker
    threads, each round in its own transaction and connection; it stores what scoring one
    round after the other stores, after a fix of the scoring code too."""
    import threading

    from django.db import transaction

    workers: set[str] = set()
    score_round = scores._score_round

    def spy(**kwargs):
        workers.add(threading.current_thread().name)
        return score_round(**kwargs)

    monkeypatch.setattr(scores, "_score_round", spy)
    monkeypatch.setattr(aggregates, "_code_digest", lambda: "a fixed rules.py")
    stored = sorted(ResponseScore.objects.values_list("response_id", "overall", "area_scores"))
    corrupt_scores()
    scores.score_all()
    assert workers and threading.current_thread().name not in workers
    assert len(workers) <= scores.WORKERS
    at_once = built()
    assert sorted(ResponseScore.objects.values_list("response_id", "overall", "area_scores")) == (
        stored
    )
    workers.clear()
    RoundAggregate.objects.all().delete()
    corrupt_scores()
    with transaction.atomic():  # one after the other: threads could not see its writes
        scores.score_all()
    assert workers == {threading.current_thread().name}
    assert built() == at_once
