"""The rubric file format: good files parse, every kind of malformed file is named precisely."""

from decimal import Decimal

import pytest
import yaml

from apps.rubrics.rubric_file import (
    RubricFileError,
    Text,
    dump_rubric,
    parse_rubric_document,
    parse_rubric_text,
)
from tests.factories import rubric_document


def problems_of(document) -> list[str]:
    text = document if isinstance(document, str) else yaml.safe_dump(document, allow_unicode=True)
    with pytest.raises(RubricFileError) as caught:
        parse_rubric_text(text)
    return caught.value.problems


def test_good_document_parses_into_a_spec():
    spec = parse_rubric_document(rubric_document())
    assert spec.rubric == "tiny"
    assert spec.name == Text("Tiny rubric", "小さなルーブリック")
    assert [level.value for level in spec.scale] == [Decimal("0"), Decimal("0.5"), Decimal("1")]
    assert (spec.area_aggregation, spec.not_applicable_policy, spec.overall_rule) == (
        "sum",
        "rescale",
        "min",
    )
    assert [band.max for band in spec.bands] == [Decimal(0), Decimal(1), None]
    assert [area.key for area in spec.areas] == ["data", "monitoring"]
    features = spec.areas[0].questions[1]
    assert features.not_applicable == Text("Raw images in, no features", "特徴量なし")
    assert features.criteria[2] == Text("Checked automatically")
    assert spec.areas[0].questions[0].guidance == Text("A written schema counts.")
    assert spec.question_count == 3


def test_dump_then_parse_gives_the_same_spec():
    spec = parse_rubric_document(rubric_document())
    assert parse_rubric_text(dump_rubric(spec)) == spec


def test_unknown_top_level_key_is_named():
    (problem,) = problems_of(rubric_document(author="me"))
    assert "author" in problem and "unknown key" in problem


def test_unknown_policy_is_named_with_its_location():
    document = rubric_document(
        scoring={"area": "sum", "not_applicable": "ignore", "overall": "min"}
    )
    (problem,) = problems_of(document)
    assert problem.startswith("line ")
    assert "scoring.not_applicable" in problem and "ignore" in problem


def test_rescale_with_mean_areas_is_refused():
    document = rubric_document(
        scoring={"area": "mean", "not_applicable": "rescale", "overall": "min"}
    )
    (problem,) = problems_of(document)
    assert "rescale only applies to area: sum" in problem


def test_criteria_count_must_match_the_scale():
    document = rubric_document()
    document["areas"][1]["questions"][0]["criteria"].append("N/A: not applicable")
    (problem,) = problems_of(document)
    assert "areas[1].questions[0].criteria" in problem
    assert "4 criteria given, but the scale has 3 levels" in problem


def test_duplicate_question_keys_across_areas_are_refused():
    document = rubric_document()
    document["areas"][1]["questions"][0]["key"] = "data-schema"
    (problem,) = problems_of(document)
    assert "duplicate question key 'data-schema'" in problem
    assert "areas[1].questions[0].key" in problem


def test_duplicate_area_keys_are_refused():
    document = rubric_document()
    document["areas"][1]["key"] = "data"
    (problem,) = problems_of(document)
    assert "duplicate area key 'data'" in problem


def test_duplicate_yaml_mapping_keys_are_refused_with_both_lines():
    text = yaml.safe_dump(rubric_document(), allow_unicode=True, sort_keys=False)
    text = text.replace("version: '1'\n", "version: '1'\nversion: '2'\n")
    (problem,) = problems_of(text)
    assert "duplicate key 'version'" in problem and "first given on line 5" in problem


def test_empty_not_applicable_criterion_is_refused():
    document = rubric_document()
    document["areas"][1]["questions"][0]["not_applicable"] = ""
    (problem,) = problems_of(document)
    assert "areas[1].questions[0].not_applicable" in problem and "empty" in problem


def test_boolean_not_applicable_says_to_give_text():
    document = rubric_document()
    document["areas"][0]["questions"][0]["not_applicable"] = True
    (problem,) = problems_of(document)
    assert "expected text" in problem and "boolean true" in problem


def test_unquoted_yes_label_is_explained():
    text = yaml.safe_dump(rubric_document(), allow_unicode=True, sort_keys=False)
    text = text.replace("en: Manual", "en: yes")
    (problem,) = problems_of(text)
    assert "scale[1].label.en" in problem and "quote it" in problem


def test_scale_values_must_rise():
    document = rubric_document()
    document["scale"][2]["value"] = 0.5
    (problem,) = problems_of(document)
    assert "scale[2].value" in problem and "repeats" in problem


def test_last_band_is_open_ended_and_the_others_are_not():
    document = rubric_document()
    document["bands"][2]["max"] = 7
    del document["bands"][1]["max"]
    problems = problems_of(document)
    assert any("bands[2].max" in p and "open-ended" in p for p in problems)
    assert any("bands[1]" in p and "missing key 'max'" in p for p in problems)


def test_band_maxima_must_rise():
    document = rubric_document()
    document["bands"][1]["max"] = 0
    (problem,) = problems_of(document)
    assert "bands[1].max" in problem and "not above" in problem


def test_missing_keys_and_bad_slugs_are_all_reported_at_once():
    document = rubric_document()
    del document["name"]
    document["areas"][0]["questions"][1]["key"] = "Bad Key"
    del document["areas"][1]["title"]
    problems = problems_of(document)
    assert len(problems) == 3
    assert any("missing key 'name'" in p for p in problems)
    assert any("areas[0].questions[1].key" in p and "lowercase" in p for p in problems)
    assert any("areas[1]" in p and "missing key 'title'" in p for p in problems)


def test_area_without_questions_is_refused():
    document = rubric_document()
    document["areas"][1]["questions"] = []
    (problem,) = problems_of(document)
    assert "areas[1].questions" in problem and "at least 1" in problem


def test_invalid_yaml_names_line_and_column():
    assert problems_of("rubric: tiny\nname: [unclosed\n") == [
        "line 3, column 1: not valid YAML: expected ',' or ']', but got '<stream end>'"
    ]


def test_every_duplicate_key_is_reported():
    assert problems_of("a: 1\na: 2\nb: 1\nb: 3\n") == [
        "line 2: duplicate key 'a' (first given on line 1)",
        "line 4: duplicate key 'b' (first given on line 3)",
    ]


def test_aliases_and_complex_keys_are_refused():
    assert problems_of("a: &x [1]\nb: *x\n") == [
        "line 2: aliases (*name) are not supported; write the text out"
    ]
    assert problems_of("? [a, b]\n: 1\n") == ["line 1: a key must be plain text"]


def test_an_area_whose_sum_could_overflow_the_stored_scores_is_refused():
    document = rubric_document()
    document["scale"][2]["value"] = 99999
    (problem,) = problems_of(document)
    assert "areas[0].questions" in problem and "can exceed the largest score" in problem


def test_empty_file_is_refused():
    assert problems_of("  \n") == ["the file is empty"]


def test_a_scalar_document_is_refused():
    (problem,) = problems_of("just text\n")
    assert "expected a mapping" in problem


def test_numeric_version_is_read_as_text_but_float_is_refused():
    assert parse_rubric_document(rubric_document(version=2017)).version == "2017"
    (problem,) = problems_of(rubric_document(version=1.1))
    assert "version" in problem and "number 1.1" in problem


def test_too_many_decimal_places_are_refused():
    document = rubric_document()
    document["scale"][1]["value"] = 0.33333
    (problem,) = problems_of(document)
    assert "more than 4 decimal places" in problem


def _with_capabilities(value) -> dict:
    document = rubric_document()
    document["areas"][0]["questions"][0]["capabilities"] = value
    return document


def test_capabilities_parse_and_round_trip():
    spec = parse_rubric_document(_with_capabilities(["data-processing", "model-monitoring"]))
    assert spec.areas[0].questions[0].capabilities == ("data-processing", "model-monitoring")
    assert spec.areas[0].questions[1].capabilities == ()
    assert parse_rubric_text(dump_rubric(spec)) == spec


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (["monitoring"], "unknown capability 'monitoring' (known: experimentation"),
        ("model-monitoring", "expected a list of capability keys"),
        (["ci-cd", "ci-cd"], "listed twice"),
    ],
)
def test_bad_capabilities_are_named(value, expected):
    (problem,) = problems_of(_with_capabilities(value))
    assert "areas[0].questions[0].capabilities" in problem and expected in problem


def test_every_shipped_rubric_names_only_known_capabilities():
    from pathlib import Path

    from apps.products.capabilities import RECOMMENDED
    from apps.rubrics.capabilities import CAPABILITIES

    files = sorted(Path(__file__).resolve().parents[2].joinpath("rubrics").glob("*.yaml"))
    tagged = 0
    for path in files:
        spec = parse_rubric_text(path.read_text())  # raises on an unknown capability
        tagged += sum(1 for a in spec.areas for q in a.questions if q.capabilities)
    assert tagged > 100
    assert set().union(*RECOMMENDED.values()) <= CAPABILITIES.keys()
