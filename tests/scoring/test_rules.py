"""The scoring rules: worked examples and properties (hypothesis)."""

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from apps.scoring.rules import Answer, AreaTally, Rule, score, tally

D = Decimal
PAPER = Rule("sum", "exclude", "min", (D(0), D(1), D(2), D(3), D(5), None))
SEVEN = {"data": 7, "model": 7, "infra": 7, "monitoring": 7}


def answers(area: str, automated: int = 0, manual: int = 0, na: int = 0, questions: int = 7):
    rest = questions - automated - manual - na
    return (
        [Answer(area, D(1))] * automated
        + [Answer(area, D("0.5"))] * manual
        + [Answer(area, not_applicable=True)] * na
        + [Answer(area, D(0))] * rest
    )


def test_the_papers_worked_example():
    result = score(
        PAPER,
        tally(
            SEVEN,
            answers("data", 3, 2)
            + answers("model", 2, 2)
            + answers("infra", 5)
            + answers("monitoring", 0, 3),
        ),
    )
    assert result.areas == {"data": D(4), "model": D(3), "infra": D(5), "monitoring": D("1.5")}
    assert result.overall == D("1.5")
    assert result.binding_area == "monitoring"
    assert result.band == 2  # (1, 2]: a first pass at productionisation


def test_band_upper_bounds_are_inclusive():
    assert score(PAPER, tally(SEVEN, [a for k in SEVEN for a in answers(k, 1)])).band == 1
    assert score(PAPER, tally(SEVEN, [a for k in SEVEN for a in answers(k, 0)])).band == 0
    assert score(PAPER, tally(SEVEN, [a for k in SEVEN for a in answers(k, 7)])).band == 5


def test_rescale_scales_the_sum_to_the_whole_area():
    rule = Rule("sum", "rescale", "min", (None,))
    # 3 automated + 2 manual + 1 zero of 6 applicable, 1 N/A: 4 × 7 / 6 = 4.6667
    result = score(rule, tally({"data": 7}, answers("data", 3, 2, na=1)))
    assert result.areas["data"] == D("4.6667")


def test_exclude_leaves_not_applicable_out():
    rule = Rule("sum", "exclude", "min", (None,))
    assert score(rule, tally({"data": 7}, answers("data", 3, 2, na=1))).areas["data"] == D(4)


def test_an_all_not_applicable_area_has_no_score_and_is_left_out_of_the_overall():
    rule = Rule("sum", "rescale", "min", (None,))
    result = score(
        rule,
        tally({"a": 2, "b": 2}, answers("a", na=2, questions=2) + answers("b", 1, questions=2)),
    )
    assert result.areas == {"a": None, "b": D(1)}
    assert result.overall == D(1) and result.binding_area == "b"


def test_only_not_applicable_answers_give_no_overall():
    rule = Rule("sum", "rescale", "min", (None,))
    result = score(rule, tally({"a": 1}, [Answer("a", not_applicable=True)]))
    assert result.overall is None and result.band is None and result.binding_area is None


def test_mean_areas_and_mean_overall():
    rule = Rule("mean", "exclude", "mean", (D("0.25"), D("0.5"), D("0.75"), None))
    yes, no = D(1), D(0)
    result = score(
        rule,
        tally(
            {"docs": 3, "code": 2},
            [
                Answer("docs", yes),
                Answer("docs", no),
                Answer("docs", not_applicable=True),
                Answer("code", yes),
                Answer("code", yes),
            ],
        ),
    )
    assert result.areas == {"docs": D("0.5"), "code": D(1)}
    assert result.overall == D("0.75") and result.band == 2
    assert result.binding_area == "docs"


def test_mean_of_thirds_is_rounded_half_even_to_four_places():
    rule = Rule("mean", "exclude", "mean", (None,))
    result = score(rule, tally({"a": 3}, [Answer("a", D(1)), Answer("a", D(0)), Answer("a", D(0))]))
    assert result.areas["a"] == D("0.3333")


def test_incomplete_response_gets_no_score():
    assert score(PAPER, tally(SEVEN, answers("data", 7))) is None
    unanswered = [*answers("data", 6, questions=6), Answer("data")]
    assert score(Rule("sum", "exclude", "min", (None,)), tally({"data": 7}, unanswered)) is None


def test_ties_bind_the_first_area_in_order():
    result = score(PAPER, tally(SEVEN, [a for k in SEVEN for a in answers(k, 2)]))
    assert result.binding_area == "data"


# --- properties ---------------------------------------------------------------------------

VALUES = [D(0), D("0.5"), D(1)]
rules_strategy = st.builds(
    Rule,
    area_aggregation=st.sampled_from(["sum", "mean"]),
    not_applicable=st.sampled_from(["exclude", "rescale"]),
    overall=st.sampled_from(["min", "mean"]),
    band_maxima=st.just((D(1), D(2), None)),
).filter(lambda r: not (r.area_aggregation == "mean" and r.not_applicable == "rescale"))


@st.composite
def responses(draw, allow_na=True):
    """Areas of 1–7 questions, each answered with a value or (sometimes) N/A."""
    sizes = draw(st.lists(st.integers(1, 7), min_size=1, max_size=5))
    areas = {f"area{i}": n for i, n in enumerate(sizes)}
    choices = st.sampled_from(VALUES + (["na"] if allow_na else []))
    given_answers = [(area, draw(choices)) for area, n in areas.items() for _ in range(n)]
    return areas, given_answers


def as_answers(given_answers):
    return [
        Answer(area, not_applicable=True) if value == "na" else Answer(area, value)
        for area, value in given_answers
    ]


def maximum(rule: Rule, areas: dict[str, int]) -> dict[str, Decimal]:
    return {k: (D(n) if rule.area_aggregation == "sum" else D(1)) for k, n in areas.items()}


@given(rules_strategy, responses(), st.data())
def test_raising_one_answer_never_lowers_any_score(rule, response, data):
    areas, given_answers = response
    raisable = [i for i, (_a, v) in enumerate(given_answers) if v != "na" and v < D(1)]
    if not raisable:
        return
    index = data.draw(st.sampled_from(raisable))
    area, value = given_answers[index]
    higher = data.draw(st.sampled_from([v for v in VALUES if v > value]))
    raised = [*given_answers[:index], (area, higher), *given_answers[index + 1 :]]
    before = score(rule, tally(areas, as_answers(given_answers)))
    after = score(rule, tally(areas, as_answers(raised)))
    for key in areas:
        if before.areas[key] is not None:
            assert after.areas[key] >= before.areas[key]
    assert after.overall >= before.overall


@given(rules_strategy.filter(lambda r: r.overall == "min"), responses())
def test_with_min_the_overall_is_at_most_every_area(rule, response):
    areas, given_answers = response
    result = score(rule, tally(areas, as_answers(given_answers)))
    scored = [v for v in result.areas.values() if v is not None]
    if scored:
        assert all(result.overall <= value for value in scored)
        assert result.areas[result.binding_area] == result.overall


@given(responses(allow_na=False))
def test_rescale_equals_exclude_when_nothing_is_not_applicable(response):
    areas, given_answers = response
    rescaled = score(
        Rule("sum", "rescale", "min", (None,)), tally(areas, as_answers(given_answers))
    )
    excluded = score(
        Rule("sum", "exclude", "min", (None,)), tally(areas, as_answers(given_answers))
    )
    assert rescaled == excluded


@given(rules_strategy, responses())
def test_scores_stay_between_zero_and_the_maximum(rule, response):
    areas, given_answers = response
    result = score(rule, tally(areas, as_answers(given_answers)))
    top = maximum(rule, areas)
    for key, value in result.areas.items():
        if value is not None:
            assert D(0) <= value <= top[key]
    if result.overall is not None:
        assert D(0) <= result.overall <= max(top.values())


def test_area_tally_defaults_describe_an_unanswered_area():
    assert AreaTally(questions=3) == AreaTally(3, 0, 0, D(0))
