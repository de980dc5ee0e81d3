"""Like-for-like across rubric versions: every round rescored on the questions common to all
versions in view (same key, area, scale and English criteria), with the newest version's
rule, stored as aggregates by the same refresh as the others."""

import copy
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.scoring import rules, scores
from apps.scoring.aggregates import common_questions, refresh_aggregates
from apps.scoring.models import RoundAggregate
from tests.factories import SMALL_RUBRIC, ProductFactory, make_version
from tests.scoring.test_services import make_round, submit

pytestmark = pytest.mark.django_db
D = Decimal


def second_version(**changes):
    """v2 of the small rubric: data-schema and data-features unchanged, data-lineage new,
    monitoring-staleness with the same key but reworded criteria (so not comparable)."""
    areas = copy.deepcopy(SMALL_RUBRIC["areas"])
    areas[0]["questions"].append(
        {
            "key": "data-lineage",
            "text": {"en": "Is lineage recorded?", "ja": "系統は記録されているか"},
            "criteria": ["No", "In a wiki", "In the registry"],
        }
    )
    # Japanese wording changes alone keep a question comparable.
    areas[0]["questions"][0]["text"] = {"en": "Is there a schema?", "ja": "スキーマは定義済みか"}
    areas[1]["questions"][0]["criteria"] = ["Never", "Sometimes by hand", "Alerted on"]
    return make_version(version="2", areas=areas, **changes)


@pytest.fixture
def versions():
    return make_version(), second_version()


def test_common_questions_need_the_same_key_area_scale_and_criteria(versions):
    v1, v2 = versions
    comparison = common_questions([v1.pk, v2.pk])
    assert comparison.stored["questions"] == ["data-schema", "data-features"]
    assert comparison.areas == {"data": ["data-schema", "data-features"]}
    assert comparison.stored["left_out"] == [
        # same key, reworded criteria: left out of both versions
        {"version": "1", "questions": [{"number": 3, "key": "monitoring-staleness"}]},
        {
            "version": "2",
            "questions": [
                {"number": 3, "key": "data-lineage"},  # only in v2
                {"number": 4, "key": "monitoring-staleness"},
            ],
        },
    ]
    assert comparison.stored["dropped_areas"] == ["monitoring"]
    assert comparison.stored["rule_version"] == "2"
    assert comparison.stored["scaled"] is True  # the small rubric sums its areas
    assert comparison.rule_version_id == v2.pk
    # One version alone: everything is common, nothing left out.
    alone = common_questions([v1.pk])
    assert alone.stored["questions"] == ["data-schema", "data-features", "monitoring-staleness"]
    assert alone.stored["dropped_areas"] == []


def test_a_different_scale_value_is_not_common(versions):
    v1, _v2 = versions
    scale = copy.deepcopy(SMALL_RUBRIC["scale"])
    scale[2]["value"] = 2  # same criteria texts, another top value
    v3 = make_version(version="3", scale=scale)
    assert common_questions([v1.pk, v3.pk]).stored["questions"] == []


def expected(values_by_key: dict, common: dict[str, list[str]], rule: rules.Rule):
    """rules.py on the tallies of the common questions only, each area's sum scaled to the
    area's question count in v2 (data: 3)."""
    area_of = {key: area for area, keys in common.items() for key in keys}
    answers = [
        rules.Answer(
            area_of[key],
            None if value == "na" else D(str(value)),
            value == "na",
        )
        for key, value in values_by_key.items()
        if key in area_of
    ]
    tallies = rules.tally({a: len(k) for a, k in common.items()}, answers)
    full = {"data": 3, "monitoring": 1}
    return rules.combine(
        rule, {a: rules.scaled_area_score(rule, t, full[a]) for a, t in tallies.items()}
    )


def test_a_sum_on_some_questions_is_scaled_to_the_whole_area():
    rule = rules.Rule("sum", "rescale", "min", (None,))
    # 2 of the area's 3 questions compared, one N/A: 1 × 2/1 (N/A rescaled) × 3/2 = 3
    assert rules.scaled_area_score(rule, rules.AreaTally(2, 1, 1, D(1)), 3) == D(3)
    assert rules.scaled_area_score(rule, rules.AreaTally(2, 2, 0, D("1.5")), 3) == D("2.25")
    assert rules.scaled_area_score(rule, rules.AreaTally(3, 3, 0, D(2)), 3) == D(2)
    assert rules.scaled_area_score(rule, rules.AreaTally(2, 0, 2, D(0)), 3) is None
    mean = rules.Rule("mean", "exclude", "min", (None,))
    assert rules.scaled_area_score(mean, rules.AreaTally(2, 2, 0, D("1.5")), 3) == D("0.75")


def test_like_for_like_scores_follow_the_rules(versions):
    v1, v2 = versions
    r1, r2 = make_round(v1, "2021-10"), make_round(v2, "2022-04", days=180)
    a, b, c = ProductFactory(), ProductFactory(), ProductFactory()
    answers = {
        (r1, a): {"data-schema": 1, "data-features": "na", "monitoring-staleness": 0},
        (r1, b): {"data-schema": 0.5, "data-features": 0, "monitoring-staleness": 1},
        (r2, a): {
            "data-schema": 0.5,
            "data-features": 1,
            "data-lineage": 0,
            "monitoring-staleness": 1,
        },
        (r2, b): {
            "data-schema": 1,
            "data-features": 1,
            "data-lineage": 1,
            "monitoring-staleness": 0,
        },
        (r2, c): {
            "data-schema": 0,
            "data-features": "na",
            "data-lineage": 1,
            "monitoring-staleness": 1,
        },
    }
    for (survey_round, product), values in answers.items():
        submit(survey_round, product, values)
    scores.score_all()
    rule = rules.Rule("sum", "rescale", "min", (D(0), D(1), None))
    common = {"data": ["data-schema", "data-features"]}
    for survey_round, products in ((r1, (a, b)), (r2, (a, b, c))):
        wanted = [expected(answers[survey_round, p], common, rule) for p in products]
        stored = RoundAggregate.objects.get(
            round=survey_round, population="all", like_for_like=True
        )
        overall = [s.overall for s in wanted]
        assert stored.n == len(products)
        assert stored.mean == rules.quantize(sum(overall) / len(overall))
        assert stored.minimum == min(overall) and stored.maximum == max(overall)
        data = [s.areas["data"] for s in wanted]
        assert stored.area_means == {"data": str(rules.quantize(sum(data) / len(data)))}
        assert stored.binding_counts == {"data": len(products)}  # monitoring dropped out
        assert [band["count"] for band in stored.band_counts] == [
            sum(1 for s in wanted if s.band == i) for i in range(3)
        ]
        assert set(stored.question_means) == {"data-schema", "data-features"}
        assert stored.comparison["questions"] == ["data-schema", "data-features"]
        assert (
            stored.churn
            == RoundAggregate.objects.get(
                round=survey_round, population="all", like_for_like=False
            ).churn
        )
    # Known values: a in 2021-10 has data-schema 1 and data-features N/A, rescaled to 2 on
    # the two common questions, 3 on v2's three data questions; b has 0.5, so 0.75.
    first = RoundAggregate.objects.get(round=r1, population="all", like_for_like=True)
    assert (first.minimum, first.maximum) == (D("0.7500"), D("3.0000"))
    as_scored = RoundAggregate.objects.get(round=r1, population="all", like_for_like=False)
    assert as_scored.minimum == D(0)  # monitoring-staleness 0 binds the score as answered
    # The cohort (a and b, in both rounds) has like-for-like points too, from each start.
    cohort = RoundAggregate.objects.filter(population="cohort", like_for_like=True)
    assert sorted(cohort.values_list("round__key", "cohort_from__key", "n")) == sorted(
        RoundAggregate.objects.filter(population="cohort", like_for_like=False).values_list(
            "round__key", "cohort_from__key", "n"
        )
    )
    assert cohort.get(round=r2, cohort_from=r1).n == 2


def test_a_new_version_rebuilds_the_earlier_rounds(versions):
    v1, v2 = versions
    r1 = make_round(v1, "2021-10")
    product = ProductFactory()
    submit(r1, product, {"data-schema": 1, "data-features": 1, "monitoring-staleness": 0})
    scores.score_round(round_id=r1.pk)
    before = RoundAggregate.objects.get(round=r1, population="all", like_for_like=True)
    assert before.minimum == D(0)  # one version: every question counts
    r2 = make_round(v2, "2022-04", days=180)
    values = {"data-schema": 1, "data-features": 1, "data-lineage": 1, "monitoring-staleness": 1}
    submit(r2, product, values)
    scores.score_round(round_id=r2.pk)  # refreshes r2 only, but r1's comparison is stale
    after = RoundAggregate.objects.get(round=r1, population="all", like_for_like=True)
    assert after.comparison["dropped_areas"] == ["monitoring"]
    assert after.minimum == D("3.0000")  # data 2 of 2 common, scaled to v2's 3 questions


def test_the_refresh_runs_in_constant_queries():
    counts = {}
    for n in (2, 20):
        slug = f"tiny-{n}"  # a rubric per size: the other's rounds are not in view
        v1, v2 = make_version(rubric=slug), second_version(rubric=slug)
        rounds = [make_round(v1, f"{n}-a"), make_round(v2, f"{n}-b", days=180)]
        for _ in range(n):
            product = ProductFactory()
            values = {"data-schema": 1, "data-features": 0.5, "monitoring-staleness": 1}
            submit(rounds[0], product, values)
            values = {**values, "data-features": 1, "data-lineage": 0}
            submit(rounds[1], product, values)
        scores.score_all()
        with CaptureQueriesContext(connection) as queries:
            written = refresh_aggregates(rubric_id=v1.rubric_id)
        counts[n] = len(queries)
        stored = RoundAggregate.objects.filter(rubric_id=v1.rubric_id)
        assert written == stored.count() == 2 * (2 + 1 + 2)  # all, and cohort from each start
        assert stored.get(round=rounds[1], population="all", like_for_like=True).n == n
    assert counts[2] == counts[20], counts


@pytest.fixture
def read():
    """The rounds whose answers aggregates.like_for_like_scores read (a spy: it still reads)."""
    from apps.scoring import aggregates

    rounds: list[int] = []
    like_for_like_scores = aggregates.like_for_like_scores

    def spy(shape, comparison, round_ids):
        rounds.extend(round_ids)
        return like_for_like_scores(shape, comparison, round_ids)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(aggregates, "like_for_like_scores", spy)
        yield rounds


def rescored_after_a_fix(versions, read: list[int], *, code_fixed: bool):
    """Two rounds of four products, scored; then every stored score made to differ (as
    before a rule fix) and, with `code_fixed`, the scoring code's digest changed (as a fix of
    rules.py does); then recomputed (`read` then lists the rounds whose answers like-for-like
    read). The like-for-like aggregates before and after, the rounds, and the stored bases
    before and after."""
    from apps.scoring import aggregates
    from apps.scoring.models import ResponseScore

    v1, v2 = versions
    r1, r2 = make_round(v1, "2021-10"), make_round(v2, "2022-04", days=180)
    for i, product in enumerate(ProductFactory.create_batch(4)):
        level = (0, 0.5, 1, "na")[i]
        submit(r1, product, {"data-schema": 1, "data-features": level, "monitoring-staleness": 0})
        submit(
            r2,
            product,
            {
                "data-schema": 0.5,
                "data-features": level,
                "data-lineage": 1,
                "monitoring-staleness": 1,
            },
        )
    scores.score_all()
    fields = ["round_id", "cohort_from_id", "n", "mean", "median", "area_means", "band_counts"]
    rows = RoundAggregate.objects.filter(like_for_like=True)
    before = sorted(rows.values_list(*fields), key=repr)
    basis_before = set(rows.values_list("comparison__basis", flat=True))
    ResponseScore.objects.update(overall=D("9.9999"), area_scores={})  # as before a rule fix
    read.clear()
    counted: list[int] = []  # rounds whose answers were counted again (question means)
    answer_counts = aggregates.answer_counts
    with pytest.MonkeyPatch.context() as patch:
        if code_fixed:
            patch.setattr(aggregates, "_code_digest", lambda: "a fixed rules.py")
        patch.setattr(
            aggregates,
            "answer_counts",
            lambda rubric_id, ids: counted.extend(ids) or answer_counts(rubric_id, ids),
        )
        scores.score_all()
        basis_after = set(rows.values_list("comparison__basis", flat=True))
    # the same answers and scored responses: their counts are kept, code fix or not
    assert counted == []
    after = sorted(rows.values_list(*fields), key=repr)
    assert {row.n for row in rows} == {4}
    assert {tuple(row.comparison["questions"]) for row in rows} == {
        ("data-schema", "data-features")
    }
    return before, after, (r1, r2), (basis_before, basis_after)


def test_like_for_like_of_rounds_rescored_alike_is_kept_on_the_same_basis(versions, read):
    """Rounds rescored with the same scored responses, the newest version's rule and the
    scoring code unchanged: their like-for-like statistics are kept, no answer is read again
    (they depend on the answers, that rule and that code, not on the rounds' own scores)."""
    before, after, _rounds, (basis_before, basis_after) = rescored_after_a_fix(
        versions, read, code_fixed=False
    )
    assert after == before
    assert read == []
    assert len(basis_before) == 1 and basis_after == basis_before


def test_a_fix_of_the_scoring_code_rebuilds_like_for_like_from_the_tallies_taken_while_scoring(
    versions, read
):
    """After a fix of the scoring code, like-for-like is scored again. On PostgreSQL each
    round's scoring statement returns its responses' tallies of the compared questions
    (kept by the triggers): no answer is read again. The aggregates are those of reading
    them all."""
    before, after, (r1, r2), (basis_before, basis_after) = rescored_after_a_fix(
        versions, read, code_fixed=True
    )
    assert after == before  # the "fix" changed no rule: the same figures, computed again
    assert read == ([] if connection.vendor == "postgresql" else [r1.pk, r2.pk])
    assert len(basis_after) == 1 and basis_after != basis_before


def four_products_scored(versions):
    """A round of each version, four products in both (one of each level of data-features,
    N/A included), every round scored."""
    v1, v2 = versions
    r1, r2 = make_round(v1, "2021-10"), make_round(v2, "2022-04", days=180)
    for i, product in enumerate(ProductFactory.create_batch(4)):
        level = (0, 0.5, 1, "na")[i]
        submit(r1, product, {"data-schema": 1, "data-features": level, "monitoring-staleness": 0})
        values = {"data-schema": 0.5, "data-features": level, "data-lineage": 1}
        submit(r2, product, {**values, "monitoring-staleness": 1})
    scores.score_all()
    return r1, r2


def test_a_code_fix_that_changes_only_like_for_like_rebuilds_it(versions):
    """A fix of the scoring code that changes how like-for-like scales an area's common
    questions, and no round's own scores: a full recompute finds every score current and
    still rebuilds every round's like-for-like (its stored basis names other code), as a
    rebuild from scratch would."""
    from apps.scoring import aggregates, sql_rules

    v1, (r1, r2) = versions[0], four_products_scored(versions)
    fields = ["round_id", "cohort_from_id", "like_for_like", "n", "mean", "median", "area_means"]

    def stored() -> list[tuple]:
        return sorted(RoundAggregate.objects.values_list(*fields), key=repr)

    before = stored()
    with pytest.MonkeyPatch.context() as patch:
        # the "fix": common questions' sums are no longer scaled to the whole area (in
        # rules.py alone: the statement, which a real fix changes alike, is not used)
        unscaled = rules.area_score
        patch.setattr(rules, "scaled_area_score", lambda rule, tally, _n: unscaled(rule, tally))
        patch.setattr(aggregates, "_code_digest", lambda: "a fixed rules.py")
        patch.setattr(sql_rules, "expresses", lambda shape: False)
        scores.score_all()
        incremental = stored()
        RoundAggregate.objects.all().delete()
        refresh_aggregates(rubric_id=v1.rubric_id)
        assert stored() == incremental
    changed = [row for row in incremental if row not in before]
    assert changed and {row[2] for row in changed} == {True}  # like-for-like rows only
    assert {row[0] for row in changed} == {r1.pk, r2.pk}


def test_a_code_change_that_changes_no_score_rescores_like_for_like_alone(versions, read):
    """A change of the scoring code that changes no score: every round's like-for-like is
    scored again (its basis changed), by each round's statement on PostgreSQL (no answer is
    read, nor counted again for the question means), to the same figures."""
    from apps.scoring import aggregates

    (v1, v2), (r1, r2) = versions, four_products_scored(versions)
    fields = ["round_id", "cohort_from_id", "like_for_like", "n", "mean", "median", "area_means"]
    rows = RoundAggregate.objects.order_by("round_id", "like_for_like", "cohort_from_id")
    before = list(rows.values_list(*fields, "question_means"))
    read.clear()
    counted: list[int] = []
    answer_counts = aggregates.answer_counts
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(aggregates, "_code_digest", lambda: "a changed aggregates.py")
        patch.setattr(
            aggregates,
            "answer_counts",
            lambda rubric_id, ids: counted.extend(ids) or answer_counts(rubric_id, ids),
        )
        summary = scores.score_all()
        assert summary["rounds"] == 2
        assert {
            row["comparison"]["basis"]
            for row in rows.filter(like_for_like=True).values("comparison")
        } == {aggregates.compared([v1.pk, v2.pk])[0].stored["basis"]}
    assert list(rows.values_list(*fields, "question_means")) == before
    if connection.vendor == "postgresql":
        assert read == [] and counted == []
    else:
        assert read == [r1.pk, r2.pk]


def test_tallies_of_other_compared_questions_are_not_used(versions, read):
    """The statement's tallies of the compared questions are used only if those are the
    questions like-for-like compares now (here they were changed by hand and not kept the
    comparison); else the answers are read again, to the same figures."""
    from apps.scoring import aggregates, tallies
    from apps.scoring.models import ComparedQuestion, ResponseScore

    v1, v2 = versions
    r1, r2 = make_round(v1, "2021-10"), make_round(v2, "2022-04", days=180)
    for i, product in enumerate(ProductFactory.create_batch(3)):
        level = (0, 0.5, 1)[i]
        submit(r1, product, {"data-schema": 1, "data-features": level, "monitoring-staleness": 0})
        values = {"data-schema": level, "data-features": 1, "data-lineage": 1}
        submit(r2, product, {**values, "monitoring-staleness": 1})
    scores.score_all()
    fields = ["round_id", "cohort_from_id", "n", "mean", "area_means", "comparison"]
    rows = RoundAggregate.objects.filter(like_for_like=True)
    before = sorted(rows.values_list(*fields), key=repr)
    if connection.vendor == "postgresql":
        assert ComparedQuestion.objects.count() == 4  # two common questions in two versions
    ComparedQuestion.objects.filter(question__key="data-features").delete()
    ResponseScore.objects.update(overall=D("9.9999"), area_scores={})  # as before a rule fix
    read.clear()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(tallies, "keep_compared", lambda rubric_id, question_ids: False)
        patch.setattr(aggregates, "_code_digest", lambda: "a fixed rules.py")
        scores.score_all()
    assert read == [r1.pk, r2.pk]
    assert sorted((row[:-1] for row in rows.values_list(*fields)), key=repr) == sorted(
        (row[:-1] for row in before), key=repr
    )


@pytest.mark.postgresql(reason="the scoring statement runs on PostgreSQL only")
def test_the_statements_like_for_like_in_two_areas_is_the_querys():
    """Common questions in two areas (a v2 that only adds a question): the like-for-like
    scores the scoring statement returns, from the tallies of the compared questions, are
    those of reading the answers again."""
    from django.utils import timezone

    from apps.scoring import aggregates, selectors, sql_rules
    from apps.scoring.models import ResponseScore

    areas = copy.deepcopy(SMALL_RUBRIC["areas"])
    areas[0]["questions"].append(
        {"key": "data-lineage", "text": "Is lineage recorded?", "criteria": ["No", "Wiki", "Yes"]}
    )
    v1, v2 = make_version(), make_version(version="2", areas=areas)
    r1, r2 = make_round(v1, "2021-10"), make_round(v2, "2022-04", days=180)
    levels = (0, 0.5, 1, "na")
    for i, product in enumerate(ProductFactory.create_batch(8)):
        values = {
            "data-schema": levels[i % 3],
            "data-features": levels[(i + 1) % 4],
            "monitoring-staleness": levels[(i + 2) % 3],
        }
        submit(r1, product, values)
        submit(r2, product, {**values, "data-lineage": levels[i % 3]})
    scores.score_all()  # keeps the compared questions the comparison
    comparison = aggregates.common_questions([v1.pk, v2.pk])
    assert comparison.areas == {
        "data": ["data-schema", "data-features"],
        "monitoring": ["monitoring-staleness"],
    }
    shape = rule_shape = selectors.version_shape(v2.pk)
    like = sql_rules.Like({"data": 2, "monitoring": 1}, rule_shape)

    def by_product(rows):
        return sorted(rows, key=lambda row: row.product_id)

    for survey_round, version in ((r1, v1), (r2, v2)):
        ResponseScore.objects.filter(round=survey_round).update(area_scores={})
        result = sql_rules.score_round(
            selectors.version_shape(version.pk),
            round_id=survey_round.pk,
            now=timezone.now(),
            like=like,
        )
        assert result.changed == 8 and len(result.like_scores) == 8
        assert result.compared_ids == sorted(comparison.ids_by_version[version.pk])
        from_query = aggregates.like_for_like_scores(rule_shape, comparison, [survey_round.pk])
        assert by_product(result.like_scores) == by_product(from_query[survey_round.pk])
        assert {row.binding_area_id for row in from_query[survey_round.pk]} == set(
            shape.area_ids.values()
        )
