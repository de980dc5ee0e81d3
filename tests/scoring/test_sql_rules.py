"""rules.py is the reference: a round's stored scores, whichever path computed them (the SQL
statement of apps/scoring/sql_rules.py on PostgreSQL, the Python path on SQLite and for rules
SQL cannot express), are what rules.score gives each response on its own, over random
rubrics (areas and questions, N/A allowed or not, every rule variant, scales whose means and
rescaled sums fall exactly half-way between two ten-thousandths) and random answers."""

from contextlib import nullcontext
from decimal import Decimal
from unittest.mock import patch

import pytest
from django.db import connection, transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from apps.rubrics.models import Question
from apps.scoring import rules, scores, selectors, sql_rules
from apps.scoring.models import ResponseScore, RoundAggregate
from tests.factories import ProductFactory, ResponseFactory, answer_all, make_version
from tests.scoring.test_services import make_round

pytestmark = pytest.mark.django_db
D = Decimal

RULES = [
    {"area": "sum", "not_applicable": "exclude", "overall": "min"},
    {"area": "sum", "not_applicable": "rescale", "overall": "min"},
    {"area": "sum", "not_applicable": "exclude", "overall": "mean"},
    {"area": "sum", "not_applicable": "rescale", "overall": "mean"},
    {"area": "mean", "not_applicable": "exclude", "overall": "min"},
    {"area": "mean", "not_applicable": "exclude", "overall": "mean"},
]
# 0 / 0.5 / 1, and a scale whose small steps make exact ties for half-even rounding (a mean of
# 0.0001 and 0 is 0.00005: 0.0000, where rounding half up gives 0.0001)
SCALES = [("0", "0.5", "1"), ("0", "0.0001", "0.0003", "1")]


@st.composite
def rubrics(draw):
    """A rubric document: 1-4 areas of 1-4 questions, N/A allowed on some, a rule, a scale
    and bands (the last open-ended)."""
    scale = draw(st.sampled_from(SCALES))
    areas = []
    for a in range(draw(st.integers(1, 4))):
        questions = []
        for q in range(draw(st.integers(1, 4))):
            question = {
                "key": f"a{a}-q{q}",
                "text": f"Question {a}.{q}",
                "criteria": [f"Level {value}" for value in scale],
            }
            if draw(st.booleans()):
                question["not_applicable"] = "Does not apply"
            questions.append(question)
        areas.append({"key": f"a{a}", "title": f"Area {a}", "questions": questions})
    maxima = sorted(draw(st.sets(st.sampled_from(["0", "0.5", "1", "2", "3.5"]), max_size=3)))
    return {
        "scale": [{"value": float(value), "label": f"Level {value}"} for value in scale],
        "scoring": draw(st.sampled_from(RULES)),
        "bands": [{"max": float(m), "label": f"Up to {m}"} for m in maxima] + [{"label": "Top"}],
        "areas": areas,
    }


@st.composite
def rounds(draw):
    """A rubric and 1-8 responses: each question answered on the scale, N/A (where allowed)
    or left unanswered; some responses left as drafts."""
    document = draw(rubrics())
    scale = [str(D(str(level["value"]))) for level in document["scale"]]
    responses = []
    for _ in range(draw(st.integers(1, 8))):
        values = {}
        for area in document["areas"]:
            for question in area["questions"]:
                choices = [*scale, "missing"] + (["na"] if "not_applicable" in question else [])
                # mostly complete responses: a missing answer leaves the response unscored
                value = draw(
                    st.sampled_from(choices)
                    if draw(st.integers(0, 9)) == 0
                    else st.sampled_from([c for c in choices if c != "missing"])
                )
                if value != "missing":
                    values[question["key"]] = value
        responses.append((values, draw(st.integers(0, 9)) > 0))  # (answers, submitted)
    return document, responses


def expected_score(shape, area_of, values):
    answers = [
        rules.Answer(area_of[key], None if value == "na" else D(value), value == "na")
        for key, value in values.items()
    ]
    return rules.score(shape.rule, rules.tally(shape.questions_per_area, answers))


PATHS = ["database", "python"] if connection.vendor == "postgresql" else ["python"]


@pytest.mark.parametrize("path", PATHS)
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(example=rounds())
def test_stored_scores_are_the_rules_scores(path, example):
    document, responses = example
    # The Python path on PostgreSQL too, as for a rule the statement cannot express.
    python_only = patch.object(sql_rules, "expresses", return_value=False)
    with transaction.atomic(), python_only if path == "python" else nullcontext():
        version = make_version(**document)
        shape = selectors.version_shape(version.pk)
        assert sql_rules.expresses(shape) == (path == "database")
        survey_round = make_round(version, "2021-10")
        area_of = dict(Question.objects.filter(version=version).values_list("key", "area__key"))
        made = [
            (
                answer_all(
                    ResponseFactory(round=survey_round, product=ProductFactory()), values, submitted
                ),
                values,
                submitted,
            )
            for values, submitted in responses
        ]
        result = scores.score_round(round_id=survey_round.pk)
        stored = {row.response_id: row for row in ResponseScore.objects.all()}
        expected_rows = 0
        for response, values, submitted in made:
            expected = expected_score(shape, area_of, values) if submitted else None
            if expected is None:
                assert response.pk not in stored
                continue
            expected_rows += 1
            row = stored[response.pk]
            assert row.area_scores == {
                key: None if value is None else str(value) for key, value in expected.areas.items()
            }
            assert row.overall == expected.overall
            assert row.area_not_applicable == {
                area: sum(
                    1 for key, value in values.items() if value == "na" and area_of[key] == area
                )
                for area in shape.area_ids
            }
            assert row.band_id == (None if expected.band is None else shape.band_ids[expected.band])
            assert row.binding_area_id == shape.area_ids.get(expected.binding_area)
            assert row.product_id == response.product_id
            assert (row.area_aggregation, row.not_applicable_policy, row.overall_rule) == (
                shape.rule.area_aggregation,
                shape.rule.not_applicable,
                shape.rule.overall,
            )
        submitted_count = sum(submitted for _response, _values, submitted in made)
        assert result["scored"] == expected_rows == len(stored)
        assert result["incomplete"] == submitted_count - expected_rows
        assert result["changed"] == expected_rows
        # The answered and N/A counts stored with the aggregates (the question heatmap's):
        # those of the answers of the responses with an overall score.
        counts: dict[str, tuple[int, int]] = {}
        for _response, values, _submitted in made:
            scored = _submitted and expected_score(shape, area_of, values)
            if scored and scored.overall is not None:  # the responses the heatmap counts
                for key, value in values.items():
                    answered, na = counts.get(key, (0, 0))
                    counts[key] = (answered + (value != "na"), na + (value == "na"))
        everyone = RoundAggregate.objects.filter(like_for_like=False).get(
            round=survey_round, population=RoundAggregate.Population.ALL
        )
        assert {
            key: (entry["answered"], entry["na"])
            for key, entry in everyone.question_means.items()
            if entry["answered"] or entry["na"]
        } == counts
        # A second run finds every row current; a spoilt row is found and put right.
        assert scores.score_round(round_id=survey_round.pk)["changed"] == 0
        if stored:
            ResponseScore.objects.filter(pk=min(stored.values(), key=lambda r: r.pk).pk).update(
                area_scores={}
            )
            assert scores.score_round(round_id=survey_round.pk)["changed"] == 1
            again = {row.response_id: row.area_scores for row in ResponseScore.objects.all()}
            assert again == {key: row.area_scores for key, row in stored.items()}
        transaction.set_rollback(True)


@pytest.mark.postgresql(reason="the SQL statement runs on PostgreSQL only")
def test_half_way_means_round_to_even_in_the_database():
    """0.00005 → 0.0000 and 0.00015 → 0.0002: the ties rules.quantize breaks to even."""
    version = make_version(
        scale=[{"value": float(v), "label": v} for v in ("0", "0.0001", "0.0003", "1")],
        scoring={"area": "mean", "not_applicable": "exclude", "overall": "mean"},
        areas=[
            {
                "key": key,
                "title": key,
                "questions": [
                    {"key": f"{key}-{i}", "text": "?", "criteria": ["a", "b", "c", "d"]}
                    for i in range(2)
                ],
            }
            for key in ("low", "high")
        ],
    )
    survey_round = make_round(version, "2021-10")
    response = answer_all(
        ResponseFactory(round=survey_round, product=ProductFactory()),
        {"low-0": "0.0001", "low-1": "0", "high-0": "0.0003", "high-1": "0"},
    )
    assert sql_rules.expresses(selectors.version_shape(version.pk))
    scores.score_round(round_id=survey_round.pk)
    row = ResponseScore.objects.get(response=response)
    # low: 0.00005 → 0.0000 (even); high: 0.00015 → 0.0002 (even); overall (0 + 0.0002) / 2
    assert row.area_scores == {"low": "0.0000", "high": "0.0002"}
    assert row.overall == D("0.0001")


@pytest.mark.postgresql(reason="the SQL statement runs on PostgreSQL only")
def test_the_statement_tells_when_the_scored_products_may_differ():
    """scored_products_differ (the cohort may change) is false when only scores change, true
    when a response gains or loses its score; the rows are written either way."""
    from django.utils import timezone

    from apps.surveys.models import Response

    version = make_version()
    survey_round = make_round(version, "2021-10")
    shape = selectors.version_shape(version.pk)
    values = {"data-schema": 1, "data-features": 0.5, "monitoring-staleness": 0}
    a, b = ResponseFactory(round=survey_round), ResponseFactory(round=survey_round)
    answer_all(a, values, True)
    answer_all(b, values, True)

    def run() -> sql_rules.RoundResult:
        return sql_rules.score_round(shape, round_id=survey_round.pk, now=timezone.now())

    first = run()  # both rows new and scored: the products differ from none
    assert (first.changed, first.scored_products_differ) == (2, True)
    ResponseScore.objects.update(area_scores={}, overall=D("9.9999"))  # only scores differ
    rescored = run()
    assert (rescored.changed, rescored.scored_products_differ) == (2, False)
    Response.objects.filter(pk=b.pk).update(status=Response.Status.DRAFT, submitted_at=None)
    gone = run()  # b's row goes: its product no longer has a score
    assert (gone.changed, gone.scored_products_differ) == (1, True)
    ResponseScore.objects.filter(response=a).update(overall=None)  # stored unscored, now scored
    back = run()
    assert (back.changed, back.scored_products_differ) == (1, True)
    assert run().changed == 0
