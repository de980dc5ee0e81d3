"""Computing and storing scores and round aggregates, and running scoring jobs.

Every number shown on a dashboard or exported comes from the rows written here. A round is
recomputed in one transaction that replaces its rows, so readers never see half a round; a
job's state lives in the database, so a job lost with a killed worker is restarted by the
periodic sweep, and running any job twice gives the same rows.
"""

from __future__ import annotations

import gc
import json
import logging
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import timedelta
from decimal import Decimal
from typing import NamedTuple

from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone
from kombu.exceptions import OperationalError as KombuOperationalError

from apps.scoring import rules, selectors
from apps.scoring.models import (
    CohortMember,
    CohortState,
    ResponseScore,
    RoundAggregate,
    ScoringJob,
)
from apps.scoring.selectors import Outcome
from apps.scoring.signals import aggregates_changed
from apps.scoring.statistics import describe, mean
from apps.surveys.models import Response, SurveyRound

logger = logging.getLogger(__name__)

STALE_RUNNING = timedelta(minutes=10)  # no heartbeat for this long: the worker is gone
STALE_QUEUED = timedelta(minutes=2)  # still queued after this long: the enqueue was lost
MAX_ATTEMPTS = 5

Progress = Callable[[int, int], None]


class ScoreRow(NamedTuple):
    response_id: int
    product_id: int
    outcome: Outcome  # what is compared with the stored row
    area_scores: dict[str, str | None]  # area key → score as a decimal string, or None


def _score_rows(
    shape: selectors.VersionShape,
    responses: list[tuple[int, int]],
    tallies: selectors.RoundTallies,
) -> tuple[list[ScoreRow], int]:
    """Score rows for (response, product) pairs, and the number of responses left incomplete.

    Each distinct area tally of the round is scored once; per response, its area scores are
    combined (overall, band, binding area) by the same rules as `rules.score`.
    """
    rule, keys = shape.rule, list(shape.area_ids)
    complete = [rules.is_area_complete(t) for t in tallies.distinct]
    scores = [rules.area_score(rule, t) for t in tallies.distinct]
    texts = [None if value is None else str(value) for value in scores]
    # Each distinct tally's `"key": "score"` member of the JSON, and the order jsonb prints
    # an object's keys in (shortest first, then bytewise), so the text compares with stored.
    members = [
        f"{json.dumps(keys[area])}: {json.dumps(texts[i])}" for i, area in enumerate(tallies.areas)
    ]
    order = sorted(range(len(keys)), key=lambda a: (len(keys[a].encode()), keys[a].encode()))
    band_ids, area_ids = shape.band_ids, shape.area_ids
    unanswered = list(range(len(keys)))  # a response without answers: the empty tallies
    rows, incomplete = [], 0
    for response_id, product_id in responses:
        slots = tallies.responses.get(response_id, unanswered)
        if not all([complete[i] for i in slots]):
            incomplete += 1
            continue
        result = rules.combine(rule, {key: scores[i] for key, i in zip(keys, slots, strict=True)})
        outcome = Outcome(
            "{" + ", ".join([members[slots[a]] for a in order]) + "}",
            result.overall,
            None if result.band is None else band_ids[result.band],
            area_ids.get(result.binding_area),
        )
        areas = {key: texts[i] for key, i in zip(keys, slots, strict=True)}
        rows.append(ScoreRow(response_id, product_id, outcome, areas))
    return rows, incomplete


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Pause Python's cycle collector while a round's rows are built: they are tens of
    thousands of small acyclic objects, and the full collections they trigger cost about a
    sixth of a recompute. Reference counting still frees everything as usual."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def score_round(*, round_id: int, refresh: bool = True) -> dict[str, int]:
    """Recompute every submitted response of a round, replacing its scores in one transaction.

    The round's aggregates are rebuilt in the same transaction (and every round's, when the
    cohort changes); score_all passes refresh=False and rebuilds them once at the end.
    """
    with transaction.atomic(), _collector_paused():
        # Locking the round serialises recomputes of the same round (e.g. a retried job).
        survey_round = (
            SurveyRound.objects.select_for_update(of=("self",))
            .select_related("rubric_version")
            .get(pk=round_id)
        )
        shape = selectors.version_shape(survey_round.rubric_version_id)
        responses = selectors.submitted_responses(round_id)
        tallies = selectors.compact_tallies(shape, round_id=round_id)
        rows, incomplete = _score_rows(shape, responses, tallies)
        # Only rows whose score differs are replaced: closing a round, retrying a job or
        # recomputing on demand usually finds every stored score current and writes nothing.
        stored = selectors.stored_outcomes(round_id, shape)
        before = {product for product, outcome in stored.values() if outcome.overall is not None}
        updated, added = [], []
        for row in rows:
            if row.response_id not in stored:
                added.append(row)
            elif stored.pop(row.response_id) != row[1:3]:
                updated.append(row)
        gone = list(stored)  # scored before, not now (reopened, or incomplete under a fix)
        after = {row.product_id for row in rows if row.outcome.overall is not None}
        changed = updated + added
        if changed or gone:
            _write_scores(
                shape,
                survey_round,
                rows=changed,
                replaced=[row.response_id for row in updated] + gone,
            )
        if refresh:
            refresh_aggregates(
                rubric_id=survey_round.rubric_version.rubric_id,
                round_ids=[survey_round.pk],
                known=shape,
                fresh={survey_round.pk: rows},
                scores_changed=bool(changed or gone),
                cohort_may_change=before != after,
            )
    return {
        "round": survey_round.pk,
        "scored": len(rows),
        "incomplete": incomplete,
        "changed": len(changed) + len(gone),
    }


# COPY's column order: the per-response columns, then the ones shared by a whole outcome,
# then the ones constant over the round.
SCORE_COLUMNS = (
    "response_id",
    "product_id",
    "area_scores",
    "overall",
    "band_id",
    "binding_area_id",
    "round_id",
    "rubric_version_id",
    "area_aggregation",
    "not_applicable_policy",
    "overall_rule",
    "computed_at",
)


def _copy_text(value) -> str:
    """A value in COPY's text format (the values written here never hold tabs or newlines)."""
    if value is None:
        return "\\N"
    return str(value).replace("\\", "\\\\")


def _copy_lines(rows: list[ScoreRow], constant: str) -> Iterator[str]:
    """Score rows as lines of COPY text, formatted by hand: this runs once per response."""
    null = "\\N"
    for response_id, product_id, (area_json, overall, band_id, binding_id), _ in rows:
        yield (
            f"{response_id}\t{product_id}\t{area_json}\t{null if overall is None else overall}"
            f"\t{null if band_id is None else band_id}"
            f"\t{null if binding_id is None else binding_id}\t{constant}\n"
        )


def _write_scores(
    shape: selectors.VersionShape,
    survey_round: SurveyRound,
    *,
    rows: Sequence[ScoreRow],
    replaced: Sequence[int] = (),
) -> None:
    """Delete the score rows of the `replaced` responses and insert `rows` (with one COPY on
    PostgreSQL, the bulk of the write time)."""
    rule = shape.rule
    constant = (
        survey_round.pk,
        shape.version_id,
        rule.area_aggregation,
        rule.not_applicable,
        rule.overall,
        timezone.now(),
    )
    if connection.vendor != "postgresql":
        ResponseScore.objects.filter(response_id__in=replaced).delete()
        ResponseScore.objects.bulk_create(
            ResponseScore(
                **dict(
                    zip(
                        SCORE_COLUMNS,
                        (*row[:2], row.area_scores, *row.outcome[1:], *constant),
                        strict=True,
                    )
                )
            )
            for row in rows
        )
        return
    table = ResponseScore._meta.db_table
    with connection.cursor() as cursor:
        # Scores can always be recomputed, so their commit need not wait for the disk; a later
        # synchronous commit (the job's state) still flushes them first, WAL being sequential.
        cursor.execute("SET LOCAL synchronous_commit TO OFF")
        if replaced:
            cursor.execute(f"DELETE FROM {table} WHERE response_id = ANY(%s)", [list(replaced)])
        if rows:
            text = "".join(_copy_lines(rows, "\t".join(map(_copy_text, constant))))
            columns = ", ".join(SCORE_COLUMNS)
            with cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                copy.write(text.encode())


def score_response(*, response_id: int) -> dict[str, int]:
    """Score one response (after submit): its row is replaced or removed, aggregates follow."""
    with transaction.atomic():
        response = Response.objects.get(pk=response_id)
        survey_round = (
            SurveyRound.objects.select_for_update(of=("self",))
            .select_related("rubric_version")
            .get(pk=response.round_id)
        )
        shape = selectors.version_shape(survey_round.rubric_version_id)
        rows: list[ScoreRow] = []
        incomplete = 0
        if response.status == Response.Status.SUBMITTED:
            tallies = selectors.compact_tallies(shape, response_id=response_id)
            rows, incomplete = _score_rows(shape, [(response.pk, response.product_id)], tallies)
        ResponseScore.objects.filter(response_id=response_id).delete()
        _write_scores(shape, survey_round, rows=rows)
        # The round's aggregates are rebuilt from its stored rows (all of them, not just this).
        refresh_aggregates(
            rubric_id=survey_round.rubric_version.rubric_id,
            round_ids=[survey_round.pk],
            known=shape,
        )
    return {"response": response_id, "scored": len(rows), "incomplete": incomplete}


def score_all(*, progress: Progress | None = None) -> dict[str, int]:
    """Recompute every round that has opened, one transaction per round (after a rule fix)."""
    rounds = list(
        SurveyRound.objects.exclude(state=SurveyRound.State.PLANNED)
        .order_by("opens_at", "key")
        .values_list("pk", "rubric_version__rubric_id")
    )
    totals: Counter[str] = Counter()
    for done, (round_id, _rubric_id) in enumerate(rounds, start=1):
        result = score_round(round_id=round_id, refresh=False)
        totals.update(scored=result["scored"], incomplete=result["incomplete"])
        if progress:
            progress(done, len(rounds))
    for rubric_id in sorted({rubric_id for _round_id, rubric_id in rounds}):
        refresh_aggregates(rubric_id=rubric_id)
    return {"rounds": len(rounds), **totals}


def refresh_aggregates(
    *,
    rubric_id: int,
    round_ids: list[int] | None = None,
    known: selectors.VersionShape | None = None,
    fresh: dict[int, list[ScoreRow]] | None = None,
    scores_changed: bool = True,
    cohort_may_change: bool = True,
) -> int:
    """Rebuild the `all` and `cohort` aggregates of a rubric's rounds (or of some of them).

    When the cohort has changed (a round closed, a closed round was rescored), every round's
    cohort point changes, so every round is rebuilt; when neither the cohort nor the rounds'
    scores changed (`scores_changed=False`), existing aggregates are kept. `fresh` holds
    score rows just computed, to save reading them back.
    """
    rounds = selectors.rubric_rounds(rubric_id)
    defining = selectors.defining_round_ids(rounds)
    with transaction.atomic():
        # The state row exists before it is locked, so the first build is serialised too.
        CohortState.objects.get_or_create(rubric_id=rubric_id)
        state = CohortState.objects.select_for_update().get(rubric_id=rubric_id)
        if cohort_may_change or state.defining_round_ids != defining:
            cohort = selectors.stored_cohort(rubric_id)
            fresh_cohort = selectors.cohort_product_ids(defining)
            if fresh_cohort != cohort:
                CohortMember.objects.filter(rubric_id=rubric_id).delete()
                CohortMember.objects.bulk_create(
                    CohortMember(rubric_id=rubric_id, product_id=product_id)
                    for product_id in fresh_cohort
                )
                cohort, round_ids, scores_changed = fresh_cohort, None, True
            state.defining_round_ids = defining
            state.save()
        elif not scores_changed and round_ids is not None:
            kept = RoundAggregate.objects.filter(round_id__in=round_ids).count()
            if kept == len(round_ids) * len(RoundAggregate.Population):
                return 0
            cohort = selectors.stored_cohort(rubric_id)
        else:
            cohort = selectors.stored_cohort(rubric_id)
        targets = [r for r in rounds if round_ids is None or r.pk in round_ids]
        shapes = {known.version_id: known} if known else {}
        for version_id in {r.rubric_version_id for r in targets} - shapes.keys():
            shapes[version_id] = selectors.version_shape(version_id)
        scores = _score_tuples(targets, fresh or {})
        questions = selectors.question_means(rubric_id, [r.pk for r in targets])
        now = timezone.now()
        aggregates = []
        for survey_round in targets:
            shape, rows = shapes[survey_round.rubric_version_id], scores[survey_round.pk]
            for population, members in (
                (RoundAggregate.Population.ALL, rows),
                (RoundAggregate.Population.COHORT, [row for row in rows if row[0] in cohort]),
            ):
                aggregates.append(
                    RoundAggregate(
                        round=survey_round,
                        rubric_id=rubric_id,
                        population=population,
                        computed_at=now,
                        question_means=questions.get((survey_round.pk, population), {}),
                        **summarize(shape, members),
                    )
                )
        RoundAggregate.objects.filter(round__in=targets).delete()
        RoundAggregate.objects.bulk_create(aggregates)
        transaction.on_commit(
            lambda: aggregates_changed.send(sender=RoundAggregate, rubric_id=rubric_id)
        )
    return len(aggregates)


def _score_tuples(
    rounds: list[SurveyRound], fresh: dict[int, list[ScoreRow]]
) -> dict[int, list[tuple]]:
    """(product, overall, area scores, band, binding area) per round, read once."""
    scores: dict[int, list[tuple]] = {
        r.pk: [
            (row.product_id, row.outcome.overall, row.area_scores, *row.outcome[2:])
            for row in fresh.get(r.pk, ())
        ]
        for r in rounds
    }
    to_read = [r.pk for r in rounds if r.pk not in fresh]
    if to_read:
        for row in ResponseScore.objects.filter(round_id__in=to_read).values_list(
            "round_id", "product_id", "overall", "area_scores", "band_id", "binding_area_id"
        ):
            scores[row[0]].append(row[1:])
    return scores


def summarize(shape: selectors.VersionShape, rows: list[tuple]) -> dict:
    """Statistics of (product, overall, area scores, band, binding area) rows."""
    overall = [row[1] for row in rows if row[1] is not None]
    area_values: dict[str, list[Decimal]] = {key: [] for key in shape.area_ids}
    for row in rows:
        for key, value in row[2].items():
            if value is not None and key in area_values:
                area_values[key].append(Decimal(value))
    bands = Counter(row[3] for row in rows if row[3] is not None)
    binding = Counter(row[4] for row in rows if row[4] is not None)
    keys = shape.area_keys_by_id
    return {
        **describe(overall),
        "area_means": {key: str(mean(v)) if v else None for key, v in area_values.items()},
        "band_counts": [
            {
                "order": band.order,
                "label_en": band.label_en,
                "label_ja": band.label_ja,
                "count": bands.get(band.pk, 0),
            }
            for band in shape.bands
        ],
        "binding_counts": {keys[area_id]: binding.get(area_id, 0) for area_id in keys},
    }


# --- jobs ---------------------------------------------------------------------------------


def request_scoring(
    *,
    kind: str,
    round_id: int | None = None,
    response_id: int | None = None,
    requested_by=None,
) -> ScoringJob:
    """Record a scoring job and enqueue it once the caller's transaction commits."""
    job = ScoringJob.objects.create(
        kind=kind, round_id=round_id, response_id=response_id, requested_by=requested_by
    )
    transaction.on_commit(lambda: enqueue(job.pk), robust=True)
    return job


def enqueue(job_id: int) -> None:
    """Hand a job to Celery; if the broker is down the job stays queued for the sweep."""
    from apps.scoring.tasks import run_scoring_job
    from config.celery import app

    ScoringJob.objects.filter(pk=job_id).update(enqueued_at=timezone.now())
    if app.conf.task_always_eager:
        # No broker: the job runs here and now; a failure is recorded on the job itself.
        try:
            run_scoring_job.delay(job_id)
        except Exception:
            logger.exception("Scoring job %s failed", job_id)
        return
    try:
        run_scoring_job.delay(job_id)
    except (KombuOperationalError, ConnectionError, OSError):
        logger.warning("Could not enqueue scoring job %s; the sweep will retry", job_id)


def run_job(*, job_id: int) -> ScoringJob:
    """Run a job to completion (again, if it ran before: every job is idempotent).

    A copy delivered while another worker is visibly working on the job (fresh heartbeat)
    is dropped; a job that keeps failing stops after MAX_ATTEMPTS.
    """
    with transaction.atomic():
        job = ScoringJob.objects.select_for_update().get(pk=job_id)
        now = timezone.now()
        busy = job.state == ScoringJob.State.RUNNING and job.heartbeat_at > now - STALE_RUNNING
        if job.state in (ScoringJob.State.DONE, ScoringJob.State.FAILED) or busy:
            return job
        if job.attempts >= MAX_ATTEMPTS:
            job.state, job.finished_at = ScoringJob.State.FAILED, now
            job.error = f"gave up after {job.attempts} attempts"
            job.save()
            return job
        job.state, job.attempts, job.error = ScoringJob.State.RUNNING, job.attempts + 1, ""
        job.started_at = job.heartbeat_at = now
        job.done, job.total = 0, 1 if job.kind != ScoringJob.Kind.ALL else job.total
        job.save()

    def progress(done: int, total: int) -> None:
        ScoringJob.objects.filter(pk=job_id).update(
            done=done, total=total, heartbeat_at=timezone.now()
        )

    try:
        if job.kind == ScoringJob.Kind.RESPONSE:
            summary = score_response(response_id=job.response_id)
        elif job.kind == ScoringJob.Kind.ROUND:
            summary = score_round(round_id=job.round_id)
        else:
            summary = score_all(progress=progress)
    except Exception as error:
        ScoringJob.objects.filter(pk=job_id).update(
            state=ScoringJob.State.FAILED, error=repr(error), finished_at=timezone.now()
        )
        raise
    job.refresh_from_db()
    job.state, job.summary, job.finished_at = ScoringJob.State.DONE, summary, timezone.now()
    job.done = job.total = max(job.total, 1)
    job.save()
    return job


def _stale(now, running_for: timedelta, queued_for: timedelta) -> Q:
    queued_long_ago = Q(enqueued_at__lte=now - queued_for) | Q(
        enqueued_at__isnull=True, created_at__lte=now - queued_for
    )
    return Q(state=ScoringJob.State.RUNNING, heartbeat_at__lte=now - running_for) | (
        Q(state=ScoringJob.State.QUEUED) & queued_long_ago
    )


def restart_stale_jobs(
    *, running_for: timedelta = STALE_RUNNING, queued_for: timedelta = STALE_QUEUED
) -> list[int]:
    """Re-enqueue jobs whose worker died (no heartbeat) or whose enqueue was lost.

    Each job is claimed with a conditional update, so a job that started or finished since
    it was read is left alone, and two sweeps never enqueue the same job twice.
    """
    now = timezone.now()
    stale = _stale(now, running_for, queued_for)
    restarted = []
    for job_id in ScoringJob.objects.filter(stale).values_list("pk", flat=True):
        claimed = ScoringJob.objects.filter(stale, pk=job_id).update(
            state=ScoringJob.State.QUEUED, enqueued_at=timezone.now()
        )
        if claimed:
            restarted.append(job_id)
            enqueue(job_id)
    return restarted
