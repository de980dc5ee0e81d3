"""rules.py is the reference for like-for-like too: each scored response's like-for-like score,
whichever path computed it (the scoring statement of sql_rules.py from the area tallies of
the compared questions, on PostgreSQL; like_for_like_scores from the tallies' counts too,
on PostgreSQL, and from the answers, on either database), is what rules.py gives its
answers to the common questions: each area's tally scored by the newest version's rule, a
sum scaled to that version's whole area (rules.scaled_area_score), then combined
(rules.combine). Over random pairs of versions
(questions kept, reworded, dropped or added; every rule variant; scales with half-way ties)
and random answers."""

import copy
from decimal import Decimal
from unittest.mock import patch

import pytest
from django.db import connection, transaction
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from apps.rubrics.models import Question
from apps.scoring import aggregates, rules, scores, selectors, sql_rules, tallies
from apps.scoring.models import ResponseScore
from tests.factories import ProductFactory, ResponseFactory, answer_all, make_version
from tests.scoring.test_services import make_round
from tests.scoring.test_sql_rules import RULES, rubrics

pytestmark = pytest.mark.django_db
D = Decimal


@st.composite
def version_pairs(draw):
    """A newest version (a random rubric) and an older one made from it: each question kept
    as it is (common), reworded (not common) or dropped, an extra question sometimes, its
    own rule; then random answers of 1-6 products in a round of each."""
    newest = draw(rubrics())
    older = copy.deepcopy(newest)
    older["scoring"] = draw(st.sampled_from(RULES))
    for area in older["areas"]:
        kept = []
        for question in area["questions"]:
            fate = draw(st.sampled_from(["kept", "kept", "reworded", "dropped"]))
            if fate == "reworded":
                question["criteria"] = [f"Old {text}" for text in question["criteria"]]
            if fate != "dropped":
                kept.append(question)
        if draw(st.booleans()):
            kept.append(
                {
                    "key": f"{area['key']}-old",
                    "text": "An older question",
                    "criteria": list(area["questions"][0]["criteria"]),
                }
            )
        area["questions"] = kept or area["questions"][:1]
    scale = [str(D(str(level["value"]))) for level in newest["scale"]]
    answers = []
    for document in (older, newest):
        rows = []
        for _product in range(draw(st.integers(1, 6))):
            values = {}
            for area in document["areas"]:
                for question in area["questions"]:
                    choices = scale + (["na"] if "not_applicable" in question else [])
                    values[question["key"]] = draw(st.sampled_from(choices))
            rows.append(values)
        answers.append(rows)
    return older, newest, answers


def expected_like(rule_shape, comparison, area_of, values):
    """rules.py's like-for-like score of one response's answers (None: not scored)."""
    common = {key for keys in comparison.areas.values() for key in keys}
    answers = [
        rules.Answer(area_of[key], None if value == "na" else D(value), value == "na")
        for key, value in values.items()
        if key in common
    ]
    sizes = {area: len(keys) for area, keys in comparison.areas.items()}
    tallied = rules.tally(sizes, answers)
    if not rules.is_complete(tallied):
        return None
    result = rules.combine(
        rule_shape.rule,
        {
            area: rules.scaled_area_score(
                rule_shape.rule, tally, rule_shape.questions_per_area[area]
            )
            for area, tally in tallied.items()
        },
    )
    return (
        result.overall,
        {key: None if value is None else str(value) for key, value in result.areas.items()},
        None if result.band is None else rule_shape.band_ids[result.band],
        rule_shape.area_ids.get(result.binding_area),
    )


# the statement's; like_for_like_scores' from the tallies' counts of the compared questions;
# and from the answers (SQLite's, and PostgreSQL's while the compared list is not kept)
PATHS = ["statement", "tallies", "answers"] if connection.vendor == "postgresql" else ["answers"]


@pytest.mark.parametrize("path", PATHS)
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(example=version_pairs())
def test_like_for_like_scores_are_the_rules_scores(path, example):
    older, newest, answers = example
    with transaction.atomic():
        v1 = make_version(**older)
        v2 = make_version(version="2", **newest)
        r1, r2 = make_round(v1, "2021-10"), make_round(v2, "2022-04", days=180)
        rule_shape = selectors.version_shape(v2.pk)
        comparison = aggregates.common_questions([v1.pk, v2.pk])
        tallies.keep_compared(v1.rubric_id, comparison.question_ids)
        for survey_round, version, rows in ((r1, v1, answers[0]), (r2, v2, answers[1])):
            shape = selectors.version_shape(version.pk)
            area_of = dict(Question.objects.filter(version=version).values_list("key", "area__key"))
            products = {}
            for values in rows:
                response = answer_all(
                    ResponseFactory(round=survey_round, product=ProductFactory()), values
                )
                products[response.product_id] = values
            now = timezone.now()
            like = sql_rules.Like(
                {area: len(keys) for area, keys in comparison.areas.items()}, rule_shape
            )
            if sql_rules.expresses(shape):
                result = sql_rules.score_round(
                    shape,
                    round_id=survey_round.pk,
                    now=now,
                    like=like if path == "statement" and comparison.question_ids else None,
                )
                assert result.changed == len(rows)
            else:
                scores.score_round(round_id=survey_round.pk, refresh=False)
            scored = set(
                ResponseScore.objects.filter(round=survey_round, overall__isnull=False).values_list(
                    "product_id", flat=True
                )
            )
            if path == "statement" and comparison.question_ids:
                assert result.compared_ids == sorted(comparison.ids_by_version[version.pk])
                got = result.like_scores
            else:
                kept = aggregates._kept_common_tallies
                used: list[bool] = []

                def spy(*args, kept=kept, used=used):
                    found = None if path == "answers" else kept(*args)
                    used.append(found is not None)
                    return found

                with patch.object(aggregates, "_kept_common_tallies", spy):
                    got = aggregates.like_for_like_scores(
                        rule_shape, comparison, [survey_round.pk]
                    )[survey_round.pk]
                assert used == ([path == "tallies"] if comparison.question_ids else [])
            found = {row.product_id: tuple(row[1:]) for row in got}
            expected = {}
            if comparison.question_ids:
                for product_id in scored:
                    like_score = expected_like(
                        rule_shape, comparison, area_of, products[product_id]
                    )
                    if like_score is not None:
                        expected[product_id] = like_score
            assert found == expected
        transaction.set_rollback(True)
