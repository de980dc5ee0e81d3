"""Computing and storing the score of every submitted response.

Every number shown on a dashboard or exported comes from the rows written here (and the
aggregates built from them). A round is recomputed in one transaction that replaces its
changed rows, so readers never see half a round; running it twice gives the same rows.
"""

from __future__ import annotations

import gc
import itertools
import json
import queue
import threading
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import NamedTuple

from django.db import connection, connections, transaction
from django.db.models import Count, Max
from django.utils import timezone

from apps.scoring import rules, selectors, sql_rules, tallies
from apps.scoring.aggregates import (
    LikeScores,
    ScoredProduct,
    like_for_like_state,
    refresh_aggregates,
)
from apps.scoring.models import ResponseScore, RoundAggregate
from apps.scoring.selectors import Outcome
from apps.surveys.models import Response, SurveyRound

Progress = Callable[[int, int], None]


class ScoreRow(NamedTuple):
    response_id: int
    product_id: int
    outcome: Outcome  # what is compared with the stored row
    area_scores: dict[str, str | None]  # area key → score as a decimal string, or None

    def scored(self) -> ScoredProduct:
        """The row as the aggregates read it."""
        outcome = self.outcome
        return ScoredProduct(
            self.product_id,
            outcome.overall,
            self.area_scores,
            outcome.band_id,
            outcome.binding_area_id,
        )


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
    na_members = [
        f"{json.dumps(keys[area])}: {tallies.distinct[i].not_applicable}"
        for i, area in enumerate(tallies.areas)
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
            "{" + ", ".join([na_members[slots[a]] for a in order]) + "}",
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
    return _score_round(round_id=round_id, refresh=refresh).summary


class RoundScored(NamedTuple):
    summary: dict[str, int]
    fresh: dict[int, list[ScoredProduct]] | None  # round → its scores, when read or computed
    same_scored: bool  # the same scored products (only scores changed, if any), and
    # aggregates that matched the stored scores before
    fresh_like: dict[int, LikeScores]  # round → its like-for-like scores, if taken
    written_at: datetime  # the computed_at of the rows it wrote
    cohort_may_change: bool  # the scored products may differ from the stored ones


def _score_round(
    *,
    round_id: int,
    refresh: bool = True,
    like: tuple[sql_rules.Like, str] | None = None,
    rescore_like: bool = False,
    shapes: dict[int, selectors.VersionShape] | None = None,
) -> RoundScored:
    with transaction.atomic(), _collector_paused():
        # Locking the round serialises recomputes of the same round (e.g. a retried job).
        survey_round = (
            SurveyRound.objects.select_for_update(of=("self",))
            .select_related("rubric_version")
            .get(pk=round_id)
        )
        rubric_id = survey_round.rubric_version.rubric_id
        # a version's shape, read once per full recompute (`shapes`: those read so far)
        shapes = {} if shapes is None else shapes
        version_id = survey_round.rubric_version_id
        if version_id not in shapes:
            shapes[version_id] = selectors.version_shape(survey_round.rubric_version)
        shape = shapes[version_id]
        fresh_like: dict[int, LikeScores] = {}
        matched = False  # the round's stored aggregates matched its stored scores
        now = timezone.now()  # the rows written get it as their computed_at
        if sql_rules.expresses(shape):
            # PostgreSQL scores, compares and writes the round itself from the area
            # tallies the triggers keep: no answer or tally travels to Python, and no
            # score unless some changed (then the round's scores come back for its
            # aggregates, with, given `like` (what it compares, and its basis), its
            # like-for-like scores, from the tallies of the compared questions).
            # With `rescore_like` (like-for-like is stale) they come back unchanged too.
            result = sql_rules.score_round(
                shape,
                round_id=round_id,
                now=now,
                like=like[0] if like else None,
                every=rescore_like and like is not None,
            )
            scored, incomplete, changed = result.scored, result.incomplete, result.changed
            cohort_may_change = result.scored_products_differ
            fresh = None
            if result.scores is not None:  # the aggregates will be rebuilt from these
                fresh = {round_id: result.scores}
                matched = not cohort_may_change and _aggregates_match(
                    _stored_aggregates([round_id]).get(round_id, {}),
                    result.stored_scored,
                    result.stored_latest,
                )
                if like and result.like_scores is not None:
                    fresh_like = {
                        round_id: LikeScores(
                            shape.version_id,
                            result.compared_ids or [],
                            list(like[0].questions),
                            like[1],
                            result.like_scores,
                        )
                    }
        else:
            matched = round_id in current_aggregates([round_id])
            scored, incomplete, changed, fresh, cohort_may_change = _score_round_in_python(
                shape, survey_round, now
            )
        # The same scored responses, and aggregates that matched the scores before: only the
        # scores changed, if any (the refresh keeps the answer counts and the later rounds).
        same_scored = bool(changed or rescore_like) and not cohort_may_change and matched
        if refresh:
            refresh_aggregates(
                rubric_id=rubric_id,
                round_ids=[survey_round.pk],
                known=shape,
                fresh=fresh,
                scores_changed=bool(changed),
                cohort_may_change=cohort_may_change,
                same_scored={survey_round.pk} if same_scored else (),
                fresh_like=fresh_like,
            )
    summary = {
        "round": survey_round.pk,
        "scored": scored,
        "incomplete": incomplete,
        "changed": changed,
    }
    return RoundScored(summary, fresh, same_scored, fresh_like, now, cohort_may_change)


def _score_round_in_python(
    shape: selectors.VersionShape, survey_round: SurveyRound, now: datetime
) -> tuple[int, int, int, dict[int, list[ScoredProduct]], bool]:
    """Score a round with rules.py (SQLite, and rules the SQL statement cannot express):
    scored, incomplete and changed counts, the fresh rows, and whether the scored products
    differ from the stored ones (then the cohort may change)."""
    round_id = survey_round.pk
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
            now=now,
        )
    fresh = {round_id: [row.scored() for row in rows]}
    return len(rows), incomplete, len(changed) + len(gone), fresh, before != after


# COPY's column order: the per-response columns, then the ones shared by a whole outcome,
# then the ones constant over the round.
SCORE_COLUMNS = (
    "response_id",
    "product_id",
    "area_scores",
    "overall",
    "band_id",
    "binding_area_id",
    "area_not_applicable",
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
    for response_id, product_id, (area_json, overall, band_id, binding_id, na_json), _ in rows:
        yield (
            f"{response_id}\t{product_id}\t{area_json}\t{null if overall is None else overall}"
            f"\t{null if band_id is None else band_id}"
            f"\t{null if binding_id is None else binding_id}\t{na_json}\t{constant}\n"
        )


def _write_scores(
    shape: selectors.VersionShape,
    survey_round: SurveyRound,
    *,
    rows: Sequence[ScoreRow],
    replaced: Sequence[int] = (),
    now: datetime | None = None,
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
        now or timezone.now(),
    )
    if connection.vendor != "postgresql":
        ResponseScore.objects.filter(response_id__in=replaced).delete()
        ResponseScore.objects.bulk_create(
            ResponseScore(
                **dict(
                    zip(
                        SCORE_COLUMNS,
                        (
                            *row[:2],
                            row.area_scores,
                            *row.outcome[1:4],
                            json.loads(row.outcome.not_applicable_json),
                            *constant,
                        ),
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
            with (
                connection.wrap_database_errors,
                cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy,
            ):
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


def current_aggregates(round_ids: list[int]) -> set[int]:
    """The rounds whose `all` aggregates match their stored scores (_aggregates_match), in
    two queries."""
    scores = _stored_scores(round_ids)
    return {
        round_id
        for round_id, kinds in _stored_aggregates(round_ids).items()
        if _aggregates_match(kinds, *scores.get(round_id, (0, 0, None))[1:])
    }


def _stored_scores(round_ids: list[int]) -> dict[int, tuple[int, int, datetime]]:
    """round → (score rows, rows with an overall score, newest computed_at), in one query."""
    return {
        round_id: (rows, scored, latest)
        for round_id, rows, scored, latest in ResponseScore.objects.filter(round_id__in=round_ids)
        .values("round_id")
        .annotate(rows=Count("pk"), scored=Count("overall"), latest=Max("computed_at"))
        .values_list("round_id", "rows", "scored", "latest")
    }


def _stored_aggregates(round_ids: list[int]) -> dict[int, dict[bool, tuple[int, datetime]]]:
    """round → like-for-like? → (n, computed_at) of its stored `all` aggregates."""
    stored: dict[int, dict[bool, tuple[int, datetime]]] = {}
    for round_id, like, n, computed_at in RoundAggregate.objects.filter(
        round_id__in=round_ids, population=RoundAggregate.Population.ALL
    ).values_list("round_id", "like_for_like", "n", "computed_at"):
        stored.setdefault(round_id, {})[like] = (n, computed_at)
    return stored


def _aggregates_match(
    kinds: dict[bool, tuple[int, datetime]], scored: int, latest: datetime | None
) -> bool:
    """Whether a round's `all` aggregates (scored and like-for-like) are both there, were
    built after its newest score and, as scored, count `scored` products (like-for-like may
    count fewer: a response whose common questions are all N/A has no like-for-like score)."""
    return (
        kinds.keys() == {False, True}
        and kinds[False][0] == scored
        and all(latest is None or computed_at >= latest for _n, computed_at in kinds.values())
    )


def score_all(*, progress: Progress | None = None) -> dict[str, int]:
    """Recompute every round that has opened, one transaction per round (after a rule fix).

    Then the cohort is checked, and the aggregates of the rounds whose scores changed (or
    that have none) are rebuilt: every round's when the cohort changed.
    """
    rounds = list(
        SurveyRound.objects.exclude(state=SurveyRound.State.PLANNED)
        .order_by("opens_at", "key")
        .values_list("pk", "rubric_version__rubric_id")
    )
    totals: Counter[str] = Counter()
    changed: set[int] = set()
    same_scored: set[int] = set()  # only their scores changed, if any (RoundScored.same_scored)
    fresh: dict[int, list[ScoredProduct]] = {}
    fresh_like: dict[int, LikeScores] = {}
    written_at: dict[int, datetime] = {}
    # Like-for-like's state per rubric: whether its stored statistics compared what is
    # compared now, and what the rounds' statements score it from, when the rule of the
    # newest version is one they express (its compared questions kept the comparison first,
    # for the tallies). It is wanted when it is not current (a new version in view, a fix of
    # the scoring code), or when a round's scored products changed: the round before tells.
    likes_current: dict[int, bool] = {}
    like: dict[int, tuple[sql_rules.Like, str] | None] = {}
    for rubric_id in dict.fromkeys(rubric_id for _round_id, rubric_id in rounds):
        comparison, newest, likes_current[rubric_id] = like_for_like_state(rubric_id)
        like[rubric_id] = None
        if comparison.question_ids and newest is not None and sql_rules.expresses(newest):
            tallies.keep_compared(rubric_id, comparison.question_ids)
            questions = {area: len(keys) for area, keys in comparison.areas.items()}
            like[rubric_id] = (sql_rules.Like(questions, newest), comparison.stored["basis"])
    wanted = False
    # each version's shape, read once (before the threads share them)
    shapes = {
        version_id: selectors.version_shape(version_id)
        for version_id in SurveyRound.objects.filter(pk__in=[r for r, _rubric in rounds])
        .values_list("rubric_version_id", flat=True)
        .distinct()
        .order_by()
    }
    cohort_may_change: set[int] = set()  # rounds whose scored products may have changed

    def score(round_id: int, rubric_id: int) -> RoundScored:
        return _score_round(
            round_id=round_id,
            refresh=False,
            like=like[rubric_id] if wanted or not likes_current[rubric_id] else None,
            # stale like-for-like is scored again by every round's statement, changed or not
            rescore_like=not likes_current[rubric_id],
            shapes=shapes,
        )

    for done, result in enumerate(_scored_at_once(rounds, score), start=1):
        wanted = bool(result.summary["changed"]) and not result.same_scored
        if result.cohort_may_change or wanted:
            cohort_may_change.add(result.summary["round"])
        totals.update(scored=result.summary["scored"], incomplete=result.summary["incomplete"])
        if result.summary["changed"]:
            changed.add(result.summary["round"])
        if result.same_scored:
            same_scored.add(result.summary["round"])
        fresh.update(result.fresh or {})  # a round's scores, as just written or compared
        fresh_like.update(result.fresh_like)
        written_at[result.summary["round"]] = result.written_at
        if progress:
            progress(done, len(rounds))
    # Rounds whose aggregates do not match their stored scores are rebuilt too, whatever
    # this run changed: a recompute that died between a round's commit and the aggregates'
    # left them so, and its retry finds every score current.
    # Every round's, when the rubric's like-for-like was built on another basis (a fix of
    # the scoring code may change it and no round's own scores).
    aggregated = current_aggregates([r for r, _ in rounds if r not in changed])
    for rubric_id in sorted({rubric_id for _round_id, rubric_id in rounds}):
        targets = [
            round_id
            for round_id, rubric in rounds
            if rubric == rubric_id
            and (round_id in changed or round_id not in aggregated or not likes_current[rubric])
        ]
        # The cohort is checked again unless every round rebuilt kept its scored products
        # (a round rebuilt unchanged had stale aggregates: its cohort may be stale too).
        stale = {r for r in targets if r not in changed and r not in aggregated}
        refresh_scored(
            rubric_id=rubric_id,
            round_ids=targets,
            cohort_may_change=bool(stale or cohort_may_change.intersection(targets)),
            fresh={r: rows for r, rows in fresh.items() if r in targets},
            fresh_like=fresh_like,
            same_scored=same_scored,
            written_at=written_at,
        )
    return {"rounds": len(rounds), **totals}


# Rounds a full recompute scores at once on PostgreSQL, each in its own transaction on its
# own connection: while one round's statement runs in the database, the other's scores are
# read into Python (on two cores, a full recompute takes about half as long).
WORKERS = 2


def _scored_at_once(
    rounds: list[tuple[int, int]], score: Callable[[int, int], RoundScored]
) -> Iterator[RoundScored]:
    """score(round, rubric) of each round, `WORKERS` at once in threads on PostgreSQL, as they
    finish; each is asked for when one finishes, so `score` sees what the caller made of the
    results before. One after the other inside a transaction (the threads' connections could
    not see what it wrote) and on SQLite (one writer at a time)."""
    if connection.vendor != "postgresql" or connection.in_atomic_block or WORKERS < 2:
        for round_id, rubric_id in rounds:
            yield score(round_id, rubric_id)
        return
    tasks: queue.SimpleQueue = queue.SimpleQueue()
    results: queue.SimpleQueue = queue.SimpleQueue()

    def work() -> None:
        try:
            while (task := tasks.get()) is not None:
                try:
                    results.put((score(*task), None))
                except BaseException as error:  # re-raised by the caller's thread
                    results.put((None, error))
        finally:
            connections.close_all()  # this thread's own

    threads = [threading.Thread(target=work, daemon=True) for _ in range(WORKERS)]
    for thread in threads:
        thread.start()
    waiting = iter(rounds)
    running = 0
    try:
        for task in itertools.islice(waiting, WORKERS):
            tasks.put(task)
            running += 1
        while running:
            result, error = results.get()
            running -= 1
            if error is not None:
                raise error
            yield result
            task = next(waiting, None)
            if task is not None:
                tasks.put(task)
                running += 1
    finally:
        for _thread in threads:
            tasks.put(None)
        for thread in threads:
            thread.join()


def refresh_scored(
    *,
    rubric_id: int,
    round_ids: list[int],
    fresh: dict[int, list[ScoredProduct]],
    fresh_like: dict[int, LikeScores],
    same_scored: set[int],
    written_at: dict[int, datetime],
    cohort_may_change: bool = True,
) -> None:
    """score_all's refresh of a rubric's aggregates from the scores it computed, each round
    committed a while ago: under the lock of those rounds (which score_response takes too,
    before the cohort's), a round whose stored rows changed since it was scored (a response
    rescored meanwhile) is read again rather than built from the scores held here."""
    with transaction.atomic():
        held = sorted(fresh)
        rows = SurveyRound.objects.select_for_update().filter(pk__in=held)
        list(rows.order_by("pk").values_list("pk"))  # in one order: two of these never deadlock
        stored = _stored_scores(held)
        moved = set()
        for round_id in held:
            n, _scored, latest = stored.get(round_id, (0, 0, None))
            if n != len(fresh[round_id]) or (latest is not None and latest > written_at[round_id]):
                moved.add(round_id)
        refresh_aggregates(
            rubric_id=rubric_id,
            round_ids=round_ids,
            fresh={r: rows for r, rows in fresh.items() if r not in moved},
            scores_changed=bool(round_ids),
            cohort_may_change=cohort_may_change or bool(moved),
            same_scored=same_scored - moved,
            fresh_like={r: t for r, t in fresh_like.items() if r not in moved},
        )
